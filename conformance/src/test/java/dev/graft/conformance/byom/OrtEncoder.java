package dev.graft.conformance.byom;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.graft.formats.text.BertTokenizer;
import dev.graft.ops.Tensor;

import java.nio.LongBuffer;
import java.util.HashMap;
import java.util.Map;

/** ONNX Runtime running a BERT-family ONNX file: the FP32 oracle of the bring-your-own-model tests. */
final class OrtEncoder implements AutoCloseable {
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession session;

    OrtEncoder(byte[] onnx) throws OrtException {
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        options.setIntraOpNumThreads(2);
        session = env.createSession(onnx, options);
    }

    /** last_hidden_state [B, S, H] for a tokenized batch. */
    float[][][] lastHiddenState(BertTokenizer.Batch batch) throws OrtException {
        int[] shape = batch.inputIds().shape();
        long[] dims = {shape[0], shape[1]};
        Map<String, OnnxTensor> inputs = new HashMap<>();
        try {
            inputs.put("input_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(batch.inputIds().toLongArray()), dims));
            inputs.put("attention_mask", OnnxTensor.createTensor(env,
                    LongBuffer.wrap(batch.attentionMask().toLongArray()), dims));
            if (session.getInputNames().contains("token_type_ids")) {
                inputs.put("token_type_ids", OnnxTensor.createTensor(env,
                        LongBuffer.wrap(batch.tokenTypeIds().toLongArray()), dims));
            }
            try (OrtSession.Result result = session.run(inputs)) {
                return (float[][][]) result.get("last_hidden_state").orElseThrow().getValue();
            }
        } finally {
            inputs.values().forEach(OnnxTensor::close);
        }
    }

    /** Max |graft - ort| over the real tokens of each sequence. */
    static double maxDiffOnRealTokens(Tensor graft, float[][][] ort, int[] lengths) {
        int[] shape = graft.shape();
        float[] g = graft.toFloatArray();
        double max = 0;
        for (int b = 0; b < shape[0]; b++) {
            for (int s = 0; s < lengths[b]; s++) {
                for (int h = 0; h < shape[2]; h++) {
                    max = Math.max(max, Math.abs(g[(b * shape[1] + s) * shape[2] + h] - ort[b][s][h]));
                }
            }
        }
        return max;
    }

    /** Cosine of each row pair of two [B, H] tensors. */
    static double[] rowCosines(Tensor a, Tensor b) {
        int rows = a.size(0);
        int cols = a.size(1);
        float[] x = a.toFloatArray();
        float[] y = b.toFloatArray();
        double[] out = new double[rows];
        for (int r = 0; r < rows; r++) {
            double dot = 0;
            double nx = 0;
            double ny = 0;
            for (int c = 0; c < cols; c++) {
                dot += (double) x[r * cols + c] * y[r * cols + c];
                nx += (double) x[r * cols + c] * x[r * cols + c];
                ny += (double) y[r * cols + c] * y[r * cols + c];
            }
            out[r] = dot / Math.sqrt(nx * ny);
        }
        return out;
    }

    @Override
    public void close() throws OrtException {
        session.close();
    }
}
