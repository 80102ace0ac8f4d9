package dev.graft.ops;

import dev.graft.kernels.Parallel;

/**
 * Differentiable fake quantization for quantization-aware training:
 * {@code fake_quantize(x, float[] scales, int[] zeroPoints, axis, qmin, qmax)} computes
 * {@code (clamp(zp + rint(x * (1f / s)), qmin, qmax) - zp) * s} elementwise in float32, exactly as PyTorch's
 * {@code fake_quantize_per_tensor_affine} / {@code fake_quantize_per_channel_affine} CPU kernels (it shares
 * {@link QuantOps#quantize} and {@link QuantOps#dequantize} with the real quantize, so a QAT forward and the
 * converted model round identically). {@code axis} is the channel axis for per-channel parameters, or -1 with one
 * scale for per-tensor ones.
 *
 * <p>Backward: the straight-through estimator with PyTorch's cached mask, the gradient passed where the
 * unclamped {@code zp + rint(x / s)} lies in {@code [qmin, qmax]} and zero elsewhere. Scales and zero points are
 * constants (no learned-scale gradient, as PyTorch's default FakeQuantize).
 */
public final class FakeQuantOps {
    private FakeQuantOps() {
    }

    public static final Op FAKE_QUANTIZE = new Op("fake_quantize", Op.Kind.QUANTIZED) {
        @Override
        protected Object compute(Object[] args) {
            Tensor x = tensorArg(args, 0);
            LinalgOps.requireFloat(name(), x);
            Params p = Params.of(this, args, x);
            float[] v = Gradients.dense(x);
            float[] out = new float[v.length];
            Parallel.shared().forEach(p.blocks(v.length), b -> {
                int from = b * BLOCK;
                int to = Math.min(v.length, from + BLOCK);
                for (int i = from; i < to; i++) {
                    int c = p.channel(i);
                    out[i] = QuantOps.dequantize(QuantOps.quantize(v[i], p.scales[c], p.zeroPoints[c], p.qmin,
                            p.qmax), p.scales[c], p.zeroPoints[c]);
                }
            });
            return Gradients.fresh(out, x.shape.clone());
        }

        @Override
        public Object[] backward(Object[] args, Object result, Tensor gradOutput, boolean[] needsGrad) {
            Object[] grads = new Object[args.length];
            if (!needsGrad[0]) {
                return grads;
            }
            Tensor x = tensorArg(args, 0);
            Params p = Params.of(this, args, x);
            float[] v = Gradients.dense(x);
            float[] g = Gradients.dense(gradOutput);
            float[] out = new float[v.length];
            for (int i = 0; i < v.length; i++) {
                int c = p.channel(i);
                out[i] = insideRange(v[i], p.scales[c], p.zeroPoints[c], p.qmin, p.qmax) ? g[i] : 0f;
            }
            grads[0] = Gradients.fresh(out, x.shape.clone());
            return grads;
        }
    };

    private static final int BLOCK = 1 << 14;

    /**
     * Whether {@code x} quantizes inside {@code [qmin, qmax]} before clamping: {@code zp + nearbyint(x * inv)} is a
     * float in the C++ kernel before the comparison, and NaN falls outside.
     */
    public static boolean insideRange(float x, float scale, int zeroPoint, int qmin, int qmax) {
        float inverse = 1.0f / scale;
        float q = zeroPoint + (float) Math.rint(x * inverse);
        return q >= qmin && q <= qmax;
    }

    /** The op's constant arguments, checked against the input's shape. */
    private record Params(float[] scales, int[] zeroPoints, int qmin, int qmax, int inner, int channels) {
        static Params of(Op op, Object[] args, Tensor x) {
            if (!(args.length > 2 && args[1] instanceof float[] s && args[2] instanceof int[] z)) {
                throw new TensorException(op.name() + ": arguments 1 and 2 must be float[] scales and int[] zero"
                        + " points");
            }
            if (s.length != z.length || s.length == 0) {
                throw new TensorException(op.name() + ": " + s.length + " scales but " + z.length + " zero points");
            }
            int axis = op.intArg(args, 3);
            int qmin = op.intArg(args, 4);
            int qmax = op.intArg(args, 5);
            if (axis < 0) {
                if (s.length != 1) {
                    throw new TensorException(op.name() + ": per-tensor (axis -1) with " + s.length + " scales");
                }
                return new Params(s, z, qmin, qmax, 1, 1);
            }
            if (axis >= x.shape.length || x.shape[axis] != s.length) {
                throw new ShapeException(op.name() + ": " + s.length + " per-channel scales on axis " + axis
                        + " of shape " + java.util.Arrays.toString(x.shape));
            }
            int inner = 1;
            for (int d = axis + 1; d < x.shape.length; d++) {
                inner *= x.shape[d];
            }
            return new Params(s, z, qmin, qmax, inner, s.length);
        }

        int channel(int flatIndex) {
            return channels == 1 ? 0 : (flatIndex / inner) % channels;
        }

        int blocks(int n) {
            return (n + BLOCK - 1) / BLOCK;
        }
    }
}
