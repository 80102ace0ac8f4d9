package dev.graft.ops;

import dev.graft.kernels.Attention;
import dev.graft.kernels.Kernels;
import dev.graft.kernels.QuantizedAttention;

import java.util.Arrays;

/**
 * Operators that graphs get from the inference rewrites ({@code engine.fuse}), not from model code. Each computes
 * what the operators it replaces compute, with their bits, in fewer passes over memory and without the
 * intermediate tensors. None has a backward rule: they are for inference, and a gradient that would flow through
 * one is refused with its name.
 *
 * <p>{@code attention(q, k, v, mask, scale, divide)} is {@code softmax(q @ k^T (/ or *) scale + mask, -1) @ v}
 * with the bits of those five operators run one by one ({@link Attention}), without the {@code [B, H, Sq, Sk]}
 * score tensor and without copying permuted inputs.
 *
 * <p>The result has the shape of the last product, {@code [B, H, Sq, Dv]}, but its storage is laid out as
 * {@code [B, Sq, H, Dv]}: the result is that array seen through permuted strides. BERT-style models permute it back
 * to {@code [B, Sq, H, Dv]} and flatten the heads, which then costs no copy ({@code contiguous} finds it contiguous).
 *
 * <p>Inference only: it has no backward rule, so a gradient that would flow through it is refused with its name.
 */
public final class FusedOps {
    private FusedOps() {
    }

    /**
     * {@code linear_gelu(x, weight, bias)}: {@code gelu(linear(x, weight, bias))} (erf form), the GELU applied in the
     * linear kernel's epilogue while each output row block is in cache, and no separate [.., out] tensor.
     */
    public static final Op LINEAR_GELU = new Op("linear_gelu", Op.Kind.LINALG) {
        @Override
        protected Object compute(Object[] args) {
            return LinalgOps.linear(this, args, dev.graft.kernels.Activation.GELU);
        }
    };

    /**
     * {@code add_layer_norm(a, b, normalized_shape, weight, bias, eps)}: {@code layer_norm(a + b, ...)}, the sum
     * written once into the output and normalized there (a residual connection and its LayerNorm).
     */
    public static final Op ADD_LAYER_NORM = new Op("add_layer_norm", Op.Kind.NN) {
        @Override
        protected Object compute(Object[] args) {
            Tensor sum = (Tensor) MathOps.ADD.compute(new Object[] {tensorArg(args, 0), tensorArg(args, 1)});
            if (sum.dtype != DType.FLOAT32 || sum.offset != 0 || !sum.isContiguous()
                    || sum.storage.floats.length != sum.numelRef()) {
                return NNOps.LAYER_NORM.compute(new Object[] {sum, args[2], args[3], args[4], args[5]});
            }
            return layerNormInPlace(this, sum, args);   // the sum is a fresh tensor: normalize it where it is
        }
    };

    /** layer_norm of a fresh contiguous tensor into itself (the checks of {@link NNOps#LAYER_NORM}). */
    private static Tensor layerNormInPlace(Op op, Tensor x, Object[] args) {
        int[] normalized = op.intsArg(args, 2);
        Tensor weight = op.optionalTensorArg(args, 3);
        Tensor bias = op.optionalTensorArg(args, 4);
        float eps = op.floatArg(args, 5);
        int rank = x.shape.length;
        int k = normalized.length;
        if (k == 0 || k > rank || !Arrays.equals(normalized, Arrays.copyOfRange(x.shape, rank - k, rank))
                || !(eps >= 0f) || !fits(weight, normalized) || !fits(bias, normalized)) {
            return (Tensor) NNOps.LAYER_NORM.compute(new Object[] {x, normalized, weight, bias, eps});
        }
        int n = Shapes.numelUnchecked(normalized);
        int rows = x.numelRef() / Math.max(n, 1);
        dev.graft.kernels.Normalization.layerNormRows(x.storage.floats, 0, rows, n,
                weight == null ? null : weight.toFloatArrayUnchecked(), bias == null ? null : bias.toFloatArrayUnchecked(),
                eps, x.storage.floats, 0);
        return x;
    }

