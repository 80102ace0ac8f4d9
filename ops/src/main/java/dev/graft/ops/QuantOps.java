package dev.graft.ops;

import dev.graft.kernels.Quantization;

import java.util.Arrays;

/**
 * Quantize and dequantize with PyTorch's (fbgemm) arithmetic:
 * {@code q = clamp(zp + rint(x * (1f / scale)), qmin, qmax)} — multiply by the float32 reciprocal, not divide,
 * ties to even — and {@code x = scale * (q - zp)} in float32. The golden case q_13 pins both down.
 */
public final class QuantOps {
    private QuantOps() {
    }

    /** One value, as {@code fbgemm::Quantize}: exact for the int8/uint8 ranges. */
    public static int quantize(float x, float scale, int zeroPoint, int qmin, int qmax) {
        // NaN becomes qmin, like a clamped NaN in the C++ (which is undefined there; we pick a fixed answer).
        return Quantization.quantizeOne(x, 1.0f / scale, zeroPoint, qmin, qmax);
    }

    public static float dequantize(int q, float scale, int zeroPoint) {
        return scale * (float) (q - zeroPoint);
    }

    /** {@code quantize_per_tensor(x, scale, zeroPoint, dtype)} with dtype INT8 or UINT8. */
    public static final Op QUANTIZE_PER_TENSOR = new Op("quantize_per_tensor", Op.Kind.QUANTIZED) {
        @Override
        protected Object compute(Object[] args) {
            Tensor x = tensorArg(args, 0);
            float scale = floatArg(args, 1);
            int zp = intArg(args, 2);
            DType dtype = enumArg(args, 3, DType.class);
            LinalgOps.requireFloat(name(), x);
            QParams.PerTensor q = new QParams.PerTensor(scale, zp);
            checkZeroPoint(name(), dtype, zp);
            int qmin = (int) dtype.minValue();
            int qmax = (int) dtype.maxValue();
            byte[] out = new byte[x.numelRef()];
            if (x.isContiguous()) {
                Quantization.quantize(x.storage.floats, x.offset, out, 0, out.length, scale, zp, qmin, qmax);
            } else {
                float[] v = x.toFloatArrayUnchecked();
                Quantization.quantize(v, 0, out, 0, v.length, scale, zp, qmin, qmax);
            }
            return Tensor.contiguous(Storage.ofBytes(dtype, out), x.shape.clone(), q);
        }
    };

    /** {@code quantize_per_channel(x, float[] scales, int[] zeroPoints, axis, dtype)}. */
    public static final Op QUANTIZE_PER_CHANNEL = new Op("quantize_per_channel", Op.Kind.QUANTIZED) {
        @Override
        protected Object compute(Object[] args) {
            Tensor x = tensorArg(args, 0);
            float[] scales = floatsArg(args, 1);
            int[] zps = intsArg(args, 2);
            int axis = Shapes.normalizeDim(name(), intArg(args, 3), x.shape.length);
            DType dtype = enumArg(args, 4, DType.class);
            LinalgOps.requireFloat(name(), x);
            QParams.PerChannel q = new QParams.PerChannel(scales, zps, axis);
            Tensor.checkQParams(name(), x.shape, q);
            for (int zp : zps) {
                checkZeroPoint(name(), dtype, zp);
            }
            int qmin = (int) dtype.minValue();
            int qmax = (int) dtype.maxValue();
            float[] v = x.toFloatArrayUnchecked();
            byte[] out = new byte[v.length];
            int inner = 1;
            for (int d = axis + 1; d < x.shape.length; d++) {
                inner *= x.shape[d];
            }
            int channels = x.shape[axis];
            for (int i = 0; i < v.length; i++) {
                int ch = (i / inner) % channels;
                out[i] = (byte) quantize(v[i], scales[ch], zps[ch], qmin, qmax);
            }
            return Tensor.contiguous(Storage.ofBytes(dtype, out), x.shape.clone(), q);
        }

        private float[] floatsArg(Object[] args, int i) {
            if (i < args.length && args[i] instanceof float[] f) {
                return f.clone();
            }
            throw new TensorException(name() + ": argument " + i + " must be a float[] of scales");
        }
    };

    /** {@code dequantize(q)}: a quantized tensor's real values as float32. */
    public static final Op DEQUANTIZE = new Op("dequantize", Op.Kind.QUANTIZED) {
        @Override
        protected Object compute(Object[] args) {
            Tensor x = tensorArg(args, 0);
            if (x.qparams == null) {
                throw new DTypeException("dequantize: tensor of shape " + Arrays.toString(x.shape) + " and dtype "
                        + x.dtype + " is not quantized");
            }
            Tensor out = Tensor.empty(DType.FLOAT32, x.shape);
            float[] o = out.storage.floats;
            if (x.qparams instanceof QParams.PerTensor pt && x.isContiguous() && x.storage.bytes != null) {
                Quantization.dequantize(x.storage.bytes, x.offset, x.dtype == DType.UINT8, o, 0, o.length, pt.scale(),
                        pt.zeroPoint());
                return out;
            }
            StridedCursor c = StridedCursor.over(x);
            if (x.qparams instanceof QParams.PerTensor pt) {
                for (int i = 0; i < o.length; i++, c.next()) {
                    o[i] = dequantize((int) x.storage.getLong(c.offset), pt.scale(), pt.zeroPoint());
                }
            } else {
                QParams.PerChannel pc = (QParams.PerChannel) x.qparams;
                int inner = 1;
                for (int d = pc.axis() + 1; d < x.shape.length; d++) {
                    inner *= x.shape[d];
                }
                int channels = x.shape[pc.axis()];
                for (int i = 0; i < o.length; i++, c.next()) {
                    int ch = (i / inner) % channels;
                    o[i] = dequantize((int) x.storage.getLong(c.offset), pc.scale(ch), pc.zeroPoint(ch));
                }
            }
            return out;
        }
    };

    static void checkZeroPoint(String op, DType dtype, int zp) {
        if (dtype != DType.INT8 && dtype != DType.UINT8) {
            throw new DTypeException(op + ": quantized dtype must be INT8 or UINT8, got " + dtype);
        }
        if (zp < dtype.minValue() || zp > dtype.maxValue()) {
            throw new TensorException(op + ": zero point " + zp + " outside the " + dtype + " range ["
                    + dtype.minValue() + ", " + dtype.maxValue() + "]");
        }
    }
}
