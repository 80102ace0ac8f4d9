package dev.graft.ops;

import dev.graft.kernels.Attention;

import java.util.Arrays;

/**
 * Fused attention, an operator that graphs get from a rewrite ({@code engine.fuse.AttentionFusion}), not from model
 * code: {@code attention(q, k, v, mask, scale, divide)} is {@code softmax(q @ k^T (/ or *) scale + mask, -1) @ v}
 * with the bits of those five operators run one by one ({@link Attention}), without the {@code [B, H, Sq, Sk]}
 * score tensor and without copying permuted inputs.
 *
 * <p>The result has the shape of the last product, {@code [B, H, Sq, Dv]}, but its storage is laid out as
 * {@code [B, Sq, H, Dv]}: the result is that array seen through permuted strides. BERT-style models permute it back
 * to {@code [B, Sq, H, Dv]} and flatten the heads, which then costs no copy ({@code contiguous} finds it contiguous).
 *
 * <p>Inference only: it has no backward rule, so a gradient that would flow through it is refused with its name.
 */
public final class AttentionOps {
    private AttentionOps() {
    }

    /**
     * {@code attention(q [B,H,Sq,D], k [B,H,Sk,D], v [B,H,Sk,Dv], mask (broadcastable to [B,H,Sq,Sk]) or null,
     * scale (a float, NaN for none), divide (true: scores / scale, false: scores * scale))}.
     */
    public static final Op ATTENTION = new Op("attention", Op.Kind.LINALG) {
        @Override
        protected Object compute(Object[] args) {
            Tensor q = tensorArg(args, 0);
            Tensor k = tensorArg(args, 1);
            Tensor v = tensorArg(args, 2);
            Tensor mask = optionalTensorArg(args, 3);
            float scale = floatArg(args, 4);
            boolean divide = boolArg(args, 5);
            for (Tensor t : new Tensor[] {q, k, v}) {
                LinalgOps.requireFloat(name(), t);
                if (t.shape.length != 4) {
                    throw new ShapeException("attention: q, k and v must be 4-d [batch, heads, rows, features], got "
                            + Arrays.toString(t.shape));
                }
            }
            int batch = q.shape[0];
            int heads = q.shape[1];
            int sq = q.shape[2];
            int d = q.shape[3];
            int sk = k.shape[2];
            int dv = v.shape[3];
            if (k.shape[0] != batch || k.shape[1] != heads || k.shape[3] != d || v.shape[0] != batch
                    || v.shape[1] != heads || v.shape[2] != sk) {
                throw new ShapeException("attention: q " + Arrays.toString(q.shape) + ", k " + Arrays.toString(k.shape)
                        + " and v " + Arrays.toString(v.shape) + " do not fit (need [B,H,Sq,D], [B,H,Sk,D], [B,H,Sk,Dv])");
            }
            int[] scoreShape = {batch, heads, sq, sk};
            Attention.Operand m = null;
            if (mask != null) {
                if (mask.dtype != DType.FLOAT32) {
                    mask = (Tensor) MovementOps.TO_DTYPE.compute(new Object[] {mask, DType.FLOAT32});
                }
                int[] joint = Shapes.broadcast(name(), mask.shape, scoreShape);
                if (!Arrays.equals(joint, scoreShape)) {
                    throw new ShapeException("attention: mask " + Arrays.toString(mask.shape)
                            + " does not broadcast to the scores " + Arrays.toString(scoreShape));
                }
                int[] s = Shapes.broadcastStrides(mask, scoreShape);
                m = new Attention.Operand(mask.storage.floats, mask.offset, s[0], s[1], s[2], s[3]);
            }
            // Stored as [B, Sq, H, Dv], seen as [B, H, Sq, Dv].
            Storage storage = Storage.allocate(DType.FLOAT32, Shapes.numel(name(), new int[] {batch, sq, heads, dv}));
            int[] strides = {sq * heads * dv, dv, heads * dv, 1};
            Tensor out = new Tensor(storage, new int[] {batch, heads, sq, dv}, strides, 0, null);
            Attention.attention(batch, heads, sq, sk, d, dv, operand(q), operand(k), operand(v), m, scale, divide,
                    new Attention.Operand(storage.floats, 0, strides[0], strides[1], strides[2], strides[3]));
            return out;
        }
    };

    private static Attention.Operand operand(Tensor t) {
        return new Attention.Operand(t.storage.floats, t.offset, t.strides[0], t.strides[1], t.strides[2],
                t.strides[3]);
    }
}
