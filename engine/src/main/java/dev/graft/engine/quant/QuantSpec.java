package dev.graft.engine.quant;

import dev.graft.ops.Dispatch;
import dev.graft.ops.FakeQuantOps;
import dev.graft.ops.QParams;
import dev.graft.ops.QuantOps;
import dev.graft.ops.Tensor;

import java.util.Arrays;
import java.util.Objects;

/**
 * What an observer or fake-quant targets: dtype, scheme, the integer range {@code [quantMin, quantMax]}, eps and
 * (per channel) the axis. It owns the one computation of scale and zero point from a range, and quantizing and
 * fake-quantizing with that range, so an observer, a {@code FakeQuantize} and the converted model cannot disagree
 * about {@code (qmin, qmax, scale, zero point)}. The parameters themselves are the ops layer's {@link QParams}.
 *
 * <p>The range follows PyTorch's {@code calculate_qmin_qmax}: without a custom range, quint8 is [0, 255] ([0, 127]
 * with {@code reduceRange}) and qint8 is [-128, 127] ([-64, 63]); a custom range is halved by floor division when
 * {@code reduceRange} is set. Unlike PyTorch's QAT defaults, there is no second, wider range on a fake-quant: the
 * range here is the one used for training and for the converted model alike.
 *
 * @param customRange whether the range was given explicitly; PyTorch then uses {@code (qmin + qmax) / 2} instead of
 *                    128 as the zero point of symmetric quint8
 * @param axis        the channel axis for per-channel schemes (may be negative, counted from the end); ignored
 *                    per tensor
 */
