package dev.graft.ops;

import dev.graft.kernels.Int8Gemm;
import dev.graft.kernels.Int8Output;
import dev.graft.kernels.Kernels;
import dev.graft.kernels.PackedInt8Weights;
import dev.graft.kernels.QuantizedAdd;

import java.util.Arrays;

/**
 * Operators on quantized activations (quint8: {@link DType#UINT8} storage with {@link QParams.PerTensor}), the
 * {@code call_function} targets a static convert pass puts into graphs. Every op computes on the integers with
 * PyTorch 1.13's fbgemm/ATen arithmetic (stated per op), refuses any other dtype or qparams with a
 * {@link DTypeException} that names the op, and returns a new contiguous quint8 tensor.
 *
 * <p>Argument orders (all through {@link Dispatch}):
 * <ul>
 *   <li>{@link #ADD}, {@link #ADD_RELU}, {@link #MUL}: {@code (a, b, float outScale, int outZeroPoint)}</li>
 *   <li>{@link #RELU}: {@code (x)}</li>
 *   <li>{@link #MAX_POOL2D}: {@code (x, int[] kernel, int[] stride, int[] padding, int[] dilation, boolean ceil)}</li>
 *   <li>{@link #AVG_POOL2D}: {@code (x, int[] kernel, int[] stride, int[] padding, boolean ceil,
 *       boolean countIncludePad)}</li>
 *   <li>{@link #ADAPTIVE_AVG_POOL2D}: {@code (x, int[] outputSize)}</li>
 *   <li>{@link #CAT}: {@code (Tensor[] xs, int dim, float outScale, int outZeroPoint)}</li>
 *   <li>{@link #MATMUL}: {@code (a, b, float outScale, int outZeroPoint)}</li>
 *   <li>{@link #PAD}: {@code (x, int[] pads, float value)}</li>
 *   <li>{@link #UPSAMPLE_BILINEAR2D}: {@code (x, int[] outSize, boolean alignCorners)}</li>
 * </ul>
 * Reshape, permute, flatten, slice and friends need no quantized version: {@link MovementOps} views carry the
 * per-tensor qparams through.
 */
public final class QuantizedOps {

    private QuantizedOps() {
    }

    /**
     * {@code quantized::add}: fbgemm's float formula ({@link QuantizedAdd}, golden case k_21):
     * {@code q = clamp(zo + rint((sa*(a-za) + sb*(b-zb)) * (1/so)), 0, 255)}. Operands broadcast.
     */
    public static final Op ADD = new Binary("quantized_add") {
        @Override
        void apply(byte[] a, QParams.PerTensor qa, byte[] b, QParams.PerTensor qb, float so, int zo, byte[] out) {
            QuantizedAdd.add(a, 0, kernelParams(qa), b, 0, kernelParams(qb), new QuantizedAdd.QParams(so, zo),
                    false, out, 0, out.length);
        }
    };

    /** {@code quantized::add_relu}: {@link #ADD} with the float sum clamped at 0 before requantizing. */
    public static final Op ADD_RELU = new Binary("quantized_add_relu") {
        @Override
        void apply(byte[] a, QParams.PerTensor qa, byte[] b, QParams.PerTensor qb, float so, int zo, byte[] out) {
            QuantizedAdd.add(a, 0, kernelParams(qa), b, 0, kernelParams(qb), new QuantizedAdd.QParams(so, zo),
                    true, out, 0, out.length);
        }
    };

    /**
     * {@code quantized::mul} (ATen {@code qmul_kernel}): {@code c = (a-za)*(b-zb)} in int32, then
     * {@code q = clamp(zo + rint(float(c) * m), 0, 255)} with {@code m = (sa*sb)*(1/so)} in float32.
     */
    public static final Op MUL = new Binary("quantized_mul") {
        @Override
        void apply(byte[] a, QParams.PerTensor qa, byte[] b, QParams.PerTensor qb, float so, int zo, byte[] out) {
            float multiplier = qa.scale() * qb.scale() * (1f / so);
            for (int i = 0; i < out.length; i++) {
                int c = ((a[i] & 0xFF) - qa.zeroPoint()) * ((b[i] & 0xFF) - qb.zeroPoint());
                out[i] = (byte) clampU8(zo + (long) Math.rint((float) c * multiplier));
            }
        }
    };

