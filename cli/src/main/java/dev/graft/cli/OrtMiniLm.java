package dev.graft.cli;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.graft.models.bert.MiniLm;
import dev.graft.ops.Tensor;

import java.io.IOException;
import java.io.InputStream;
import java.nio.LongBuffer;
import java.util.HashMap;
import java.util.Map;

/**
 * ONNX Runtime's own dynamic-INT8 MiniLM ({@code all-minilm-l6-v2-q.onnx}, from the langchain4j {@code -q} jar on
 * Maven Central), run through ONNX Runtime Java: the outside reference row of the results table. As many intra-op
 * threads as Graft's kernels have ({@code graft.threads}, default every processor), so the two engines are compared
 * on the same cores.
 */
final class OrtMiniLm implements AutoCloseable {
    static final String RESOURCE = "all-minilm-l6-v2-q.onnx";

    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession session;
    private final long bytes;
    private final int threads = dev.graft.kernels.Parallel.shared().threads();

    private OrtMiniLm(byte[] onnx) throws OrtException {
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(threads);
            this.session = env.createSession(onnx, options);
        }
        this.bytes = onnx.length;
    }

    /** The model from the class path, or null when the {@code -q} jar is not there. */
    static OrtMiniLm load() throws IOException {
        try (InputStream in = MiniLm.class.getClassLoader().getResourceAsStream(RESOURCE)) {
            if (in == null) {
                return null;
            }
            return new OrtMiniLm(in.readAllBytes());
        } catch (OrtException e) {
            throw new IOException("ONNX Runtime cannot load " + RESOURCE + ": " + e.getMessage(), e);
        }
    }

    /** ONNX Runtime's intra-op threads: Graft's kernel thread count. */
    int threads() {
        return threads;
    }

    /** Size of the ONNX file. */
    long bytes() {
        return bytes;
    }

    /** The last hidden state [B, S, 384] for token ids, mask and token types [B, S]. */
    Tensor lastHiddenState(Tensor ids, Tensor mask, Tensor types) {
        int[] shape = ids.shape();
        long[] dims = {shape[0], shape[1]};
        Map<String, OnnxTensor> inputs = new HashMap<>();
        try {
            inputs.put("input_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(ids.toLongArray()), dims));
            inputs.put("attention_mask", OnnxTensor.createTensor(env, LongBuffer.wrap(mask.toLongArray()), dims));
            inputs.put("token_type_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(types.toLongArray()), dims));
            try (OrtSession.Result r = session.run(inputs)) {
                float[][][] h = (float[][][]) r.get("last_hidden_state").orElseThrow().getValue();
                int hidden = h[0][0].length;
                float[] flat = new float[shape[0] * shape[1] * hidden];
                for (int b = 0; b < shape[0]; b++) {
                    for (int s = 0; s < shape[1]; s++) {
                        System.arraycopy(h[b][s], 0, flat, (b * shape[1] + s) * hidden, hidden);
                    }
                }
                return Tensor.wrap(flat, shape[0], shape[1], hidden);
            }
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime failed: " + e.getMessage(), e);
        } finally {
            inputs.values().forEach(OnnxTensor::close);
        }
    }

    @Override
    public void close() throws IOException {
        try {
            session.close();
        } catch (OrtException e) {
            throw new IOException("ONNX Runtime cannot close its session: " + e.getMessage(), e);
        }
    }
}
