package dev.graft.kernels;

import java.util.Objects;

/**
 * Argument checks shared by every {@link FloatGemm}. Checking once up front keeps the inner loops free of
 * surprises: after {@link #check} returns, every index the kernel computes is inside its array.
 */
final class GemmArguments {

    private GemmArguments() {
    }

    /**
     * Throws {@link IllegalArgumentException} naming {@code kernel} and the offending sizes when the shapes or
     * strides would address an element outside {@code a}, {@code b} or {@code c}.
     */
    static void check(String kernel, int m, int n, int k,
                      float[] a, int aOff, int aRowStride, int aColStride,
                      float[] b, int bOff, int bRowStride, int bColStride,
                      float[] c, int cOff, int ldc) {
        Objects.requireNonNull(a, "a");
        Objects.requireNonNull(b, "b");
        Objects.requireNonNull(c, "c");
        if (m < 0 || n < 0 || k < 0) {
            throw new IllegalArgumentException(
                    kernel + ": negative size m=" + m + ", n=" + n + ", k=" + k);
        }
        if (m == 0 || n == 0) {
            return; // nothing is read or written
        }
        if (m > 1 && ldc < n) {
            throw new IllegalArgumentException(
                    kernel + ": ldc=" + ldc + " is smaller than n=" + n + ", so rows of C would overlap");
        }
        checkSpan(kernel, "C", c.length, cOff, m, ldc, n, 1);
        if (k > 0) {
            checkSpan(kernel, "A", a.length, aOff, m, aRowStride, k, aColStride);
            checkSpan(kernel, "B", b.length, bOff, k, bRowStride, n, bColStride);
        }
    }

    /** Checks that all of {@code off + r*rowStride + q*colStride} (r < rows, q < cols) lie in [0, length). */
    private static void checkSpan(String kernel, String matrix, int length, int off,
                                  int rows, int rowStride, int cols, int colStride) {
        // long arithmetic: rows * stride can exceed int range even when the call is legitimate.
        long rowSpan = (long) (rows - 1) * rowStride;
        long colSpan = (long) (cols - 1) * colStride;
        long lowest = off + Math.min(0, rowSpan) + Math.min(0, colSpan);
        long highest = off + Math.max(0, rowSpan) + Math.max(0, colSpan);
        if (lowest < 0 || highest >= length) {
            throw new IllegalArgumentException(String.format(
                    "%s: %s[%d x %d] with offset %d and strides (%d, %d) addresses [%d, %d] but the array has %d elements",
                    kernel, matrix, rows, cols, off, rowStride, colStride, lowest, highest, length));
        }
    }
}