    /** {@code relu} on quint8: qparams unchanged, {@code q = max(q, zeroPoint)} (golden case k_21). */
    public static final Op RELU = new Op("quantized_relu", Op.Kind.QUANTIZED) {
        @Override
        protected Object compute(Object[] args) {
            Tensor x = tensorArg(args, 0);
            QParams.PerTensor q = requireQuint8(name(), x, "input");
            byte[] in = bytesOf(x);
            byte[] out = new byte[in.length];
            QuantizedAdd.relu(in, 0, in.length, q.zeroPoint(), out, 0);
            return quint8(out, x.shape, q);
        }
    };

    /**
     * {@code max_pool2d} on quint8: the same windows as {@link NNOps#MAX_POOL2D} over the integers (dequantizing is
     * increasing, so the maximum commutes with it); qparams unchanged; padding never wins.
     */
    public static final Op MAX_POOL2D = new Op("quantized_max_pool2d", Op.Kind.QUANTIZED) {
        @Override
        protected Object compute(Object[] args) {
            Tensor x = tensorArg(args, 0);
            QParams.PerTensor q = requireQuint8(name(), x, "input");
            // Integers 0..255 are exact in float32, so the float pooling loop picks exactly the integer maximum.
            Object[] floatArgs = args.clone();
            floatArgs[0] = integersAsFloats(x);
            Tensor pooled = (Tensor) NNPoolOps.MAX_POOL2D.compute(floatArgs);
            float[] v = pooled.storage.floats;
            byte[] out = new byte[v.length];
            for (int i = 0; i < v.length; i++) {
                out[i] = (byte) (int) v[i];
            }
            return quint8(out, pooled.shape, q);
        }
    };

    /**
     * {@code avg_pool2d} on quint8, as ATen's quantized kernel with output qparams = input qparams:
     * {@code acc = sum(q) - zp*count} over the real (unpadded) elements of the window, then
     * {@code q = clamp(zp + rint(float(acc) * m), 0, 255)} with {@code m = 1f / divisor} (the divisor is the padded
     * window size when {@code countIncludePad}, else the count). See {@link QuantizedOpsPooling}.
     */
    public static final Op AVG_POOL2D = new Op("quantized_avg_pool2d", Op.Kind.QUANTIZED) {
        @Override
        protected Object compute(Object[] args) {
            Tensor x = tensorArg(args, 0);
            QParams.PerTensor q = requireQuint8(name(), x, "input");
            return QuantizedOpsPooling.avgPool(name(), x, q, intsArg(args, 1), intsArg(args, 2), intsArg(args, 3),
                    boolArg(args, 4), boolArg(args, 5));
        }
    };

    /**
     * {@code adaptive_avg_pool2d} on quint8 (ATen {@code qadaptive_avg_pool}): windows as {@link NNOps}, then
     * the {@link #AVG_POOL2D} arithmetic with the window size as divisor; qparams unchanged.
     */
    public static final Op ADAPTIVE_AVG_POOL2D = new Op("quantized_adaptive_avg_pool2d", Op.Kind.QUANTIZED) {
        @Override
        protected Object compute(Object[] args) {
            Tensor x = tensorArg(args, 0);
            QParams.PerTensor q = requireQuint8(name(), x, "input");
            return QuantizedOpsPooling.adaptiveAvgPool(name(), x, q, intsArg(args, 1));
        }
    };

    /**
     * {@code quantized::cat(xs, dim, scale, zeroPoint)}: each input requantized to the output qparams through
     * float, {@code q = quantize(dequantize(q_in))} with {@link QuantOps}'s arithmetic (an input that already has
     * the output qparams is copied unchanged: the round trip is the identity there), then joined as
     * {@link MovementOps#CAT}.
     */
    public static final Op CAT = new Op("quantized_cat", Op.Kind.QUANTIZED) {
        @Override
        protected Object compute(Object[] args) {
            Tensor[] xs = tensorsArg(args, 0);
            int dim = intArg(args, 1);
            QParams.PerTensor qo = outputQParams(name(), floatArg(args, 2), intArg(args, 3));
            if (xs.length == 0) {
                throw new TensorException(name() + ": needs at least one tensor");
            }
            Tensor[] requantized = new Tensor[xs.length];
            for (int t = 0; t < xs.length; t++) {
                QParams.PerTensor qi = requireQuint8(name(), xs[t], "input " + t);
                byte[] in = bytesOf(xs[t]);
                byte[] out = new byte[in.length];
                requantize(in, qi, qo, out);
                requantized[t] = quint8(out, xs[t].shape, qo);
            }
            return MovementOps.CAT.compute(new Object[] {requantized, dim});
        }
    };

