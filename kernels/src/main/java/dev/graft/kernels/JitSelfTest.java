package dev.graft.kernels;

import java.util.Random;

/**
 * The start-up self-test of {@link JitInt8Gemm}: every generated kernel variant against {@link ScalarInt8Gemm} on
 * small awkward cases, bit for bit, before the code is used. A kernel that fails it is refused with the reason (the
 * INT8 GEMM then falls back), so a wrong encoding or a wrong bound shows as a log line, not as wrong results.
 */
final class JitSelfTest {

    private JitSelfTest() {
    }

    /**
     * Runs every kernel variant on small awkward cases (a full and a short row tile, a column tail, K not a multiple
     * of 4, extreme values) against {@link ScalarInt8Gemm}; returns null when all agree bit for bit, else what
     * differed.
     */
    static String run(JitInt8Gemm jit) {
        ScalarInt8Gemm scalar = new ScalarInt8Gemm();
        Random random = new Random(20261202);
        // Short and full row tiles of every code (6, 16 and 32 rows), column tails, K off multiples of 4 and of 64.
        // For AMX's 32-row blocks: a full block with a tail of 5 or 13 (a first half alone) and of 25 (a short second).
        int[][] shapes = {{7, 70, 13}, {1, 5, 4}, {13, 129, 37}, {6, 64, 8}, {37, 130, 200}, {16, 64, 64},
            {45, 130, 256}, {57, 70, 128}};
        for (int[] shape : shapes) {
            int m = shape[0], n = shape[1], k = shape[2];
            for (boolean asym : new boolean[] {false, true}) {
                byte[] a = new byte[m * k];
                byte[] w = new byte[n * k];
                random.nextBytes(a);
                random.nextBytes(w);
                a[0] = (byte) 255;
                w[0] = -128;
                w[w.length - 1] = 127;
                float[] scales = new float[n];
                int[] zps = asym ? new int[n] : null;
                float[] bias = new float[n];
                for (int j = 0; j < n; j++) {
                    scales[j] = 0.001f + random.nextFloat() * 0.01f;
                    bias[j] = random.nextFloat() * 4 - 2;
                    if (asym) {
                        zps[j] = random.nextInt(256) - 128;
                    }
                }
                int zx = random.nextInt(256);
                PackedInt8Weights ref = PackedInt8Weights.pack(w, 0, n, k, scales, zps, 32,
                        PackedInt8Weights.Layout.PANELS);
                PackedInt8Weights packed = PackedInt8Weights.pack(w, 0, n, k, scales, zps, JitInt8Gemm.PANEL_WIDTH,
                        PackedInt8Weights.Layout.VNNI);
                int[] i1 = new int[m * n];
                int[] i2 = new int[m * n];
                scalar.gemm(m, a, 0, k, zx, ref, new Int8Output.Int32(i1, 0, n, 1));
                jit.gemm(m, a, 0, k, zx, packed, new Int8Output.Int32(i2, 0, n, 1));
                if (!java.util.Arrays.equals(i1, i2)) {
                    return "int32 output differs on " + m + "x" + n + "x" + k;
                }
                byte[] q1 = new byte[m * n];
                byte[] q2 = new byte[m * n];
                scalar.gemm(m, a, 0, k, zx, ref, new Int8Output.Requantize(0.02f, bias, 0.05f, 3, asym, q1, 0, n));
                jit.gemm(m, a, 0, k, zx, packed, new Int8Output.Requantize(0.02f, bias, 0.05f, 3, asym, q2, 0, n));
                if (!java.util.Arrays.equals(q1, q2)) {
                    return "requantized output differs on " + m + "x" + n + "x" + k;
                }
                // The convolution form: im2col activations, NCHW destination (rows of the product contiguous).
                byte[] aT = new byte[k * m];
                for (int i = 0; i < m; i++) {
                    for (int p = 0; p < k; p++) {
                        aT[p * m + i] = a[i * k + p];
                    }
                }
                byte[] t1 = new byte[m * n];
                byte[] t2 = new byte[m * n];
                scalar.gemm(m, a, 0, k, zx, ref, new Int8Output.Requantize(0.02f, bias, 0, 0.05f, 3, asym, t1, 0, 1,
                        m));
                jit.gemmTransposedA(m, aT, 0, m, zx, packed, new Int8Output.Requantize(0.02f, bias, 0, 0.05f, 3, asym,
                        t2, 0, 1, m));
                if (!java.util.Arrays.equals(t1, t2)) {
                    return "requantized output of the weight-rows form differs on " + m + "x" + n + "x" + k;
                }
                int[] ti1 = new int[m * n];
                int[] ti2 = new int[m * n];
                scalar.gemm(m, a, 0, k, zx, ref, new Int8Output.Int32(ti1, 0, 1, m));
                jit.gemmTransposedA(m, aT, 0, m, zx, packed, new Int8Output.Int32(ti2, 0, 1, m));
                if (!java.util.Arrays.equals(ti1, ti2)) {
                    return "int32 output of the weight-rows form differs on " + m + "x" + n + "x" + k;
                }
                for (float[] b : new float[][] {bias, null}) {
                    float[] tf1 = new float[m * n];
                    float[] tf2 = new float[m * n];
                    scalar.gemm(m, a, 0, k, zx, ref, new Int8Output.Dequantize(0.02f, b, 0, tf1, 0, 1, m));
                    jit.gemmTransposedA(m, aT, 0, m, zx, packed, new Int8Output.Dequantize(0.02f, b, 0, tf2, 0, 1, m));
                    if (!java.util.Arrays.equals(tf1, tf2)) {
                        return "float output of the weight-rows form differs on " + m + "x" + n + "x" + k;
                    }
                }
                for (float[] b : new float[][] {bias, null}) {
                    float[] f1 = new float[m * n];
                    float[] f2 = new float[m * n];
                    scalar.gemm(m, a, 0, k, zx, ref, new Int8Output.Dequantize(0.02f, b, f1, 0, n));
                    jit.gemm(m, a, 0, k, zx, packed, new Int8Output.Dequantize(0.02f, b, f2, 0, n));
                    if (!java.util.Arrays.equals(f1, f2)) {
                        return "float output differs on " + m + "x" + n + "x" + k;
                    }
                }
            }
        }
        return roundingTies(jit, scalar);
    }

