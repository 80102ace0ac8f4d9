package dev.graft.engine.quant.nn;

import dev.graft.ops.DType;
import dev.graft.ops.QParams;
import dev.graft.ops.Tensor;

import java.util.Random;

/**
 * The golden formulas of the README (fbgemm emulation of k_16..k_23) in plain Java, written out independently of the
 * kernels, plus random data helpers for the properties.
 */
final class GoldenFormula {

    private GoldenFormula() {
    }

    /** fbgemm ReQuantizeOutput with a float bias: the k_16..k_20 emulation. */
    static int requantize(int acc, float sx, float sw, float[] bias, int j, float so, int zo, boolean relu) {
        float atw = sx * sw;
        float mult = atw / so;
        float raw = bias == null ? (float) acc : (float) acc + bias[j] / atw;
        long q = (long) Math.rint(raw * mult) + zo;
        return (int) Math.max(relu ? zo : 0, Math.min(255, q));
    }

    /** fbgemm's float output of dynamic linear (k_22/k_23): one fma. */
    static float dequantizeOutput(int acc, float sx, float sw, float[] bias, int j) {
        float m = sx * sw;
        return bias == null ? (float) acc * m : Math.fma((float) acc, m, bias[j]);
    }

    /** qint8 weight quantization: {@code clamp(rint(w * (1f/s)) + z, -128, 127)}. */
    static int quantizeWeight(float w, float s, int z) {
        float r = (float) Math.rint(w * (1f / s)) + z;
        return (int) Math.max(-128, Math.min(127, r));
    }

    /** Symmetric per-row scales {@code max|w|/127.5} (PyTorch's per-channel symmetric qint8), at least 1e-6. */
    static float[] symmetricScales(float[] w, int rows, int cols) {
        float[] s = new float[rows];
        for (int r = 0; r < rows; r++) {
            float amax = 0;
            for (int c = 0; c < cols; c++) {
                amax = Math.max(amax, Math.abs(w[r * cols + c]));
            }
            s[r] = Math.max(amax / 127.5f, 1e-6f);
        }
        return s;
    }

    static byte[] randomU8(Random rnd, int n) {
        byte[] b = new byte[n];
        rnd.nextBytes(b);
        return b;
    }

    static float[] randomFloats(Random rnd, int n, float amplitude) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) ((rnd.nextDouble() * 2 - 1) * amplitude);
        }
        return f;
    }

    static Tensor quint8(byte[] data, int[] shape, float scale, int zp) {
        return Tensor.quantized(DType.UINT8, data, shape, new QParams.PerTensor(scale, zp));
    }

    static int[] unsigned(Tensor q) {
        byte[] b = q.toByteArray();
        int[] out = new int[b.length];
        for (int i = 0; i < b.length; i++) {
            out[i] = b[i] & 0xFF;
        }
        return out;
    }
}
