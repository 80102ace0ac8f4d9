package dev.graft.ops;

import dev.graft.kernels.Int8Gemm;
import dev.graft.kernels.Int8Output;
import dev.graft.kernels.PackedInt8Weights;

import java.util.Arrays;

/**
 * {@link QuantizedOps#MATMUL}: u8 x u8 through the u8 x s8 {@link Int8Gemm}. The right operand is an activation
 * too, so it is packed per call (its cost is {@code K*N}, small next to the {@code M*K*N} product). Shifting it by
 * 128 into s8 and its zero point with it is exact: {@code (b - 128) - (zb - 128) = b - zb}.
 */
final class QuantizedOpsMatmul {

    private QuantizedOpsMatmul() {
    }

    static Tensor matmul(String op, Tensor a, QParams.PerTensor qa, Tensor b, QParams.PerTensor qb,
                         QParams.PerTensor qo, Int8Gemm gemm) {
        int ra = a.shape.length;
        int rb = b.shape.length;
        if (ra < 2 || rb < 2) {
            throw new ShapeException(op + ": operands need at least 2 dimensions, got " + Arrays.toString(a.shape)
                    + " and " + Arrays.toString(b.shape));
        }
        int m = a.shape[ra - 2];
        int k = a.shape[ra - 1];
        int n = b.shape[rb - 1];
        if (b.shape[rb - 2] != k) {
            throw new ShapeException(op + ": inner dimensions differ: " + Arrays.toString(a.shape) + " @ "
                    + Arrays.toString(b.shape));
        }
        int[] batchA = Arrays.copyOf(a.shape, ra - 2);
        int[] batchB = Arrays.copyOf(b.shape, rb - 2);
        boolean shared = rb == 2;
        if (!shared && !Arrays.equals(batchA, batchB)) {
            throw new ShapeException(op + ": batch dimensions must be equal (or the right operand 2-d), got "
                    + Arrays.toString(a.shape) + " @ " + Arrays.toString(b.shape));
        }
        if (m == 0 || k == 0 || n == 0) {
            throw new ShapeException(op + ": empty matrices are not supported: " + Arrays.toString(a.shape) + " @ "
                    + Arrays.toString(b.shape));
        }
        int batches = Shapes.numel(op, batchA);
        byte[] av = QuantizedOps.bytesOf(a);
        byte[] bv = QuantizedOps.bytesOf(b);
        byte[] out = new byte[Math.multiplyExact(batches, m * n)];
        float[] scale = {qb.scale()};
        int[] zero = {qb.zeroPoint() - 128};
        PackedInt8Weights packed = null;
        byte[] transposed = new byte[k * n];
        for (int t = 0; t < batches; t++) {
            if (packed == null || !shared) {
                shiftTransposed(bv, shared ? 0 : t * k * n, k, n, transposed);
                packed = PackedInt8Weights.pack(transposed, 0, n, k, scale, zero);
            }
            gemm.gemm(m, av, t * m * k, k, qa.zeroPoint(), packed, new Int8Output.Requantize(qa.scale(), null,
                    qo.scale(), qo.zeroPoint(), false, out, t * m * n, n));
        }
        int[] shape = Arrays.copyOf(batchA, ra);
        shape[ra - 2] = m;
        shape[ra - 1] = n;
        return QuantizedOps.quint8(out, shape, qo);
    }

    /** {@code w[j*k + p] = b[off + p*n + j] - 128}: the s8 weights {@code W[n][k]} of the product. */
    static void shiftTransposed(byte[] b, int off, int k, int n, byte[] w) {
        for (int p = 0; p < k; p++) {
            int row = off + p * n;
            for (int j = 0; j < n; j++) {
                w[j * k + p] = (byte) ((b[row + j] & 0xFF) - 128);
            }
        }
    }
}
