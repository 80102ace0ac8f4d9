package dev.graft.conformance.byom;

import dev.graft.Graft;
import dev.graft.conformance.Required;
import dev.graft.engine.Module;
import dev.graft.engine.Submodule;
import dev.graft.engine.nn.Linear;
import dev.graft.engine.nn.ReLU;
import dev.graft.engine.nn.Sequential;
import dev.graft.engine.quant.report.QuantizationReport;
import dev.graft.engine.save.Savable;
import dev.graft.engine.save.SavedConfig;
import dev.graft.formats.text.BertTokenizer;
import dev.graft.models.bert.BertFiles;
import dev.graft.models.bert.MiniLm;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The README's "Quantize your own model", exactly: each test's first lines are a snippet copied from README.md,
 * followed by checks. The command lines of that section run in the cli module's UserModelCommandsTest.
 */
class ReadmeOwnModelTest {

    // ---- README snippet: your own Java module
    public static class Scorer extends Module implements Savable {
        private final Submodule encoder = submodule("encoder", new Sequential(new Linear(16, 32), new ReLU()));
        private final Submodule head = submodule("head", new Linear(32, 4));

        @Override
        protected Tensor forward(Tensor... in) {
            Tensor h = encoder.call(in[0]);                                   // through the handle
            return h.abs().max().item() > 1e4f ? h.narrow(1, 0, 4) : head.call(h);   // data-dependent: stays Java
        }

        public Map<String, Object> saveConfig() { return Map.of(); }

        public static Scorer fromConfig(SavedConfig c) { return new Scorer(); }
    }
    // ---- end of snippet

    @Test
    void aBertFamilyFileFromJava(@TempDir Path dir) throws Exception {
        Required.require(MiniLm.available(), "the model jar " + MiniLm.MAVEN_COORDINATE + " on the class path");
        BertFamilyOrtTest.writeHuggingFaceDirectory(MiniLm.load(), dir);
        Path file = dir.resolve("my-model.graft");
        // ---- README snippet
        BertFiles.Loaded m = BertFiles.load(dir);                  // an .onnx file or a Hugging Face directory
        BertTokenizer.Batch b = m.requireTokenizer().encodeBatch(List.of("Wheat exports rose.", "Corn prices fell."));
        Tensor fp32 = m.embed(b);                                  // pooling as the sentence-transformers files say
        Graft.Quantized q = Graft.quantize(m.model(), new Object[] {b.inputIds(), b.attentionMask(), b.tokenTypeIds()},
                Graft.Config.dynamic());
        Tensor int8 = m.embed(b);                                  // the same model object, INT8 inside
        q.save(file);
        // ---- end of snippet
        double[] cos = OrtEncoder.rowCosines(fp32, int8);
        assertTrue(cos[0] > 0.98 && cos[1] > 0.98, java.util.Arrays.toString(cos));
        assertArrayEquals(int8.toFloatArray(), m.pooling().apply(((dev.graft.models.bert.BertModel) Graft.load(file)
                .model()).lastHiddenState(b.inputIds(), b.attentionMask(), b.tokenTypeIds()), b.attentionMask())
                .toFloatArray(), 0f, "the saved file computes the same");
    }

    @Test
    void yourOwnJavaModule(@TempDir Path dir) {
        Path file = dir.resolve("scorer.graft");
        // ---- README snippet
        List<Tensor[]> batches = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            batches.add(new Tensor[] {Tensor.randn(new Random(i), 8, 16)});
        }
        Graft.Quantized q = Graft.quantize(new Scorer(), batches, Graft.Config.staticDefaults());
        System.out.print(q.report().describe());                // INT8/FP32 operators; FP32 layers with their reasons
        q.save(file);
        Tensor y = Graft.load(file).model().call(Tensor.randn(new Random(99), 3, 16));   // another batch size
        // ---- end of snippet
        assertArrayEquals(new int[] {3, 4}, y.shape());
        assertArrayEquals(q.model().call(Tensor.randn(new Random(99), 3, 16)).toFloatArray(), y.toFloatArray(), 0f);
        assertTrue(q.report().blocks().stream().mapToInt(QuantizationReport.Block::int8Count).sum() > 0);
        assertEquals(List.of(), q.report().fp32Modules(), "every layer with weights is INT8");
    }
}
