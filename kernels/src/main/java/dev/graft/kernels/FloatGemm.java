package dev.graft.kernels;

/**
 * FP32 general matrix multiply over plain arrays: the one entry point the operators call for matmul, linear and
 * (through im2col) convolution.
 *
 * <p>Computes {@code C[i][j] (+)= sum_p A[i][p] * B[p][j]} for {@code 0 <= i < m}, {@code 0 <= j < n},
 * {@code 0 <= p < k}, where
 * <ul>
 *   <li>{@code A[i][p] = a[aOff + i*aRowStride + p*aColStride]},</li>
 *   <li>{@code B[p][j] = b[bOff + p*bRowStride + j*bColStride]},</li>
 *   <li>C is row-major: {@code C[i][j] = c[cOff + i*ldc + j]}.</li>
 * </ul>
 * With {@code accumulate == false} C is overwritten; with {@code true} the product is added to it. Because A and B
 * are described by two strides each, a transposed operand ({@code aRowStride = 1, aColStride = lda}) or a strided
 * view costs nothing: no copy is made by the caller.
 *
 * <p>Contract shared by every implementation:
 * <ul>
 *   <li>{@code m}, {@code n}, {@code k} are {@code >= 0}; when {@code m == 0} or {@code n == 0} nothing is touched;
 *       when {@code k == 0} the product is zero, so C is zeroed (or left alone when accumulating).</li>
 *   <li>Strides may be any value (zero broadcasts a row or column) as long as every addressed element lies inside
 *       its array; {@code ldc >= n} when {@code m > 1}. Violations throw {@link IllegalArgumentException} before
 *       anything is written; a {@code null} array throws {@link NullPointerException}.</li>
 *   <li>C must not overlap A or B.</li>
 *   <li>Implementations are stateless and thread-safe: concurrent calls on disjoint C are fine.</li>
 *   <li>Results of different implementations differ only by rounding (summation order, fused multiply-add).</li>
 * </ul>
 */
public interface FloatGemm {

    /**
     * {@code C (+)= A x B}; see the interface documentation for the exact indexing and contract.
     *
     * @param m          rows of A and C
     * @param n          columns of B and C
     * @param k          columns of A, rows of B (the summed dimension)
     * @param a          array holding A
     * @param aOff       index of {@code A[0][0]} in {@code a}
     * @param aRowStride distance in {@code a} between {@code A[i][p]} and {@code A[i+1][p]}
     * @param aColStride distance in {@code a} between {@code A[i][p]} and {@code A[i][p+1]}
     * @param b          array holding B
     * @param bOff       index of {@code B[0][0]} in {@code b}
     * @param bRowStride distance in {@code b} between {@code B[p][j]} and {@code B[p+1][j]}
     * @param bColStride distance in {@code b} between {@code B[p][j]} and {@code B[p][j+1]}
     * @param c          array holding C (row-major, unit column stride)
     * @param cOff       index of {@code C[0][0]} in {@code c}
     * @param ldc        distance in {@code c} between consecutive rows of C
     * @param accumulate {@code false} overwrites C, {@code true} adds the product to it
     */
    void gemm(int m, int n, int k,
              float[] a, int aOff, int aRowStride, int aColStride,
              float[] b, int bOff, int bRowStride, int bColStride,
              float[] c, int cOff, int ldc, boolean accumulate);

    /** A short name for logs and benchmark tables, e.g. {@code "scalar"}. */
    String name();
}
