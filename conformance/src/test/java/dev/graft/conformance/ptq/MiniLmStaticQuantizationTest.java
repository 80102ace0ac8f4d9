package dev.graft.conformance.ptq;

import dev.graft.conformance.Required;
import dev.graft.conformance.ReutersSentences;
import dev.graft.engine.quant.QConfigMapping;
import dev.graft.engine.quant.passes.StaticQuantizer;
import dev.graft.engine.quant.report.LayerErrorReport;
import dev.graft.engine.quant.report.QuantizationReport;
import dev.graft.engine.trace.Partition;
import dev.graft.engine.trace.Partitioner;
import dev.graft.formats.text.BertTokenizer;
import dev.graft.models.bert.BertModel;
import dev.graft.models.bert.MiniLm;
import dev.graft.models.bert.SentencePooling;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * MiniLM static INT8 through the partitioner: calibrated (min/max) on 32 Reuters sentences, evaluated on 64 others
 * (disjoint); the PTQ issue's bar is mean-pooled embedding cosine vs FP32 >= 0.98. Prints the op table, the worst
 * layers by SQNR and the INT8 vs FP32 forward time on one batch.
 *
 * <p>What goes INT8 was chosen by measurement (16 evaluation sentences, 2026-11-26; adding one kind of operator at a
 * time): Linear layers, attention matmuls, softmax, GELU and embeddings each cost little (cosine 0.993-0.996), but
 * three things cost a lot: the FFN output projection ({@code output.dense}, whose input is GELU's long-tailed output:
 * 0.946 with it INT8), LayerNorm (0.926: its output is BERT's residual stream, which carries a few huge outlier
 * channels) and the residual adds (0.857, the same stream). Those stay FP32. (A first measurement of softmax, 0.49,
 * found a real bug: softmax was quantizing its input, which carries the -FLT_MAX padding mask; operators that compute
 * in float inside now stay FP32 when their input is FP32.) Per-channel smoothing (SmoothQuant-style) is the way to
 * bring the residual stream and the FFN output projections to INT8.
 */
class MiniLmStaticQuantizationTest {
    private static final int EVAL = 64;
    private static final int CALIBRATION = 32;
    private static final int BATCH = 16;

    @Test
    void staticInt8EmbeddingsStayCloseToFp32() {
        Required.require(MiniLm.available(), "the model jar " + MiniLm.MAVEN_COORDINATE + " on the class path");
        List<String> all = ReutersSentences.firstSentences(EVAL + CALIBRATION);
        Required.require(all.size() == EVAL + CALIBRATION, "the Reuters Grain test file");
        List<String> sentences = all.subList(0, EVAL);
        List<String> calibration = all.subList(EVAL, EVAL + CALIBRATION); // disjoint from the evaluation
        BertTokenizer tokenizer = MiniLm.tokenizer();
        BertModel fp32 = MiniLm.load();
        BertModel int8 = MiniLm.load();

        BertTokenizer.Batch example = tokenizer.encodeBatch(calibration.subList(0, 2));
        Partition p = Partitioner.partition(int8, example.inputIds(), example.attentionMask(), example.tokenTypeIds());
        StaticQuantizer.Prepared prepared = StaticQuantizer.prepare(p, mapping());
        List<Object[]> batches = new ArrayList<>();
        for (int start = 0; start < CALIBRATION; start += BATCH) {
            BertTokenizer.Batch b = tokenizer.encodeBatch(calibration.subList(start, start + BATCH));
            batches.add(new Object[] {b.inputIds(), b.attentionMask(), b.tokenTypeIds()});
        }
        StaticQuantizer.calibrate(prepared, batches, (done, total, msg) -> System.out.println(msg + " / " + total));
        QuantizationReport report = StaticQuantizer.convert(prepared);
        System.out.print(report.describe());

        BertTokenizer.Batch probe = tokenizer.encodeBatch(calibration.subList(0, BATCH));
        LayerErrorReport errors = LayerErrorReport.measure(int8, report.originals(),
                () -> int8.lastHiddenState(probe.inputIds(), probe.attentionMask(), probe.tokenTypeIds()));
        System.out.print("worst layers:\n" + errors.describe(8));

        float[][] want = new float[EVAL][];
        float[][] got = new float[EVAL][];
        for (int start = 0; start < EVAL; start += BATCH) {
            BertTokenizer.Batch b = tokenizer.encodeBatch(sentences.subList(start, start + BATCH));
            embed(fp32, b, want, start);
            embed(int8, b, got, start);
        }
        double[] cos = MiniLmDynamicQuantizationTest.cosines(want, got);
        double mean = MiniLmDynamicQuantizationTest.mean(cos);
        System.out.printf("MiniLM static INT8 cosine vs FP32 over %d Reuters sentences: mean %.5f worst %.5f%n", EVAL,
                mean, MiniLmDynamicQuantizationTest.min(cos));

        BertTokenizer.Batch timed = tokenizer.encodeBatch(sentences.subList(0, BATCH));
        double tFp32 = time(fp32, timed);
        double tInt8 = time(int8, timed);
        System.out.printf("forward of %d sentences (%s tokens): FP32 %.1f ms, static INT8 %.1f ms (%.2fx)%n", BATCH,
                java.util.Arrays.toString(timed.inputIds().shape()), tFp32, tInt8, tFp32 / tInt8);
        assertTrue(report.notReached().isEmpty(), report.describe());
        assertTrue(mean >= 0.98, "mean cosine " + mean);
    }

    /** The measured configuration (see the class comment), shared with {@code ./graft quantize}. */
    static QConfigMapping mapping() {
        return MiniLm.staticMapping();
    }

    private static double time(BertModel model, BertTokenizer.Batch b) {
        model.lastHiddenState(b.inputIds(), b.attentionMask(), b.tokenTypeIds());
        long best = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            long t0 = System.nanoTime();
            model.lastHiddenState(b.inputIds(), b.attentionMask(), b.tokenTypeIds());
            best = Math.min(best, System.nanoTime() - t0);
        }
        return best / 1e6;
    }

    private static void embed(BertModel model, BertTokenizer.Batch b, float[][] out, int start) {
        Tensor hidden = model.lastHiddenState(b.inputIds(), b.attentionMask(), b.tokenTypeIds());
        Tensor mask = b.attentionMask().narrow(1, 0, hidden.size(1));
        Tensor e = SentencePooling.embeddings(hidden, mask);
        for (int i = 0; i < e.size(0); i++) {
            out[start + i] = e.select(0, i).toFloatArray();
        }
    }
}