public record QuantSpec(QDType dtype, QScheme scheme, boolean reduceRange, int quantMin, int quantMax,
                        boolean customRange, float eps, int axis) {

    /** {@code torch.finfo(torch.float32).eps}, PyTorch's default lower bound for scales. */
    public static final float DEFAULT_EPS = Math.ulp(1.0f);

    public QuantSpec {
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(scheme, "scheme");
        if (!(quantMin <= 0 && 0 <= quantMax && quantMin < quantMax)) {
            throw new IllegalArgumentException("quantization range [" + quantMin + ", " + quantMax
                    + "] must contain 0 and have qmin < qmax");
        }
        if (quantMin < dtype.min() || quantMax > dtype.max()) {
            throw new IllegalArgumentException("quantization range [" + quantMin + ", " + quantMax + "] exceeds "
                    + dtype + " [" + dtype.min() + ", " + dtype.max() + "]");
        }
        if (!(eps > 0f) || Float.isInfinite(eps)) {
            throw new IllegalArgumentException("eps must be finite and > 0, got " + eps);
        }
        if (scheme.isSymmetric() && reduceRange && dtype == QDType.QUINT8) {
            // PyTorch refuses this too: symmetric quint8 centres on 128, which a [0, 127] range cannot hold.
            throw new IllegalArgumentException("cannot reduce range for symmetric quint8 quantization");
        }
    }

    /** The default 8-bit range of {@code dtype}, halved by {@code reduceRange}; eps = float32 eps; axis 0. */
    public static QuantSpec of(QDType dtype, QScheme scheme, boolean reduceRange) {
        int min = dtype.min();
        int max = dtype.max();
        if (reduceRange) {
            min = Math.floorDiv(min, 2);
            max = Math.floorDiv(max, 2);
        }
        return new QuantSpec(dtype, scheme, reduceRange, min, max, false, DEFAULT_EPS, 0);
    }

    /**
     * A custom range as PyTorch's {@code quant_min}/{@code quant_max} arguments: halved (floor division) when
     * {@code reduceRange}.
     */
    public static QuantSpec ofRange(QDType dtype, QScheme scheme, boolean reduceRange, int quantMin, int quantMax) {
        int min = reduceRange ? Math.floorDiv(quantMin, 2) : quantMin;
        int max = reduceRange ? Math.floorDiv(quantMax, 2) : quantMax;
        return new QuantSpec(dtype, scheme, reduceRange, min, max, true, DEFAULT_EPS, 0);
    }

    public QuantSpec withEps(float newEps) {
        return new QuantSpec(dtype, scheme, reduceRange, quantMin, quantMax, customRange, newEps, axis);
    }

    public QuantSpec withAxis(int newAxis) {
        return new QuantSpec(dtype, scheme, reduceRange, quantMin, quantMax, customRange, eps, newAxis);
    }

    /**
     * Scales and zero points for one range per channel (length 1 per tensor), with PyTorch 1.13's float32
     * arithmetic ({@code UniformQuantizationObserverBase._calculate_qparams}):
     * <ul>
     *   <li>the range is widened to contain 0: {@code minNeg = min(min, 0)}, {@code maxPos = max(max, 0)};</li>
     *   <li>symmetric: {@code scale = max(-minNeg, maxPos) / ((qmax - qmin) / 2)}, zero point 0 for qint8 and 128
     *       for quint8 ({@code (qmin + qmax) / 2} with a custom range);</li>
     *   <li>affine: {@code scale = (maxPos - minNeg) / (qmax - qmin)},
     *       {@code zp = clamp(qmin - rint(minNeg / scale), qmin, qmax)};</li>
     *   <li>{@code scale = max(scale, eps)} before the zero point is taken.</li>
     * </ul>
     * All steps are single float32 operations, as the float32 tensors in PyTorch compute them. Per channel, the
     * parameters are along {@code resolvedAxis} (the observed tensors' axis, {@link #resolveAxis}); per tensor it is
     * ignored.
     */
    public QParams compute(float[] min, float[] max, int resolvedAxis) {
        if (min.length != max.length || min.length == 0) {
            throw new IllegalArgumentException("compute: " + min.length + " minima and " + max.length + " maxima");
        }
        if (!scheme.isPerChannel() && min.length != 1) {
            throw new IllegalArgumentException("compute: per-tensor scheme " + scheme + " needs one range, got "
                    + min.length);
        }
        int n = min.length;
        float[] scales = new float[n];
        int[] zeroPoints = new int[n];
        for (int c = 0; c < n; c++) {
            if (!(min[c] <= max[c]) || Float.isNaN(min[c]) || Float.isInfinite(min[c]) || Float.isInfinite(max[c])) {
                throw new IllegalArgumentException("compute: invalid range [" + min[c] + ", " + max[c] + "]"
                        + (n > 1 ? " for channel " + c : ""));
            }
            float minNeg = Math.min(min[c], 0f);
            float maxPos = Math.max(max[c], 0f);
            if (scheme.isSymmetric()) {
                float absMax = Math.max(-minNeg, maxPos);
                // (qmax - qmin) / 2 is a Python float (exact here), then the float32 tensor divides by it.
                float half = (float) ((quantMax - quantMin) / 2.0);
                scales[c] = Math.max(absMax / half, eps);
                if (dtype == QDType.QUINT8) {
                    zeroPoints[c] = customRange ? Math.floorDiv(quantMin + quantMax, 2) : 128;
                }
            } else {
                float scale = Math.max((maxPos - minNeg) / (float) (quantMax - quantMin), eps);
                int zp = quantMin - (int) Math.rint(minNeg / scale);
                zeroPoints[c] = Math.max(quantMin, Math.min(quantMax, zp));
                scales[c] = scale;
            }
        }
        return scheme.isPerChannel() ? new QParams.PerChannel(scales, zeroPoints, resolvedAxis)
                : new QParams.PerTensor(scales[0], zeroPoints[0]);
    }

    /** One range, for per-tensor schemes. */
    public QParams compute(float min, float max) {
        return compute(new float[] {min}, new float[] {max}, -1);
    }

    /** {@link #axis} counted from the front of a tensor of rank {@code rank}. */
    public int resolveAxis(int rank) {
        int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) {
            throw new IllegalArgumentException("channel axis " + axis + " out of range for rank " + rank);
        }
        return a;
    }

    // ---------------------------------------------------------------- quantizing with this range

    /**
     * Quantizes a float32 tensor to this spec's dtype with PyTorch's rounding ({@link QuantOps#quantize}), clamping
     * to {@code [quantMin, quantMax]}.
     */
    public Tensor quantize(Tensor x, QParams q) {
        float[] v = x.toFloatArray();
        int[] shape = x.shape();
        float[] scales = q.scales();
        int[] zeroPoints = q.zeroPoints();
        byte[] out = new byte[v.length];
        ChannelIndex ch = channelIndex(q, shape);
        for (int i = 0; i < v.length; i++) {
            int c = ch.of(i);
            out[i] = (byte) QuantOps.quantize(v[i], scales[c], zeroPoints[c], quantMin, quantMax);
        }
        return Tensor.quantized(dtype.storage(), out, shape, q);
    }

    /**
     * Fake quantization, {@code (clamp(zp + rint(x * (1f / s)), qmin, qmax) - zp) * s} elementwise in float32,
     * exactly as PyTorch's {@code fake_quantize_per_tensor_affine} / {@code _per_channel_affine} CPU kernels. It
     * runs the differentiable {@link FakeQuantOps#FAKE_QUANTIZE} through {@link Dispatch}, so autograd records it
     * (straight-through gradient) and a tracer records a node.
     */
    public Tensor fakeQuantize(Tensor x, QParams q) {
        int a = q instanceof QParams.PerChannel pc ? pc.axis() : -1;
        return Dispatch.apply(FakeQuantOps.FAKE_QUANTIZE, x, q.scales(), q.zeroPoints(), a, quantMin, quantMax);
    }

    /**
     * The straight-through estimator: {@code grad} where the unclamped integer {@code zp + rint(x / s)} lies in
     * {@code [qmin, qmax]}, zero elsewhere (PyTorch's cached mask). {@code x} and {@code grad} must have one shape.
     */
    public Tensor fakeQuantizeBackward(Tensor x, Tensor grad, QParams q) {
        if (!Arrays.equals(x.shape(), grad.shape())) {
            throw new IllegalArgumentException("fakeQuantizeBackward: input shape " + Arrays.toString(x.shape())
                    + " but gradient shape " + Arrays.toString(grad.shape()));
        }
        float[] v = x.toFloatArray();
        float[] g = grad.toFloatArray();
        int[] shape = x.shape();
        float[] scales = q.scales();
        int[] zeroPoints = q.zeroPoints();
        float[] out = new float[v.length];
        ChannelIndex ch = channelIndex(q, shape);
        for (int i = 0; i < v.length; i++) {
            int c = ch.of(i);
            out[i] = FakeQuantOps.insideRange(v[i], scales[c], zeroPoints[c], quantMin, quantMax) ? g[i] : 0f;
        }
        return Tensor.wrap(out, shape);
    }

    private static ChannelIndex channelIndex(QParams q, int[] shape) {
        if (!(q instanceof QParams.PerChannel pc)) {
            return i -> 0;
        }
        int a = pc.axis();
        if (a >= shape.length || shape[a] != pc.channels()) {
            throw new IllegalArgumentException("per-channel parameters for " + pc.channels()
                    + " channels applied to a tensor of shape " + Arrays.toString(shape) + " (axis " + a + ")");
        }
        int inner = 1;
        for (int d = a + 1; d < shape.length; d++) {
            inner *= shape[d];
        }
        int innerSize = inner;
        int channels = shape[a];
        return i -> (i / innerSize) % channels;
    }

    @FunctionalInterface
    private interface ChannelIndex {
        int of(int flatIndex);
    }

    @Override
    public String toString() {
        return dtype.name().toLowerCase() + " " + scheme.name().toLowerCase() + " [" + quantMin + ", " + quantMax + "]"
                + (reduceRange ? " reduce_range" : "") + (scheme.isPerChannel() ? " axis=" + axis : "");
    }
}
