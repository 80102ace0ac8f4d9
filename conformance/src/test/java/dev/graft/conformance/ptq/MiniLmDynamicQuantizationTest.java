package dev.graft.conformance.ptq;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.graft.conformance.Required;
import dev.graft.conformance.ReutersSentences;
import dev.graft.engine.nn.Linear;
import dev.graft.engine.quant.QConfig;
import dev.graft.engine.quant.QConfigMapping;
import dev.graft.engine.quant.passes.DynamicQuantizer;
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

import java.io.InputStream;
import java.nio.LongBuffer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * MiniLM dynamic INT8 through the partitioner, against the bars: mean-pooled embedding cosine vs FP32
 * >= 0.995 on average and >= 0.99 at worst on real Reuters sentences, quantized weights compressed >= 3.9x; with
 * ONNX Runtime's own INT8 MiniLM (the {@code -q} jar) measured on the same sentences for comparison.
 */
class MiniLmDynamicQuantizationTest {
    private static final int SENTENCES = 64;
    private static final int BATCH = 16;
    /** Linear layers left FP32 by the SQNR ranking (of 36). */
    private static final int KEEP_FP32 = 4;

    @Test
    void dynamicInt8EmbeddingsStayCloseToFp32AndBeatOnnxRuntimesInt8() throws Exception {
        Required.require(MiniLm.available(), "the model jar " + MiniLm.MAVEN_COORDINATE + " on the class path");
        List<String> all = ReutersSentences.firstSentences(SENTENCES + BATCH);
        Required.require(all.size() == SENTENCES + BATCH, "the Reuters Grain test file");
        List<String> sentences = all.subList(0, SENTENCES);
        List<String> calibration = all.subList(SENTENCES, SENTENCES + BATCH); // disjoint from the evaluation
        BertTokenizer tokenizer = MiniLm.tokenizer();
        BertModel fp32 = MiniLm.load();
        BertModel int8 = MiniLm.load();

        BertTokenizer.Batch example = tokenizer.encodeBatch(sentences.subList(0, 2));
        Partition p = Partitioner.partition(int8, example.inputIds(), example.attentionMask(), example.tokenTypeIds());
        QuantizationReport report = DynamicQuantizer.quantize(p, new QConfigMapping().global(QConfig.dynamicDefault()),
                false);
        System.out.print(report.describe());
        assertTrue(report.weightCompression() >= 3.9, "compression " + report.weightCompression());

        // Mixed precision: the layers with the lowest SQNR on the calibration sentences stay FP32.
        BertTokenizer.Batch probe = tokenizer.encodeBatch(calibration);
        LayerErrorReport errors = LayerErrorReport.measure(int8, report.originals(),
                () -> int8.lastHiddenState(probe.inputIds(), probe.attentionMask(), probe.tokenTypeIds()));
        System.out.print("worst layers:\n" + errors.describe(8));
        int keep = Integer.getInteger("graft.test.keepFp32", KEEP_FP32);
        report = DynamicQuantizer.keepFp32(p, report,
                errors.rows().stream().limit(keep).map(LayerErrorReport.Row::path).toList());
        System.out.print(report.describe());
        assertTrue(report.weightCompression() >= 3.9, "compression " + report.weightCompression());

        float[][] want = new float[SENTENCES][];
        float[][] got = new float[SENTENCES][];
        for (int start = 0; start < SENTENCES; start += BATCH) {
            BertTokenizer.Batch b = tokenizer.encodeBatch(sentences.subList(start, start + BATCH));
            embed(fp32, b, want, start);
            embed(int8, b, got, start);
        }
        double[] graft = cosines(want, got);
        double[] ort = ortInt8Cosines(sentences, want, tokenizer);
        System.out.printf("MiniLM dynamic INT8 cosine vs FP32 over %d Reuters sentences: Graft mean %.5f worst %.5f;"
                + " ONNX Runtime -q mean %.5f worst %.5f%n", SENTENCES, mean(graft), min(graft), mean(ort), min(ort));
        assertTrue(mean(graft) >= 0.995, "mean cosine " + mean(graft));
        assertTrue(min(graft) >= 0.99, "worst cosine " + min(graft));
        assertTrue(mean(graft) > mean(ort), "Graft " + mean(graft) + " vs ONNX Runtime's INT8 " + mean(ort));
    }

