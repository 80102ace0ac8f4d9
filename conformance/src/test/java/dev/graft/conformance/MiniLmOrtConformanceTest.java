package dev.graft.conformance;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.graft.formats.text.BertTokenizer;
import dev.graft.models.bert.BertModel;
import dev.graft.models.bert.MiniLm;
import dev.graft.models.bert.SentencePooling;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.InputStream;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Graft's FP32 all-MiniLM-L6-v2 against ONNX Runtime running the same ONNX file on the same token ids: the last
 * hidden state must agree within 1e-4 on real Reuters sentences, batched and one by one, and so must the mean-pooled,
 * normalized sentence embeddings.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MiniLmOrtConformanceTest {
    static final double TOLERANCE = 1e-4;

    private OrtEnvironment env;
    private OrtSession session;
    private BertModel model;
    private BertTokenizer tokenizer;
    private List<String> sentences;
    private BertTokenizer.Batch batch;
    private Tensor graftBatched;
    private float[][][] ortBatched;

    /** What the tests need and could not find, or null (checked per test, so each one reports a skip or a failure). */
    private String missing;

    @BeforeAll
    void setUp() throws Exception {
        if (!MiniLm.available()) {
            missing = "the model jar " + MiniLm.MAVEN_COORDINATE + " on the class path";
            return;
        }
        sentences = ReutersSentences.sentencesIfPresent(36);
        if (sentences.size() < 32) {
            missing = "the Reuters Grain test file (32 sentences)";
            return;
        }
        long load = System.nanoTime();
        model = MiniLm.load();
        System.out.printf("MiniLM loaded in %.0f ms%n", (System.nanoTime() - load) / 1e6);
        tokenizer = MiniLm.tokenizer();
        env = OrtEnvironment.getEnvironment();
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        options.setIntraOpNumThreads(2);
        byte[] onnx;
        try (InputStream in = MiniLm.class.getClassLoader().getResourceAsStream(MiniLm.MODEL_RESOURCE)) {
            onnx = in.readAllBytes();
        }
        session = env.createSession(onnx, options);
        // The whole batch once, shared by the tests that look at it.
        batch = tokenizer.encodeBatch(sentences);
        long t0 = System.nanoTime();
        graftBatched = model.lastHiddenState(batch.inputIds(), batch.attentionMask(), batch.tokenTypeIds());
        long t1 = System.nanoTime();
        ortBatched = ort(batch);
        long t2 = System.nanoTime();
        System.out.printf("MiniLM batch %s: Graft %.0f ms, ONNX Runtime %.0f ms%n",
                java.util.Arrays.toString(batch.inputIds().shape()), (t1 - t0) / 1e6, (t2 - t1) / 1e6);
    }

    @BeforeEach
    void requireData() {
        Required.require(missing == null, String.valueOf(missing));
    }

    @AfterAll
    void tearDown() throws OrtException {
        if (session != null) {
            session.close();
        }
    }

    /** ONNX Runtime's last_hidden_state [B, S, H] for a tokenized batch. */
    float[][][] ort(BertTokenizer.Batch batch) throws OrtException {
        int[] shape = batch.inputIds().shape();
        long[] dims = {shape[0], shape[1]};
        Map<String, ai.onnxruntime.OnnxTensor> inputs = new HashMap<>();
        try {
            inputs.put("input_ids", ai.onnxruntime.OnnxTensor.createTensor(env,
                    java.nio.LongBuffer.wrap(batch.inputIds().toLongArray()), dims));
            inputs.put("attention_mask", ai.onnxruntime.OnnxTensor.createTensor(env,
                    java.nio.LongBuffer.wrap(batch.attentionMask().toLongArray()), dims));
            inputs.put("token_type_ids", ai.onnxruntime.OnnxTensor.createTensor(env,
                    java.nio.LongBuffer.wrap(batch.tokenTypeIds().toLongArray()), dims));
            try (OrtSession.Result result = session.run(inputs)) {
                return (float[][][]) result.get("last_hidden_state").orElseThrow().getValue();
            }
        } finally {
            inputs.values().forEach(ai.onnxruntime.OnnxTensor::close);
        }
    }

    /** Max |graft - ort| over the first {@code lengths[b]} tokens of each sequence (all tokens when null). */
    static double maxDiff(Tensor graft, float[][][] ort, int[] lengths) {
        int[] shape = graft.shape();
        float[] g = graft.toFloatArray();
        double max = 0;
        for (int b = 0; b < shape[0]; b++) {
            int tokens = lengths == null ? shape[1] : lengths[b];
            for (int s = 0; s < tokens; s++) {
                for (int h = 0; h < shape[2]; h++) {
                    max = Math.max(max, Math.abs(g[(b * shape[1] + s) * shape[2] + h] - ort[b][s][h]));
                }
            }
        }
        return max;
    }

    @Test
    void batchedLastHiddenStateMatchesOnnxRuntime() {
        Tensor graft = graftBatched;
        float[][][] ort = ortBatched;
        assertArrayEquals(new int[] {sentences.size(), ort[0].length, 384}, graft.shape());
        double diff = maxDiff(graft, ort, null);
        System.out.printf("MiniLM batched %s: max |graft - ort| = %.3g%n", java.util.Arrays.toString(graft.shape()),
                diff);
        assertTrue(diff <= TOLERANCE, "max |diff| " + diff + " > " + TOLERANCE);
    }

    @Test
    void oneByOneLastHiddenStateMatchesOnnxRuntime() throws OrtException {
        double worst = 0;
        for (String s : sentences) {
            BertTokenizer.Batch one = tokenizer.encodeBatch(List.of(s));
            Tensor graft = model.lastHiddenState(one.inputIds(), one.attentionMask(), one.tokenTypeIds());
            worst = Math.max(worst, maxDiff(graft, ort(one), null));
        }
        System.out.printf("MiniLM one by one (%d sentences): max |graft - ort| = %.3g%n", sentences.size(), worst);
        assertTrue(worst <= TOLERANCE, "max |diff| " + worst + " > " + TOLERANCE);
    }

    @Test
    void trimmedFixedLengthBatchMatchesOnnxRuntimeOnRealTokens() throws OrtException {
        List<String> few = sentences.subList(0, 8);
        BertTokenizer.Batch padded = tokenizer.encodeBatch(few, 128);
        Tensor graft = model.lastHiddenState(padded.inputIds(), padded.attentionMask(), padded.tokenTypeIds());
        int longest = java.util.Arrays.stream(padded.lengths()).max().orElseThrow();
        assertEquals(longest, graft.size(1), "the padded batch is trimmed to its longest real sequence");
        double diff = maxDiff(graft, ort(padded), padded.lengths());
        assertTrue(diff <= TOLERANCE, "max |diff| " + diff + " > " + TOLERANCE);
    }

    @Test
    void meanPooledNormalizedEmbeddingsMatchOnnxRuntime() {
        float[] graft = SentencePooling.embeddings(graftBatched, batch.attentionMask()).toFloatArray();
        float[][][] ort = ortBatched;
        int[] lengths = batch.lengths();
        double worst = 0;
        for (int b = 0; b < sentences.size(); b++) {
            // The model card's pooling, written out independently on ORT's output.
            double[] mean = new double[384];
            for (int s = 0; s < lengths[b]; s++) {
                for (int h = 0; h < 384; h++) {
                    mean[h] += ort[b][s][h] / lengths[b];
                }
            }
            double norm = Math.sqrt(java.util.Arrays.stream(mean).map(v -> v * v).sum());
            double graftNorm = 0;
            for (int h = 0; h < 384; h++) {
                worst = Math.max(worst, Math.abs(graft[b * 384 + h] - mean[h] / norm));
                graftNorm += graft[b * 384 + h] * graft[b * 384 + h];
            }
            assertEquals(1.0, graftNorm, 1e-5, "embedding " + b + " is unit length");
        }
        System.out.printf("MiniLM embeddings: max |graft - ort| = %.3g%n", worst);
        assertTrue(worst <= TOLERANCE, "max |diff| " + worst + " > " + TOLERANCE);
    }
}
