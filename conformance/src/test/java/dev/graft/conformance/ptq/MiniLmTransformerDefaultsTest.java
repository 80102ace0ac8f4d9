package dev.graft.conformance.ptq;

import dev.graft.conformance.Required;
import dev.graft.conformance.ReutersSentences;
import dev.graft.engine.ProgressListener;
import dev.graft.engine.quant.nn.QuantizedLeaf;
import dev.graft.engine.quant.nn.QuantizedLinear;
import dev.graft.engine.quant.nn.QuantizedLinearFloatOut;
import dev.graft.engine.quant.passes.SmoothQuant;
import dev.graft.engine.quant.report.QuantizationReport;
import dev.graft.engine.quant.tune.Recipe;
import dev.graft.engine.quant.tune.TransformerDefaults;
import dev.graft.engine.trace.Partition;
import dev.graft.engine.trace.Partitioner;
import dev.graft.engine.trace.TraceConfig;
import dev.graft.formats.text.BertTokenizer;
import dev.graft.models.bert.BertModel;
import dev.graft.models.bert.MiniLm;
import dev.graft.models.bert.SentencePooling;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * MiniLM static INT8 with the default transformer recipe ({@link TransformerDefaults}), found in the traced graph
 * with no per-model mapping: every one of the 36 Linear layers static INT8 (SmoothQuant alpha 0.5 before each),
 * residual adds and their LayerNorms FP32. Calibrated on 32 Reuters sentences, evaluated on 64 others (disjoint);
 * issue 16's bar: mean-pooled embedding cosine to FP32 >= 0.995 mean, >= 0.99 worst.
 */
class MiniLmTransformerDefaultsTest {
    private static final int EVAL = 64;
    private static final int CALIBRATION = 32;
    private static final int BATCH = 16;

    @Test
    void everyLinearStaticInt8WithTheDefaultRecipe() {
        Required.require(MiniLm.available(), "the model jar " + MiniLm.MAVEN_COORDINATE + " on the class path");
        List<String> all = ReutersSentences.firstSentences(EVAL + CALIBRATION);
        Required.require(all.size() == EVAL + CALIBRATION, "the Reuters Grain test file");
        List<String> sentences = all.subList(0, EVAL);
        List<String> calibration = all.subList(EVAL, EVAL + CALIBRATION);
        BertTokenizer tokenizer = MiniLm.tokenizer();
        BertModel fp32 = MiniLm.load();
        List<Object[]> batches = new ArrayList<>();
        for (int start = 0; start < CALIBRATION; start += BATCH) {
            BertTokenizer.Batch b = tokenizer.encodeBatch(calibration.subList(start, start + BATCH));
            batches.add(new Object[] {b.inputIds(), b.attentionMask(), b.tokenTypeIds()});
        }
        float[][] want = new float[EVAL][];
        for (int start = 0; start < EVAL; start += BATCH) {
            embed(fp32, tokenizer.encodeBatch(sentences.subList(start, start + BATCH)), want, start);
        }

        BertModel int8 = MiniLm.load();
        Partition p = Partitioner.partitionWithExamples(int8, batches, TraceConfig.defaults());
        TransformerDefaults.Patterns patterns = TransformerDefaults.find(p);
        System.out.println("patterns: " + patterns);
        assertEquals(6, patterns.attention());
        assertEquals(13, patterns.residualLayerNorm(), "12 in the layers, 1 in the embeddings");
        assertEquals(6, patterns.geluFeedForward());
        Recipe recipe = TransformerDefaults.recipe(p);
        System.out.print(recipe.describe());
        SmoothQuant.Statistics stats = SmoothQuant.observe(p, batches, ProgressListener.NONE);
        QuantizationReport report = recipe.apply(p, batches, stats, ProgressListener.NONE);
        System.out.print(report.describe());
        long staticLinears = int8.namedModules().values().stream()
                .filter(m -> m instanceof QuantizedLeaf q
                        && (q.int8() instanceof QuantizedLinear || q.int8() instanceof QuantizedLinearFloatOut)).count();
        assertEquals(36, staticLinears, "every Linear static INT8");

        float[][] got = new float[EVAL][];
        for (int start = 0; start < EVAL; start += BATCH) {
            embed(int8, tokenizer.encodeBatch(sentences.subList(start, start + BATCH)), got, start);
        }
        double[] cos = MiniLmDynamicQuantizationTest.cosines(want, got);
        double mean = MiniLmDynamicQuantizationTest.mean(cos);
        double worst = MiniLmDynamicQuantizationTest.min(cos);
        System.out.printf("MiniLM default transformer recipe, cosine vs FP32 over %d sentences: mean %.5f worst %.5f%n",
                EVAL, mean, worst);
        assertTrue(report.notReached().isEmpty(), report.describe());
        assertTrue(mean >= 0.995 && worst >= 0.99, "mean " + mean + ", worst " + worst);
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
