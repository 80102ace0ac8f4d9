package dev.graft.kernels;

/**
 * The reference {@link Int8Gemm}: integer loops in the gemmlowp form, then the scalar output stage.
 *
 * <p>It deliberately computes the accumulator differently from the vector kernel, so the two check each other:
 * {@code acc = sum_p x*w - zw*sum_p x - zx*colSum(w) + k*zx*zw} with the raw u8 and s8 values and the column sums
 * folded into {@link PackedInt8Weights} at packing time, whereas the vector kernel centres both operands first.
 * Both are exact in (wrapping) int32 arithmetic, so they must agree bit for bit.
 */
public final class ScalarInt8Gemm implements Int8Gemm {

    /** Creates the scalar INT8 GEMM; it holds no state. */
    public ScalarInt8Gemm() {
    }

    @Override
    public void gemm(int m, byte[] a, int aOff, int lda, int aZeroPoint, PackedInt8Weights w, Int8Output output) {
        PreparedOutput out = PreparedOutput.checkGemm("ScalarInt8Gemm", m, a, aOff, lda, aZeroPoint, w, output);
        int n = w.n();
        int k = w.k();
        int[] row = new int[n];
        for (int i = 0; i < m; i++) {
            int xRow = aOff + i * lda;
            int rowSum = 0;
            for (int p = 0; p < k; p++) {
                rowSum += a[xRow + p] & 0xFF;
            }
            for (int j = 0; j < n; j++) {
                int dot = 0;
                for (int p = 0; p < k; p++) {
                    dot += (a[xRow + p] & 0xFF) * w.weight(j, p);
                }
                int zw = w.zeroPoint(j);
                row[j] = dot - zw * rowSum - aZeroPoint * w.columnSum(j) + k * aZeroPoint * zw;
            }
            out.applyScalar(i, 0, n, row, 0);
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
