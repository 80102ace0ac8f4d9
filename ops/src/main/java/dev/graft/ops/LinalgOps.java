package dev.graft.ops;

import dev.graft.kernels.Activation;
import dev.graft.kernels.Conv2dKernels;
import dev.graft.kernels.Elementwise;
import dev.graft.kernels.FloatGemm;
import dev.graft.kernels.Kernels;
import dev.graft.kernels.Parallel;
import dev.graft.kernels.VectorFloatGemm;

import java.util.Arrays;
import java.util.function.IntConsumer;

/**
 * Matrix products: matmul (batched, broadcast batch dims), linear and conv2d. All of them call the GEMM chosen by
 * {@link Kernels} at start-up; operands are passed with their strides, so transposed views cost no copy.
 */
public final class LinalgOps {
    private LinalgOps() {
    }

    static FloatGemm gemm() {
        return Kernels.floatGemm();
    }

    /** {@code matmul(a, b)} with PyTorch's rules for 1-d operands and broadcast batch dimensions. */
    public static final Op MATMUL = new Op("matmul", Op.Kind.LINALG) {
        @Override
        protected Object compute(Object[] args) {
            Tensor a = tensorArg(args, 0);
            Tensor b = tensorArg(args, 1);
            requireFloat(name(), a);
            requireFloat(name(), b);
            if (a.shape.length == 0 || b.shape.length == 0) {
                throw new ShapeException("matmul: both operands need at least 1 dimension, got "
                        + Arrays.toString(a.shape) + " and " + Arrays.toString(b.shape));
            }
            boolean aVector = a.shape.length == 1;
            boolean bVector = b.shape.length == 1;
            Tensor a2 = aVector ? (Tensor) MovementOps.UNSQUEEZE.compute(new Object[] {a, 0}) : a;
            Tensor b2 = bVector ? (Tensor) MovementOps.UNSQUEEZE.compute(new Object[] {b, 1}) : b;
            Tensor out = batchedMatmul(a2, b2);
            if (aVector) {
                out = (Tensor) MovementOps.SQUEEZE.compute(new Object[] {out, -2});
            }
            if (bVector) {
                out = (Tensor) MovementOps.SQUEEZE.compute(new Object[] {out, -1});
            }
            return out;
        }

        @Override
        public Object[] backward(Object[] args, Object result, Tensor gradOutput, boolean[] needsGrad) {
            return Gradients.matmul((Tensor) args[0], (Tensor) args[1], gradOutput, needsGrad);
        }
    };

    private static Tensor batchedMatmul(Tensor a, Tensor b) {
        int ra = a.shape.length;
        int rb = b.shape.length;
        int m = a.shape[ra - 2];
        int k = a.shape[ra - 1];
        int n = b.shape[rb - 1];
        if (b.shape[rb - 2] != k) {
            throw new ShapeException("matmul: shapes " + Arrays.toString(a.shape) + " and " + Arrays.toString(b.shape)
                    + " do not chain (" + k + " vs " + b.shape[rb - 2] + ")");
        }
        int[] aBatch = Arrays.copyOf(a.shape, ra - 2);
        int[] bBatch = Arrays.copyOf(b.shape, rb - 2);
        int[] batch = Shapes.broadcast("matmul", aBatch, bBatch);
        int[] outShape = Arrays.copyOf(batch, batch.length + 2);
        outShape[batch.length] = m;
        outShape[batch.length + 1] = n;
        Tensor out = Tensor.empty(DType.FLOAT32, outShape);
        int batches = Shapes.numelUnchecked(batch);
        StridedCursor ca = new StridedCursor(batch, batchStrides(a, batch), a.offset);
        StridedCursor cb = new StridedCursor(batch, batchStrides(b, batch), b.offset);
        FloatGemm g = gemm();
        int[] aOffsets = new int[batches];
        int[] bOffsets = new int[batches];
        for (int i = 0; i < batches; i++, ca.next(), cb.next()) {
            aOffsets[i] = ca.offset;
            bOffsets[i] = cb.offset;
        }
        IntConsumer one = i -> g.gemm(m, n, k,
                a.storage.floats, aOffsets[i], a.strides[ra - 2], a.strides[ra - 1],
                b.storage.floats, bOffsets[i], b.strides[rb - 2], b.strides[rb - 1],
                out.storage.floats, i * m * n, n, false);
        long macs = (long) m * n * k;
        Parallel pool = Parallel.shared();
        if (batches > 1 && pool.threads() > 1 && macs < SPLIT_INSIDE_GEMM && macs * batches >= SPLIT_INSIDE_GEMM) {
            // Many small products (attention: one per batch and head), each below the size the GEMM splits itself:
            // the products go to the threads instead. Each product is computed whole by one thread, so the bits do
            // not depend on the split.
            int tasks = Math.min(pool.threads(), batches);
            pool.forEach(tasks, t -> {
                for (int i = batches * t / tasks; i < batches * (t + 1) / tasks; i++) {
                    one.accept(i);
                }
            });
        } else {
            for (int i = 0; i < batches; i++) {
                one.accept(i);
            }
        }
        return out;
    }

