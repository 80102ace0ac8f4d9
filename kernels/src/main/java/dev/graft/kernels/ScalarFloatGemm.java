package dev.graft.kernels;

import java.util.Arrays;

/**
 * The reference {@link FloatGemm}: a plain triple loop in {@code i, p, j} order.
 *
 * <p>Summation order, which is what the vector version is compared against: for each {@code C[i][j]} the terms are
 * added one at a time in increasing {@code p}, starting from {@code 0} (or from the old {@code C[i][j]} when
 * accumulating), each step rounding {@code a*b} and then the sum to float (Java never fuses them). The
 * {@code i, p, j} order walks a row of B and a row of C with unit stride in the inner loop, which keeps this
 * reference tolerably fast (C2 auto-vectorizes it when {@code bColStride == 1}).
 */
public final class ScalarFloatGemm implements FloatGemm {

    /** Creates the scalar GEMM; it holds no state, so one instance may be shared freely. */
    public ScalarFloatGemm() {
    }

    @Override
    public void gemm(int m, int n, int k,
                     float[] a, int aOff, int aRowStride, int aColStride,
                     float[] b, int bOff, int bRowStride, int bColStride,
                     float[] c, int cOff, int ldc, boolean accumulate) {
        GemmArguments.check("ScalarFloatGemm", m, n, k, a, aOff, aRowStride, aColStride,
                b, bOff, bRowStride, bColStride, c, cOff, ldc);
        if (m == 0 || n == 0) {
            return;
        }
        for (int i = 0; i < m; i++) {
            int cRow = cOff + i * ldc;
            if (!accumulate) {
                Arrays.fill(c, cRow, cRow + n, 0f);
            }
            for (int p = 0; p < k; p++) {
                float aip = a[aOff + i * aRowStride + p * aColStride];
                int bRow = bOff + p * bRowStride;
                if (bColStride == 1) {
                    // Separate loop so the JIT sees unit stride and can vectorize it.
                    for (int j = 0; j < n; j++) {
                        c[cRow + j] += aip * b[bRow + j];
                    }
                } else {
                    for (int j = 0; j < n; j++) {
                        c[cRow + j] += aip * b[bRow + j * bColStride];
                    }
                }
            }
        }
    }

    @Override
    public String name() {
        return "scalar";
    }

    @Override
    public String toString() {
        return name();
    }
}
