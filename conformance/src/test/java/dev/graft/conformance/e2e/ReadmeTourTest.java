package dev.graft.conformance.e2e;

import dev.graft.engine.Module;
import dev.graft.engine.Submodule;
import dev.graft.engine.nn.BatchNorm2d;
import dev.graft.engine.nn.Conv2d;
import dev.graft.engine.nn.Flatten;
import dev.graft.engine.nn.GELU;
import dev.graft.engine.nn.Linear;
import dev.graft.engine.nn.MaxPool2d;
import dev.graft.engine.nn.ReLU;
import dev.graft.engine.nn.Sequential;
import dev.graft.engine.quant.QConfig;
import dev.graft.engine.quant.QConfigMapping;
import dev.graft.engine.quant.convert.DynamicQuantizer;
import dev.graft.engine.quant.convert.QuantizationReport;
import dev.graft.engine.trace.Partition;
import dev.graft.engine.trace.Partitioner;
import dev.graft.formats.models.MiniLm;
import dev.graft.formats.text.BertTokenizer;
import dev.graft.models.bert.BertModel;
import dev.graft.ops.F;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The README's "A first look at the API", exactly: each test's first lines are a snippet copied from README.md
 * (between the markers), followed by checks that what it computes and prints makes sense. When the README
 * changes, this file changes with it.
 */
class ReadmeTourTest {

    @Test
    void buildingAModel() {
        // ---- README snippet 1
        Module model = new Sequential(
                new Conv2d(1, 8, 3, 1, 1), new BatchNorm2d(8), new ReLU(), new MaxPool2d(2),
                new Flatten(), new Linear(8 * 14 * 14, 10));
        model.eval();
        Tensor logits = model.call(Tensor.randn(new Random(0), 4, 1, 28, 28));
        Tensor probs = F.softmax(logits, 1);
        // ---- end of snippet

        assertArrayEquals(new int[] {4, 10}, logits.shape());
        assertArrayEquals(new int[] {4, 10}, probs.shape());
        float[] p = probs.toFloatArray();
        for (int row = 0; row < 4; row++) {
            double sum = 0;
            for (int c = 0; c < 10; c++) {
                float v = p[row * 10 + c];
                assertTrue(v >= 0f && v <= 1f, "probability " + v);
                sum += v;
            }
            assertEquals(1.0, sum, 1e-5, "row " + row + " of " + Arrays.toString(p));
        }
    }

    // ---- README snippet 2
    class Block extends Module {
        private final Submodule fc = submodule("fc", new Linear(384, 384));
        private final Submodule act = submodule("act", new GELU());

        @Override
        protected Tensor forward(Tensor... inputs) {
            return act.call(fc.call(single(inputs)));
        }
    }
    // ---- end of snippet

    @Test
    void aModuleCallsItsChildrenThroughSubmoduleHandles() {
        Block block = new Block();
        block.eval();
        Tensor x = Tensor.randn(new Random(1), 2, 384);
        Tensor before = block.call(x);
        assertArrayEquals(new int[] {2, 384}, before.shape());
        assertTrue(block.namedModules().containsKey("fc") && block.namedModules().containsKey("act"),
                block.namedModules().keySet().toString());
        // The claim around the snippet: a child can be replaced by a traced block without touching forward.
        Partition p = Partitioner.partition(block, x);
        assertTrue(!p.blocks().isEmpty(), p.describe());
        assertArrayEquals(before.toFloatArray(), block.call(x).toFloatArray(), "traced block is bit-identical");
    }

    @Test
    void fineGrainedTracingAndDynamicQuantizationOfMiniLm() {
        assumeTrue(MiniLm.available(), "model jar " + MiniLm.MAVEN_COORDINATE + " not on the class path");
        PrintStream stdout = System.out;
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
        try {
            // ---- README snippet 3
            BertModel model = MiniLm.load();                                   // weights from the ONNX file
            BertTokenizer.Batch b = MiniLm.tokenizer().encodeBatch(List.of("Wheat exports rose.", "Corn prices fell."));
            Partition p = Partitioner.partition(model, b.inputIds(), b.attentionMask(), b.tokenTypeIds());
            System.out.print(p.describe());                                    // traced blocks, eager glue and why
            QuantizationReport r = DynamicQuantizer.quantize(p, new QConfigMapping().global(QConfig.dynamicDefault()), false);
            System.out.print(r.describe());                                    // INT8/FP32 operators, sizes
            Tensor hidden = model.lastHiddenState(b.inputIds(), b.attentionMask(), b.tokenTypeIds());  // now INT8 inside
            // ---- end of snippet

            String text = printed.toString(StandardCharsets.UTF_8);
            stdout.print(text);
            // Two sentences of a few tokens each: [2, tokens, 384] (padding may be trimmed, never below the longest).
            assertEquals(3, hidden.shape().length, Arrays.toString(hidden.shape()));
            assertEquals(2, hidden.size(0));
            assertEquals(384, hidden.size(2));
            assertTrue(hidden.size(1) >= 5 && hidden.size(1) <= 16, Arrays.toString(hidden.shape()));
            for (float v : hidden.toFloatArray()) {
                assertTrue(Float.isFinite(v), "non-finite hidden state");
            }
            // The report: the 6 encoder layers' 36 Linear layers are INT8, and the weights shrink about 4x.
            int int8 = r.blocks().stream().mapToInt(QuantizationReport.Block::int8Count).sum();
            assertTrue(int8 >= 36, "INT8 operators: " + int8 + "\n" + text);
            assertTrue(r.weightCompression() >= 3.9, "compression " + r.weightCompression());
            assertTrue(text.contains("INT8") && text.contains("quantized weights:") && text.contains("total"), text);
            assertTrue(text.indexOf("quantized weights:") > text.indexOf("INT8"), text);
        } finally {
            System.setOut(stdout);
        }
    }
}