    /** Multiply-adds from which the FP32 GEMM splits one product among threads itself. */
    private static final long SPLIT_INSIDE_GEMM = 1_000_000L;

    /** Strides of the batch dimensions of {@code t} broadcast to {@code batch} (0 where broadcast). */
    private static int[] batchStrides(Tensor t, int[] batch) {
        int r = t.shape.length - 2;
        int[] out = new int[batch.length];
        int shift = batch.length - r;
        for (int i = 0; i < r; i++) {
            out[i + shift] = t.shape[i] == 1 && batch[i + shift] != 1 ? 0 : t.strides[i];
        }
        return out;
    }

    /** {@code linear(x, weight, bias)}: {@code x @ weight^T + bias}; x is [..., in], weight [out, in], bias [out]. */
    public static final Op LINEAR = new Op("linear", Op.Kind.LINALG) {
        @Override
        protected Object compute(Object[] args) {
            return linear(this, args, Activation.NONE);
        }

        @Override
        public Object[] backward(Object[] args, Object result, Tensor gradOutput, boolean[] needsGrad) {
            return Gradients.linear((Tensor) args[0], (Tensor) args[1], optionalTensorArg(args, 2), gradOutput, needsGrad);
        }
    };

    /**
     * {@code act(x @ weight^T + bias)} for {@link #LINEAR} and {@code FusedOps.LINEAR_GELU}: the activation runs in the
     * packed kernel's epilogue, or after the generic path's bias ({@link Elementwise#gelu}, the same bits).
     */
    static Tensor linear(Op op, Object[] args, Activation act) {
        Tensor x = op.tensorArg(args, 0);
        Tensor w = op.tensorArg(args, 1);
        Tensor bias = op.optionalTensorArg(args, 2);
        requireFloat(op.name(), x);
        requireFloat(op.name(), w);
        if (w.shape.length != 2 || x.shape.length == 0 || x.shape[x.shape.length - 1] != w.shape[1]) {
            throw new ShapeException(op.name() + ": input " + Arrays.toString(x.shape) + " and weight "
                    + Arrays.toString(w.shape) + " do not fit (need input [..., " + (w.shape.length == 2
                    ? w.shape[1] : "in") + "] and weight [out, in])");
        }
        int in = w.shape[1];
        int outFeatures = w.shape[0];
        if (bias != null) {
            requireFloat(op.name(), bias);
            if (bias.shape.length != 1 || bias.shape[0] != outFeatures) {
                throw new ShapeException(op.name() + ": bias " + Arrays.toString(bias.shape) + " must be ["
                        + outFeatures + "] for weight " + Arrays.toString(w.shape));
            }
        }
        int rows = x.numelRef() / Math.max(in, 1);
        if (in == 0) {
            rows = Shapes.numelUnchecked(Arrays.copyOf(x.shape, x.shape.length - 1));
        }
        Tensor x2 = (Tensor) MovementOps.RESHAPE.compute(new Object[] {x, new int[] {rows, in}});
        int[] outShape = x.shape.clone();
        outShape[outShape.length - 1] = outFeatures;
        Tensor out = Tensor.empty(DType.FLOAT32, outShape);
        float[] o = out.storage.floats;
        if (PackedLinear.applies(rows, x2, w, gemm())) {
            // Weights packed once per version of their values, bias (and activation) fused into the store: the same
            // sums as the path below, which packs the weights on every call.
            ((VectorFloatGemm) gemm()).linear(rows, x2.storage.floats, x2.offset, x2.strides[0],
                    PackedLinear.of(w), bias == null ? null : bias.toFloatArrayUnchecked(), act, o, 0, outFeatures);
            return out;
        }
        gemm().gemm(rows, outFeatures, in,
                x2.storage.floats, x2.offset, x2.strides[0], x2.strides[1],
                w.storage.floats, w.offset, w.strides[1], w.strides[0],
                o, 0, outFeatures, false);
        if (bias != null) {
            float[] bv = bias.toFloatArrayUnchecked();
            for (int r = 0; r < rows; r++) {
                int base = r * outFeatures;
                for (int j = 0; j < outFeatures; j++) {
                    o[base + j] += bv[j];
                }
            }
        }
        switch (act) {
            case NONE -> { }
            case GELU -> Elementwise.gelu(o, 0, o, 0, o.length);
            case RELU -> {
                for (int i = 0; i < o.length; i++) {
                    o[i] = Math.max(o[i], 0f);
                }
            }
        }
        return out;
    }