    /**
     * Requantization where half the values are exact .5 ties ({@code acc * 0.5} for odd {@code acc}): rint rounds
     * them to even. The AVX-VNNI code's {@code vcvtps2dq} takes its rounding from MXCSR, which the JVM keeps at
     * round-to-nearest-even; this is where a changed MXCSR would show.
     */
    private static String roundingTies(JitInt8Gemm jit, ScalarInt8Gemm scalar) {
        int m = 7, n = 19, k = 6;
        byte[] a = new byte[m * k];
        byte[] w = new byte[n * k];
        for (int i = 0; i < a.length; i++) {
            a[i] = (byte) (i * 7 % 5);
        }
        for (int i = 0; i < w.length; i++) {
            w[i] = (byte) (i * 5 % 9 - 4);
        }
        PackedInt8Weights ref = PackedInt8Weights.pack(w, 0, n, k, new float[] {1f}, null, 32,
                PackedInt8Weights.Layout.PANELS);
        PackedInt8Weights packed = PackedInt8Weights.pack(w, 0, n, k, new float[] {1f}, null, JitInt8Gemm.PANEL_WIDTH,
                PackedInt8Weights.Layout.VNNI);
        byte[] q1 = new byte[m * n];
        byte[] q2 = new byte[m * n];
        scalar.gemm(m, a, 0, k, 0, ref, new Int8Output.Requantize(0.5f, null, 1f, 100, false, q1, 0, n));
        jit.gemm(m, a, 0, k, 0, packed, new Int8Output.Requantize(0.5f, null, 1f, 100, false, q2, 0, n));
        int[] acc = new int[m * n];
        scalar.gemm(m, a, 0, k, 0, ref, new Int8Output.Int32(acc, 0, n, 1));
        boolean ties = false;
        for (int v : acc) {
            ties |= (v & 1) != 0 && (v & 2) == 0; // x.5 with x even: round-half-up would differ
        }
        if (!ties) {
            throw new AssertionError("the rounding case has no ties"); // a mistake here, not in the kernel
        }
        return java.util.Arrays.equals(q1, q2) ? null : "requantized output rounds .5 ties differently (MXCSR?)";
    }
}