    /**
     * Quantized batched matmul for attention, both operands quint8 activations: {@code a [..., M, K]},
     * {@code b [..., K, N]} (equal batch dimensions, or a 2-d {@code b} shared by every batch). The integer
     * product is exact: {@code b} is shifted into s8 ({@code b - 128}, zero point {@code zb - 128}), which leaves
     * {@code b - zb} unchanged, and fed as per-tensor weights to the {@link Int8Gemm}; the int32 accumulator
     * {@code acc = sum_k (a-za)(b-zb)} is requantized with fbgemm's linear output stage
     * ({@link Int8Output.Requantize}, no bias): {@code q = clamp(rint(float(acc) * ((sa*sb)/so)) + zo, 0, 255)}.
     */
    public static final Op MATMUL = new Op("quantized_matmul", Op.Kind.QUANTIZED) {
        @Override
        protected Object compute(Object[] args) {
            Tensor a = tensorArg(args, 0);
            Tensor b = tensorArg(args, 1);
            QParams.PerTensor qa = requireQuint8(name(), a, "left operand");
            QParams.PerTensor qb = requireQuint8(name(), b, "right operand");
            QParams.PerTensor qo = outputQParams(name(), floatArg(args, 2), intArg(args, 3));
            return QuantizedOpsMatmul.matmul(name(), a, qa, b, qb, qo, Kernels.int8Gemm());
        }
    };

    /**
     * {@code pad(x, int[] pads, float value)} on quint8, pads as {@link MovementOps#PAD}; qparams unchanged; the new
     * elements hold {@code quantize(value)} ({@code 0.0} gives the zero point, {@code -inf} gives 0). See
     * {@link QuantizedOpsSpatial#pad}.
     */
    public static final Op PAD = new Op("quantized_pad", Op.Kind.QUANTIZED) {
        @Override
        protected Object compute(Object[] args) {
            Tensor x = tensorArg(args, 0);
            QParams.PerTensor q = requireQuint8(name(), x, "input");
            return QuantizedOpsSpatial.pad(name(), x, q, intsArg(args, 1), floatArg(args, 2));
        }
    };

    /**
     * {@code upsample_bilinear2d(x, int[] outSize, boolean alignCorners)} on quint8 as ATen's quantized kernel:
     * the blend in float32 on the integers, requantized to the input's qparams. See
     * {@link QuantizedOpsSpatial#upsampleBilinear}.
     */
    public static final Op UPSAMPLE_BILINEAR2D = new Op("quantized_upsample_bilinear2d", Op.Kind.QUANTIZED) {
        @Override
        protected Object compute(Object[] args) {
            Tensor x = tensorArg(args, 0);
            QParams.PerTensor q = requireQuint8(name(), x, "input");
            return QuantizedOpsSpatial.upsampleBilinear(name(), x, q, intsArg(args, 1), boolArg(args, 2));
        }
    };

    // ---------------------------------------------------------------- helpers shared with the engine's modules

    /**
     * The quint8 per-tensor qparams of {@code x}, or a {@link DTypeException} naming {@code op} and {@code what}
     * when {@code x} is not a quint8 per-tensor quantized tensor.
     */
    public static QParams.PerTensor requireQuint8(String op, Tensor x, String what) {
        if (x.dtype != DType.UINT8 || !(x.qparams instanceof QParams.PerTensor q)) {
            throw new DTypeException(op + ": " + what + " must be quint8 (uint8 with per-tensor qparams), got "
                    + x.dtype + (x.qparams == null ? " (not quantized)" : " with " + x.qparams) + " of shape "
                    + Arrays.toString(x.shape));
        }
        return q;
    }

    /**
     * The integer representation of a quantized (or any one-byte) tensor in row-major order: the storage itself
     * when the tensor is contiguous and spans all of it (callers must not write to it), a copy otherwise.
     */
    public static byte[] bytesOf(Tensor x) {
        if (x.dtype.byteSize() != 1) {
            throw new DTypeException("bytesOf: needs a one-byte dtype, got " + x.dtype);
        }
        if (x.tracer() == null && x.offset == 0 && x.isContiguous() && x.storage.bytes.length == x.numel()) {
            return x.storage.bytes;
        }
        return x.toByteArray();
    }

