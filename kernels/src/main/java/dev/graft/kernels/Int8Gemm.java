package dev.graft.kernels;

/**
 * Quantized matrix multiply: u8 activations times s8 weights packed once ({@link PackedInt8Weights}), int32-exact,
 * with a fused output stage ({@link Int8Output}). This is quantized linear (PyTorch {@code quantized::linear},
 * dynamic linear) and, through im2row, quantized convolution.
 *
 * <p>For {@code 0 <= i < m}, {@code 0 <= j < w.n()}:
 * {@code acc[i][j] = sum_{p < w.k()} (X[i][p] - aZeroPoint) * (W[j][p] - w.zeroPoint(j))} in int32 arithmetic
 * (wrapping like fbgemm's, though no real layer comes near: that needs {@code k > 33000}), where
 * {@code X[i][p] = a[aOff + i*lda + p] & 0xFF}. The output stage turns {@code acc[i][j]} into the destination
 * element. Every implementation gives the same bits: the integer part is exact, and the float output stage follows
 * one fixed sequence of float32 operations.
 *
 * <p>Implementations are stateless and thread-safe; a call may use the shared {@link Parallel} pool.
 */
public interface Int8Gemm {

    /**
     * {@code out = stage(acc)}; see the interface documentation.
     *
     * @param m          rows of X (tokens, or output pixels of a convolution)
     * @param a          u8 activations, read as unsigned bytes
     * @param aOff       index of {@code X[0][0]}
     * @param lda        distance between rows of X ({@code >= w.k()} when {@code m > 1})
     * @param aZeroPoint the activations' zero point, in {@code [0, 255]}
     * @param w          the packed weights
     * @param output     the output stage and its destination
     * @throws IllegalArgumentException when an index would fall outside an array, before anything is written
     */
    void gemm(int m, byte[] a, int aOff, int lda, int aZeroPoint, PackedInt8Weights w, Int8Output output);

    /** A short name for logs and benchmark tables. */
    String name();
}
