package dev.graft.ops;

import dev.graft.kernels.Int8Gemm;
import dev.graft.kernels.Int8Output;
import dev.graft.kernels.PackedInt8Weights;

import java.util.Arrays;

/**
 * {@link QuantizedOps#MATMUL}: u8 x u8 through the u8 x s8 {@link Int8Gemm}. The right operand is an activation
 * too, so it is packed per call, shifted and laid out in one pass ({@link PackedInt8Weights#packShiftedRows}).
 * Shifting it by 128 into s8 and its zero point with it is exact: {@code (b - 128) - (zb - 128) = b - zb}.
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
        dev.graft.kernels.Parallel pool = dev.graft.kernels.Parallel.shared();
        long macs = (long) m * n * k;
        if (!shared && batches > 1 && pool.threads() > 1 && macs < SPLIT_INSIDE_GEMM) {
            // Many small products (attention: one per batch and head): the products go to the threads, each whole on
            // one thread, so the bits do not depend on the split (each output is requantized from its own sums).
            int tasks = Math.min(pool.threads(), batches);
            pool.forEach(tasks, task -> products(batches * task / tasks, batches * (task + 1) / tasks, false, av, bv,
                    m, k, n, qa, qo, scale, zero, out, gemm));
        } else {
            products(0, batches, shared, av, bv, m, k, n, qa, qo, scale, zero, out, gemm);
        }
        int[] shape = Arrays.copyOf(batchA, ra);
        shape[ra - 2] = m;
        shape[ra - 1] = n;
        return QuantizedOps.quint8(out, shape, qo);
    }

    /** Multiply-adds from which one product is left to the GEMM's own split (as the FP32 batched matmul). */
    private static final long SPLIT_INSIDE_GEMM = 1_000_000L;

    /** Products {@code [from, to)} of the batch, one after the other. */
    private static void products(int from, int to, boolean shared, byte[] av, byte[] bv, int m, int k, int n,
                                 QParams.PerTensor qa, QParams.PerTensor qo, float[] scale, int[] zero, byte[] out,
                                 Int8Gemm gemm) {
        PackedInt8Weights packed = null;
        for (int t = from; t < to; t++) {
            if (packed == null || !shared) {
                packed = PackedInt8Weights.packShiftedRows(bv, shared ? 0 : t * k * n, n, k, n, scale[0], zero[0],
                        gemm);
            }
            gemm.gemm(m, av, t * m * k, k, qa.zeroPoint(), packed, new Int8Output.Requantize(qa.scale(), null,
                    qo.scale(), qo.zeroPoint(), false, out, t * m * n, n));
        }
    }
}
