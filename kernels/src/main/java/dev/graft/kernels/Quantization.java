package dev.graft.kernels;

import java.util.Objects;

/**
 * Quantize float32 to 8 bits and back, over array ranges, with PyTorch's (fbgemm) arithmetic:
 * {@code q = clamp(rint(x * (1f / scale)) + zeroPoint, qmin, qmax)} (float32 reciprocal, ties to even, NaN to
 * {@code qmin}) and {@code x = scale * (float) (q - zeroPoint)}. {@link #quantize} and {@link #dequantize} use the
 * Vector API when it was chosen at start-up; {@link #quantizeReference} and {@link #dequantizeReference} are the
 * plain loops they are tested against, bit for bit.
 */
public final class Quantization {
    private Quantization() {
    }

    /** One value, the reference arithmetic. */
    public static int quantizeOne(float x, float inverseScale, int zeroPoint, int qmin, int qmax) {
        float r = (float) Math.rint(x * inverseScale) + zeroPoint;
        if (!(r >= qmin)) {
            return qmin;   // NaN included
        }
        return r > qmax ? qmax : (int) r;
    }

    /**
     * {@code out[outOff + i] = quantize(x[xOff + i])} for {@code i < n}, as signed or unsigned bytes
     * ({@code [qmin, qmax]} within [-128, 127] or [0, 255]).
     */
    public static void quantize(float[] x, int xOff, byte[] out, int outOff, int n, float scale, int zeroPoint,
                                int qmin, int qmax) {
        check(x.length, xOff, out.length, outOff, n);
        if (Kernels.vectorKernels()) {
            VectorQuantization.quantize(x, xOff, out, outOff, n, 1f / scale, zeroPoint, qmin, qmax);
        } else {
            quantizeReference(x, xOff, out, outOff, n, scale, zeroPoint, qmin, qmax);
        }
    }

    /**
     * {@code out[outOff + r*k + j] = quantize(x[xOff + r*k + j] * factors[j])} for {@code rows} rows of {@code k}:
     * a per-channel scale (SmoothQuant's) and the quantization after it in one pass, each product an IEEE float
     * multiplication as in the separate steps, so the same bytes. Rows are spread over the threads in chunks.
     */
    public static void scaleAndQuantizeRows(float[] x, int xOff, int rows, int k, float[] factors, byte[] out,
                                            int outOff, float scale, int zeroPoint, int qmin, int qmax) {
        int n = Math.multiplyExact(rows, k);
        check(x.length, xOff, out.length, outOff, n);
        if (factors.length < k) {
            throw new IllegalArgumentException("scaleAndQuantizeRows: " + factors.length + " factors for " + k
                    + " channels");
        }
        if (n == 0) {
            return;
        }
        boolean vector = Kernels.vectorKernels();
        int perTask = Math.max(1, Elementwise.CHUNK / k);
        int tasks = (rows + perTask - 1) / perTask;
        Parallel.shared().forEach(tasks, t -> {
            float[] row = new float[k];
            for (int r = t * perTask; r < Math.min(rows, (t + 1) * perTask); r++) {
                int at = xOff + r * k;
                if (vector) {
                    VectorElementwise.multiply(x, at, factors, 0, row, 0, k);
                } else {
                    for (int j = 0; j < k; j++) {
                        row[j] = x[at + j] * factors[j];
                    }
                }
                quantize(row, 0, out, outOff + r * k, k, scale, zeroPoint, qmin, qmax);
            }
        });
    }

    public static void quantizeReference(float[] x, int xOff, byte[] out, int outOff, int n, float scale,
                                         int zeroPoint, int qmin, int qmax) {
        check(x.length, xOff, out.length, outOff, n);
        float inverse = 1f / scale;
        for (int i = 0; i < n; i++) {
            out[outOff + i] = (byte) quantizeOne(x[xOff + i], inverse, zeroPoint, qmin, qmax);
        }
    }

    /** {@code out[outOff + i] = scale * (q - zeroPoint)} for {@code i < n}; bytes read as unsigned when asked. */
    public static void dequantize(byte[] q, int qOff, boolean unsigned, float[] out, int outOff, int n, float scale,
                                  int zeroPoint) {
        check(q.length, qOff, out.length, outOff, n);
        if (Kernels.vectorKernels()) {
            VectorQuantization.dequantize(q, qOff, unsigned, out, outOff, n, scale, zeroPoint);
        } else {
            dequantizeReference(q, qOff, unsigned, out, outOff, n, scale, zeroPoint);
        }
    }

    public static void dequantizeReference(byte[] q, int qOff, boolean unsigned, float[] out, int outOff, int n,
                                           float scale, int zeroPoint) {
        check(q.length, qOff, out.length, outOff, n);
        for (int i = 0; i < n; i++) {
            int v = unsigned ? q[qOff + i] & 0xFF : q[qOff + i];
            out[outOff + i] = scale * (float) (v - zeroPoint);
        }
    }

    private static void check(int inLength, int inOff, int outLength, int outOff, int n) {
        Objects.checkFromIndexSize(inOff, n, inLength);
        Objects.checkFromIndexSize(outOff, n, outLength);
    }
}