    private static boolean fits(Tensor p, int[] normalized) {
        return p == null || (p.dtype == DType.FLOAT32 && Arrays.equals(p.shape, normalized));
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
            Attention.Operand m = maskOperand(name(), mask, new int[] {batch, heads, sq, sk});
            // Stored as [B, Sq, H, Dv], seen as [B, H, Sq, Dv].
            Storage storage = Storage.allocate(DType.FLOAT32, Shapes.numel(name(), new int[] {batch, sq, heads, dv}));
            int[] strides = {sq * heads * dv, dv, heads * dv, 1};
            Tensor out = new Tensor(storage, new int[] {batch, heads, sq, dv}, strides, 0, null);
            Attention.attention(batch, heads, sq, sk, d, dv, operand(q), operand(k), operand(v), m, scale, divide,
                    new Attention.Operand(storage.floats, 0, strides[0], strides[1], strides[2], strides[3]));
            return out;
        }
    };

    /**
     * {@code quantized_softmax(scores, scale, divide, mask, out_scale, out_zero_point, dtype)}: the float middle of an
     * INT8 attention, {@code quantize(softmax(dequantize(scores) (/ or *) scale + mask, -1))}, row by row without the
     * three float [B, H, Sq, Sk] tensors ({@link Attention#quantizedSoftmaxRows}); scores are quint8 [B, H, Sq, Sk].
     */
    public static final Op QUANTIZED_SOFTMAX = new Op("quantized_softmax", Op.Kind.QUANTIZED) {
        @Override
        protected Object compute(Object[] args) {
            Tensor x = tensorArg(args, 0);
            float scale = floatArg(args, 1);
            boolean divide = boolArg(args, 2);
            Tensor mask = optionalTensorArg(args, 3);
            float outScale = floatArg(args, 4);
            int outZero = intArg(args, 5);
            DType dtype = enumArg(args, 6, DType.class);
            if (!(x.qparams instanceof QParams.PerTensor qx) || (x.dtype != DType.UINT8 && x.dtype != DType.INT8)
                    || x.shape.length != 4 || !(outScale > 0f) || (dtype != DType.UINT8 && dtype != DType.INT8)) {
                throw new DTypeException("quantized_softmax: needs per-tensor quantized 4-d scores and a positive"
                        + " output scale with uint8 or int8, got " + x.dtype + " " + Arrays.toString(x.shape)
                        + ", scale " + outScale + ", " + dtype);
            }
            QuantOps.checkZeroPoint(name(), dtype, outZero);
            int[] shape = x.shape;
            Attention.Operand m = maskOperand(name(), mask, shape);
            byte[] in = QuantizedOps.bytesOf(x);
            byte[] out = new byte[in.length];
            Attention.quantizedSoftmaxRows(in, 0, x.dtype == DType.UINT8, qx.scale(), qx.zeroPoint(), shape[0],
                    shape[1], shape[2], shape[3], scale, divide, m, out, 0, outScale, outZero,
                    (int) dtype.minValue(), (int) dtype.maxValue());
            return Tensor.contiguous(Storage.ofBytes(dtype, out), shape.clone(), new QParams.PerTensor(outScale, outZero));
        }
    };

    /**
     * {@code quantized_attention(q, k, v, mask, scale, divide, score_scale, score_zero_point, prob_scale,
     * prob_zero_point, out_scale, out_zero_point)}: a whole static INT8 attention, the bits of
     * {@code quantized_matmul(quantized_softmax(quantized_matmul(q, k^T, score qparams), scale, divide, mask, prob
     * qparams, quint8), v, out qparams)}, per head ({@link QuantizedAttention}). q, k, v are quint8
     * {@code [B, H, S, D]} (any strides; rows are copied only when not contiguous); the result is quint8
     * {@code [B, H, Sq, Dv]} stored as {@code [B, Sq, H, Dv]}, so the usual permute back is contiguous.
     */
    public static final Op QUANTIZED_ATTENTION = new Op("quantized_attention", Op.Kind.QUANTIZED) {
        @Override
        protected Object compute(Object[] args) {
            Tensor q = tensorArg(args, 0);
            Tensor k = tensorArg(args, 1);
            Tensor v = tensorArg(args, 2);
            Tensor mask = optionalTensorArg(args, 3);
            float scale = floatArg(args, 4);
            boolean divide = boolArg(args, 5);
            QParams.PerTensor scores = QuantizedOps.outputQParams(name() + " scores", floatArg(args, 6), intArg(args, 7));
            QParams.PerTensor probs = QuantizedOps.outputQParams(name() + " probabilities", floatArg(args, 8),
                    intArg(args, 9));
            QParams.PerTensor qo = QuantizedOps.outputQParams(name(), floatArg(args, 10), intArg(args, 11));
            String[] names = {"q", "k", "v"};
            Tensor[] qkv = {q, k, v};
            for (int i = 0; i < 3; i++) {
                QuantizedOps.requireQuint8(name(), qkv[i], names[i]);
                if (qkv[i].shape.length != 4) {
                    throw new ShapeException("quantized_attention: " + names[i] + " must be 4-d [batch, heads, rows,"
                            + " features], got " + Arrays.toString(qkv[i].shape));
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
                throw new ShapeException("quantized_attention: q " + Arrays.toString(q.shape) + ", k "
                        + Arrays.toString(k.shape) + " and v " + Arrays.toString(v.shape)
                        + " do not fit (need [B,H,Sq,D], [B,H,Sk,D], [B,H,Sk,Dv])");
            }
            if (sk == 0 || d == 0 || dv == 0) {
                throw new ShapeException("quantized_attention: empty matrices are not supported: q "
                        + Arrays.toString(q.shape) + ", k " + Arrays.toString(k.shape) + ", v "
                        + Arrays.toString(v.shape));
            }
            Attention.Operand m = maskOperand(name(), mask, new int[] {batch, heads, sq, sk});
            Storage storage = Storage.allocate(DType.UINT8, Shapes.numel(name(), new int[] {batch, sq, heads, dv}));
            int[] strides = {sq * heads * dv, dv, heads * dv, 1};
            QuantizedAttention.attention(batch, heads, sq, sk, d, dv, byteOperand(q), byteOperand(k), byteOperand(v),
                    m, scale, divide, new QuantizedAttention.QParams(scores.scale(), scores.zeroPoint()),
                    new QuantizedAttention.QParams(probs.scale(), probs.zeroPoint()),
                    new QuantizedAttention.Operand(storage.bytes, 0, strides[0], strides[1], strides[2], qo.scale(),
                            qo.zeroPoint()), Kernels.int8Gemm());
            return new Tensor(storage, new int[] {batch, heads, sq, dv}, strides, 0, qo);
        }
    };

    /** A quint8 4-d tensor as the kernel reads it: rows contiguous (copied once when they are not). */
    private static QuantizedAttention.Operand byteOperand(Tensor t) {
        Tensor x = t.strides[3] == 1 && t.tracer() == null ? t : (Tensor) MovementOps.CONTIGUOUS.compute(new Object[] {t});
        QParams.PerTensor qp = (QParams.PerTensor) x.qparams;
        return new QuantizedAttention.Operand(x.storage.bytes, x.offset, x.strides[0], x.strides[1], x.strides[2],
                qp.scale(), qp.zeroPoint());
    }

    /**
     * {@code channel_scale_quantize(x, factors, scale, zero_point, dtype)}: {@code quantize_per_tensor(x * factors,
     * scale, zero_point, dtype)} with {@code factors} [K] over x's last dimension (SmoothQuant's channel scale before
     * an INT8 linear), without the scaled float tensor ({@link dev.graft.kernels.Quantization#scaleAndQuantizeRows}).
     */
    public static final Op CHANNEL_SCALE_QUANTIZE = new Op("channel_scale_quantize", Op.Kind.QUANTIZED) {
        @Override
        protected Object compute(Object[] args) {
            Tensor x = tensorArg(args, 0);
            Tensor factors = tensorArg(args, 1);
            float scale = floatArg(args, 2);
            int zero = intArg(args, 3);
            DType dtype = enumArg(args, 4, DType.class);
            int k = x.shape.length == 0 ? 0 : x.shape[x.shape.length - 1];
            if (x.dtype != DType.FLOAT32 || factors.dtype != DType.FLOAT32 || factors.shape.length != 1
                    || factors.shape[0] != k || x.shape.length == 0) {
                // Anything else: the two operators, which report what does not fit.
                Tensor scaled = (Tensor) MathOps.MUL.compute(new Object[] {x, factors});
                return QuantOps.QUANTIZE_PER_TENSOR.compute(new Object[] {scaled, scale, zero, dtype});
            }
            QuantOps.checkZeroPoint(name(), dtype, zero);
            Tensor dense = x.isContiguous() ? x : (Tensor) MovementOps.CONTIGUOUS.compute(new Object[] {x});
            byte[] out = new byte[dense.numelRef()];
            dev.graft.kernels.Quantization.scaleAndQuantizeRows(dense.storage.floats, dense.offset,
                    k == 0 ? 0 : out.length / k, k, factors.toFloatArrayUnchecked(), out, 0, scale, zero,
                    (int) dtype.minValue(), (int) dtype.maxValue());
            return Tensor.contiguous(Storage.ofBytes(dtype, out), x.shape.clone(), new QParams.PerTensor(scale, zero));
        }
    };

    /** An additive mask read as {@code scores}' shape (float32, broadcast strides), or null for none. */
    private static Attention.Operand maskOperand(String op, Tensor mask, int[] scores) {
        if (mask == null) {
            return null;
        }
        Tensor m = mask.dtype == DType.FLOAT32 ? mask
                : (Tensor) MovementOps.TO_DTYPE.compute(new Object[] {mask, DType.FLOAT32});
        if (!Arrays.equals(Shapes.broadcast(op, m.shape, scores), scores)) {
            throw new ShapeException(op + ": mask " + Arrays.toString(m.shape) + " does not broadcast to the scores "
                    + Arrays.toString(scores));
        }
        int[] s = Shapes.broadcastStrides(m, scores);
        return new Attention.Operand(m.storage.floats, m.offset, s[0], s[1], s[2], s[3]);
    }

    private static Attention.Operand operand(Tensor t) {
        return new Attention.Operand(t.storage.floats, t.offset, t.strides[0], t.strides[1], t.strides[2],
                t.strides[3]);
    }
}