    /**
     * Every Linear INT8 (no layer kept FP32) with per-token activations ({@code QConfig.dynamicPerToken()}, the
     * default of {@code Graft.Config.dynamic()}), on the same sentences as above, against the same bars and ONNX
     * Runtime's INT8.
     */
    @Test
    void perTokenActivationsKeepEveryLinearInt8AboveTheBars() throws Exception {
        Required.require(MiniLm.available(), "the model jar " + MiniLm.MAVEN_COORDINATE + " on the class path");
        List<String> sentences = ReutersSentences.firstSentences(SENTENCES);
        Required.require(sentences.size() == SENTENCES, "the Reuters Grain test file");
        BertTokenizer tokenizer = MiniLm.tokenizer();
        BertModel fp32 = MiniLm.load();
        BertModel int8 = MiniLm.load();
        BertTokenizer.Batch example = tokenizer.encodeBatch(sentences.subList(0, 2));
        Partition p = Partitioner.partition(int8, example.inputIds(), example.attentionMask(), example.tokenTypeIds());
        QuantizationReport report = DynamicQuantizer.quantize(p,
                new QConfigMapping().global(QConfig.dynamicPerToken()), false);
        assertTrue(report.weightCompression() >= 3.9, "compression " + report.weightCompression());
        assertEquals(36, report.originals().values().stream().filter(m -> m instanceof Linear).count());
        float[][] want = new float[SENTENCES][];
        float[][] got = new float[SENTENCES][];
        for (int start = 0; start < SENTENCES; start += BATCH) {
            BertTokenizer.Batch b = tokenizer.encodeBatch(sentences.subList(start, start + BATCH));
            embed(fp32, b, want, start);
            embed(int8, b, got, start);
        }
        double[] graft = cosines(want, got);
        double[] ort = ortInt8Cosines(sentences, want, tokenizer);
        System.out.printf("MiniLM dynamic INT8, all 36 Linear INT8, activations per token, cosine vs FP32 over %d "
                + "Reuters sentences: Graft mean %.5f worst %.5f; ONNX Runtime -q mean %.5f worst %.5f%n", SENTENCES,
                mean(graft), min(graft), mean(ort), min(ort));
        assertTrue(mean(graft) >= 0.995, "mean cosine " + mean(graft));
        assertTrue(min(graft) >= 0.99, "worst cosine " + min(graft));
        assertTrue(mean(graft) > mean(ort), "Graft " + mean(graft) + " vs ONNX Runtime's INT8 " + mean(ort));
    }

    private static void embed(BertModel model, BertTokenizer.Batch b, float[][] out, int start) {
        Tensor hidden = model.lastHiddenState(b.inputIds(), b.attentionMask(), b.tokenTypeIds());
        // Trimming may have shortened the batch: pool over the matching prefix of the mask.
        Tensor mask = b.attentionMask().narrow(1, 0, hidden.size(1));
        Tensor e = SentencePooling.embeddings(hidden, mask);
        for (int i = 0; i < e.size(0); i++) {
            out[start + i] = e.select(0, i).toFloatArray();
        }
    }

    /** ONNX Runtime's INT8 MiniLM (the {@code -q} jar), mean-pooled and normalized, against Graft's FP32. */
    private static double[] ortInt8Cosines(List<String> sentences, float[][] fp32, BertTokenizer tokenizer)
            throws Exception {
        byte[] onnx;
        try (InputStream in = MiniLm.class.getClassLoader().getResourceAsStream("all-minilm-l6-v2-q.onnx")) {
            Required.require(in != null, "the -q model jar on the class path");
            onnx = in.readAllBytes();
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        double[] out = new double[sentences.size()];
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(2);
            try (OrtSession session = env.createSession(onnx, options)) {
                for (int start = 0; start < sentences.size(); start += BATCH) {
                    BertTokenizer.Batch b = tokenizer.encodeBatch(sentences.subList(start, start + BATCH));
                    float[][][] hidden = run(env, session, b);
                    int[] shape = b.inputIds().shape();
                    float[] flat = new float[shape[0] * shape[1] * 384];
                    for (int i = 0; i < shape[0]; i++) {
                        for (int s = 0; s < shape[1]; s++) {
                            System.arraycopy(hidden[i][s], 0, flat, (i * shape[1] + s) * 384, 384);
                        }
                    }
                    Tensor e = SentencePooling.embeddings(Tensor.wrap(flat, shape[0], shape[1], 384), b.attentionMask());
                    for (int i = 0; i < shape[0]; i++) {
                        out[start + i] = cosine(fp32[start + i], e.select(0, i).toFloatArray());
                    }
                }
            }
        }
        return out;
    }

    private static float[][][] run(OrtEnvironment env, OrtSession session, BertTokenizer.Batch b) throws OrtException {
        int[] shape = b.inputIds().shape();
        long[] dims = {shape[0], shape[1]};
        Map<String, OnnxTensor> inputs = new HashMap<>();
        try {
            inputs.put("input_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(b.inputIds().toLongArray()), dims));
            inputs.put("attention_mask", OnnxTensor.createTensor(env, LongBuffer.wrap(b.attentionMask().toLongArray()),
                    dims));
            inputs.put("token_type_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(b.tokenTypeIds().toLongArray()),
                    dims));
            try (OrtSession.Result r = session.run(inputs)) {
                return (float[][][]) r.get("last_hidden_state").orElseThrow().getValue();
            }
        } finally {
            inputs.values().forEach(OnnxTensor::close);
        }
    }

    static double[] cosines(float[][] a, float[][] b) {
        double[] out = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = cosine(a[i], b[i]);
        }
        return out;
    }

    static double cosine(float[] a, float[] b) {
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return dot / Math.sqrt(na * nb);
    }

    static double mean(double[] v) {
        double s = 0;
        for (double x : v) {
            s += x;
        }
        return s / v.length;
    }

    static double min(double[] v) {
        double m = Double.POSITIVE_INFINITY;
        for (double x : v) {
            m = Math.min(m, x);
        }
        return m;
    }
}