    /**
     * {@code conv2d(x, weight, bias, int[] stride, int[] padding, int[] dilation, groups)} on NCHW float32:
     * x [N, C, H, W], weight [OC, C/groups, KH, KW], bias [OC] or null.
     */
    public static final Op CONV2D = new Op("conv2d", Op.Kind.LINALG) {
        @Override
        protected Object compute(Object[] args) {
            Tensor x = tensorArg(args, 0);
            Tensor w = tensorArg(args, 1);
            Tensor bias = optionalTensorArg(args, 2);
            int[] stride = pair(name(), "stride", intsArg(args, 3));
            int[] padding = pair(name(), "padding", intsArg(args, 4));
            int[] dilation = pair(name(), "dilation", intsArg(args, 5));
            int groups = intArg(args, 6);
            requireFloat(name(), x);
            requireFloat(name(), w);
            if (x.shape.length != 4 || w.shape.length != 4) {
                throw new ShapeException("conv2d: needs input [N,C,H,W] and weight [OC,C/groups,KH,KW], got "
                        + Arrays.toString(x.shape) + " and " + Arrays.toString(w.shape));
            }
            int n = x.shape[0];
            int c = x.shape[1];
            int oc = w.shape[0];
            if (groups <= 0 || c % groups != 0 || oc % groups != 0 || w.shape[1] * groups != c) {
                throw new ShapeException("conv2d: input " + Arrays.toString(x.shape) + ", weight "
                        + Arrays.toString(w.shape) + " and groups=" + groups + " do not fit (need C and OC divisible"
                        + " by groups and weight[1] == C/groups)");
            }
            if (bias != null) {
                requireFloat(name(), bias);
                if (bias.shape.length != 1 || bias.shape[0] != oc) {
                    throw new ShapeException("conv2d: bias " + Arrays.toString(bias.shape) + " must be [" + oc + "]");
                }
            }
            if (stride[0] < 1 || stride[1] < 1 || dilation[0] < 1 || dilation[1] < 1 || padding[0] < 0
                    || padding[1] < 0) {
                throw new ShapeException("conv2d: stride " + Arrays.toString(stride) + " and dilation "
                        + Arrays.toString(dilation) + " must be >= 1, padding " + Arrays.toString(padding) + " >= 0");
            }
            int kh = w.shape[2];
            int kw = w.shape[3];
            int oh = Conv2dKernels.outputSize(x.shape[2], kh, stride[0], padding[0], dilation[0]);
            int ow = Conv2dKernels.outputSize(x.shape[3], kw, stride[1], padding[1], dilation[1]);
            if (oh <= 0 || ow <= 0) {
                throw new ShapeException("conv2d: input " + Arrays.toString(x.shape) + " is too small for kernel "
                        + kh + "x" + kw + " with padding " + Arrays.toString(padding) + " and dilation "
                        + Arrays.toString(dilation));
            }
            Tensor out = Tensor.empty(DType.FLOAT32, n, oc, oh, ow);
            if (out.numelRef() == 0) {
                return out; // an empty batch (or no output channels): the kernel wants sizes >= 1
            }
            if (n >= 4 && !(groups == c && c == oc)) {
                // A batch: one image per task on the pool (training batches), same per-image arithmetic.
                ConvGradients.forward(new ConvGradients.Geometry(n, c, x.shape[2], x.shape[3], oc, kh, kw,
                        stride[0], stride[1], padding[0], padding[1], dilation[0], dilation[1], groups, oh, ow),
                        denseFloats(x), denseFloats(w), bias == null ? null : denseFloats(bias), out.storage.floats);
                return out;
            }
            Conv2dKernels.conv2d(denseFloats(x), n, c, x.shape[2], x.shape[3], denseFloats(w),
                    bias == null ? null : denseFloats(bias), oc, kh, kw, stride[0], stride[1], padding[0],
                    padding[1], dilation[0], dilation[1], groups, out.storage.floats, gemm());
            return out;
        }

        @Override
        public Object[] backward(Object[] args, Object result, Tensor gradOutput, boolean[] needsGrad) {
            return ConvGradients.backward((Tensor) args[0], (Tensor) args[1], optionalTensorArg(args, 2),
                    pair(name(), "stride", intsArg(args, 3)), pair(name(), "padding", intsArg(args, 4)),
                    pair(name(), "dilation", intsArg(args, 5)), intArg(args, 6), gradOutput, needsGrad);
        }
    };

    /** The elements of a float tensor as a dense array (no copy when its storage is exactly that). */
    static float[] denseFloats(Tensor t) {
        if (t.isContiguous() && t.offset == 0 && t.storage.floats.length == t.numelRef()) {
            return t.storage.floats;
        }
        return t.toFloatArrayUnchecked();
    }

    static int[] pair(String op, String what, int[] v) {
        if (v.length == 1) {
            return new int[] {v[0], v[0]};
        }
        if (v.length != 2) {
            throw new ShapeException(op + ": " + what + " needs 1 or 2 values, got " + Arrays.toString(v));
        }
        return v;
    }

    static void requireFloat(String op, Tensor t) {
        MathOps.refuseQuantized(op, t);
        if (t.dtype != DType.FLOAT32) {
            throw new DTypeException(op + ": needs float32, got " + t.dtype + " of shape " + Arrays.toString(t.shape));
        }
    }
}