    /**
     * The values of a float32 tensor in row-major order, for a kernel that only reads them (a dynamic INT8 linear's
     * input): the storage itself when the tensor is contiguous and spans all of it (callers must not write to it),
     * a copy otherwise. Saves a copy of every activation an INT8 linear reads (25 MB for MiniLM's FFN at 32 x 128).
     */
    public static float[] floatsOf(Tensor x) {
        if (x.dtype != DType.FLOAT32 || x.qparams != null) {
            throw new DTypeException("floatsOf: needs a float32 tensor, got " + x.dtype
                    + (x.qparams == null ? "" : " with " + x.qparams));
        }
        return x.tracer() == null ? LinalgOps.denseFloats(x) : x.toFloatArray();
    }

    /**
     * A quint8 tensor that takes ownership of {@code data} (row-major, not copied: the caller must not reuse it).
     * For modules that produce their output into a fresh array.
     */
    public static Tensor wrapQuint8(byte[] data, int[] shape, QParams.PerTensor qparams) {
        if (Shapes.numel("wrapQuint8", shape) != data.length) {
            throw new ShapeException("wrapQuint8: " + data.length + " bytes do not fill shape "
                    + Arrays.toString(shape));
        }
        return quint8(data, shape, qparams);
    }

    /** {@code out[i] = quantize(dequantize(in[i], qi), qo)}, the float round trip of {@link QuantOps}. */
    static void requantize(byte[] in, QParams.PerTensor qi, QParams.PerTensor qo, byte[] out) {
        if (qi.equals(qo)) {
            System.arraycopy(in, 0, out, 0, in.length);
            return;
        }
        for (int i = 0; i < in.length; i++) {
            float real = QuantOps.dequantize(in[i] & 0xFF, qi.scale(), qi.zeroPoint());
            out[i] = (byte) QuantOps.quantize(real, qo.scale(), qo.zeroPoint(), 0, 255);
        }
    }

    static Tensor quint8(byte[] data, int[] shape, QParams.PerTensor q) {
        return Tensor.contiguous(Storage.ofBytes(DType.UINT8, data), shape, q);
    }

    static QParams.PerTensor outputQParams(String op, float scale, int zeroPoint) {
        if (zeroPoint < 0 || zeroPoint > 255) {
            throw new TensorException(op + ": output zero point " + zeroPoint + " is outside [0, 255]");
        }
        if (!(scale > 0f) || Float.isInfinite(scale)) {
            throw new TensorException(op + ": output scale must be finite and > 0, got " + scale);
        }
        return new QParams.PerTensor(scale, zeroPoint);
    }

    static int clampU8(long q) {
        return (int) Math.max(0, Math.min(255, q));
    }

    private static QuantizedAdd.QParams kernelParams(QParams.PerTensor q) {
        return new QuantizedAdd.QParams(q.scale(), q.zeroPoint());
    }

    /** The integer values of a quint8 tensor as a float32 tensor of the same shape (exact: 0..255). */
    private static Tensor integersAsFloats(Tensor x) {
        byte[] in = bytesOf(x);
        float[] f = new float[in.length];
        for (int i = 0; i < in.length; i++) {
            f[i] = in[i] & 0xFF;
        }
        return Tensor.wrap(f, x.shape.clone());
    }

    /** Elementwise ops on two quint8 tensors with an explicit output scale and zero point; operands broadcast. */
    private abstract static class Binary extends Op {
        Binary(String name) {
            super(name, Op.Kind.QUANTIZED);
        }

        abstract void apply(byte[] a, QParams.PerTensor qa, byte[] b, QParams.PerTensor qb, float outScale,
                            int outZeroPoint, byte[] out);

        @Override
        protected Object compute(Object[] args) {
            Tensor a = tensorArg(args, 0);
            Tensor b = tensorArg(args, 1);
            QParams.PerTensor qa = requireQuint8(name(), a, "left operand");
            QParams.PerTensor qb = requireQuint8(name(), b, "right operand");
            QParams.PerTensor qo = outputQParams(name(), floatArg(args, 2), intArg(args, 3));
            int[] shape = Shapes.broadcast(name(), a.shape, b.shape);
            byte[] av = Arrays.equals(shape, a.shape) ? bytesOf(a) : a.expand(shape).toByteArray();
            byte[] bv = Arrays.equals(shape, b.shape) ? bytesOf(b) : b.expand(shape).toByteArray();
            byte[] out = new byte[av.length];
            apply(av, qa, bv, qb, qo.scale(), qo.zeroPoint(), out);
            return quint8(out, shape, qo);
        }
    }
}
