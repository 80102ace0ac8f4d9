package dev.graft.engine.quant;

import dev.graft.ops.Dispatch;
import dev.graft.ops.FakeQuantOps;
import dev.graft.ops.QParams;
import dev.graft.ops.QuantOps;
import dev.graft.ops.Tensor;

import java.util.Arrays;
import java.util.Objects;

/**
 * Scales and zero points an observer settled on, together with the integer range they are meant for. The
 * quantize, fake-quantize and STE helpers here all clamp to {@code [qmin, qmax]} of this record (not to the dtype's
 * full range), so a QAT forward and the converted model that both start from the same record agree bit for bit.
 *
 * @param scales     one float32 scale per channel, or one for per-tensor schemes
 * @param zeroPoints one zero point per scale
 * @param axis       the channel axis for per-channel schemes (possibly negative, from the end); -1 per tensor
 */
public record QuantizationParams(float[] scales, int[] zeroPoints, int qmin, int qmax, QDType dtype, QScheme scheme,
                                 int axis) {

    public QuantizationParams {
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(scheme, "scheme");
        if (scales.length != zeroPoints.length || scales.length == 0) {
            throw new IllegalArgumentException(scales.length + " scales but " + zeroPoints.length + " zero points");
        }
        scales = scales.clone();
        zeroPoints = zeroPoints.clone();
    }

    public boolean isPerChannel() {
        return scheme.isPerChannel();
    }

    public int channels() {
        return scales.length;
    }

    @Override
    public float[] scales() {
        return scales.clone();
    }

    @Override
    public int[] zeroPoints() {
        return zeroPoints.clone();
    }

    /** The per-tensor scale (refused for per-channel parameters). */
    public float scale() {
        requirePerTensor("scale()");
        return scales[0];
    }

    /** The per-tensor zero point (refused for per-channel parameters). */
    public int zeroPoint() {
        requirePerTensor("zeroPoint()");
        return zeroPoints[0];
    }

    public float scale(int channel) {
        return scales[channel];
    }

    public int zeroPoint(int channel) {
        return zeroPoints[channel];
    }

    private void requirePerTensor(String what) {
        if (isPerChannel()) {
            throw new IllegalStateException(what + " of per-channel parameters (" + scales.length
                    + " channels); use scales()/scale(channel)");
        }
    }

    /** As the ops layer's {@link QParams}, resolving a negative axis against a tensor of rank {@code rank}. */
    public QParams toQParams(int rank) {
        if (!isPerChannel()) {
            return new QParams.PerTensor(scales[0], zeroPoints[0]);
        }
        return new QParams.PerChannel(scales, zeroPoints, resolveAxis(rank));
    }

    private int resolveAxis(int rank) {
        int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) {
            throw new IllegalArgumentException("channel axis " + axis + " out of range for rank " + rank);
        }
        return a;
    }

    /**
     * Quantizes a float32 tensor to this record's dtype with PyTorch's rounding ({@link QuantOps#quantize}),
     * clamping to {@code [qmin, qmax]}.
     */
    public Tensor quantize(Tensor x) {
        float[] v = x.toFloatArray();
        int[] shape = x.shape();
        byte[] out = new byte[v.length];
        ChannelIndex ch = channelIndex(shape);
        for (int i = 0; i < v.length; i++) {
            int c = ch.of(i);
            out[i] = (byte) QuantOps.quantize(v[i], scales[c], zeroPoints[c], qmin, qmax);
        }
        return Tensor.quantized(dtype.storage(), out, shape, toQParams(shape.length));
    }

    /**
     * Fake quantization, {@code (clamp(zp + rint(x * (1f / s)), qmin, qmax) - zp) * s} elementwise in float32,
     * exactly as PyTorch's {@code fake_quantize_per_tensor_affine} / {@code _per_channel_affine} CPU kernels. It
     * runs the differentiable {@link FakeQuantOps#FAKE_QUANTIZE} through {@link Dispatch}, so autograd records it
     * (straight-through gradient) and a tracer records a node.
     */
    public Tensor fakeQuantize(Tensor x) {
        int a = isPerChannel() ? resolveAxis(x.shape().length) : -1;
        return Dispatch.apply(FakeQuantOps.FAKE_QUANTIZE, x, scales, zeroPoints, a, qmin, qmax);
    }

    /**
     * The straight-through estimator: {@code grad} where the unclamped integer {@code zp + rint(x / s)} lies in
     * {@code [qmin, qmax]}, zero elsewhere (PyTorch's cached mask). {@code x} and {@code grad} must have one shape.
     */
    public Tensor fakeQuantizeBackward(Tensor x, Tensor grad) {
        if (!Arrays.equals(x.shape(), grad.shape())) {
            throw new IllegalArgumentException("fakeQuantizeBackward: input shape " + Arrays.toString(x.shape())
                    + " but gradient shape " + Arrays.toString(grad.shape()));
        }
        float[] v = x.toFloatArray();
        float[] g = grad.toFloatArray();
        int[] shape = x.shape();
        float[] out = new float[v.length];
        ChannelIndex ch = channelIndex(shape);
        for (int i = 0; i < v.length; i++) {
            int c = ch.of(i);
            out[i] = FakeQuantOps.insideRange(v[i], scales[c], zeroPoints[c], qmin, qmax) ? g[i] : 0f;
        }
        return Tensor.wrap(out, shape);
    }

    private ChannelIndex channelIndex(int[] shape) {
        if (!isPerChannel()) {
            return i -> 0;
        }
        int a = resolveAxis(shape.length);
        if (shape[a] != scales.length) {
            throw new IllegalArgumentException("per-channel parameters for " + scales.length
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
    public boolean equals(Object o) {
        return o instanceof QuantizationParams p && qmin == p.qmin && qmax == p.qmax && axis == p.axis
                && dtype == p.dtype && scheme == p.scheme && Arrays.equals(scales, p.scales)
                && Arrays.equals(zeroPoints, p.zeroPoints);
    }

    @Override
    public int hashCode() {
        return Objects.hash(Arrays.hashCode(scales), Arrays.hashCode(zeroPoints), qmin, qmax, dtype, scheme, axis);
    }

    @Override
    public String toString() {
        return "QuantizationParams[" + dtype.name().toLowerCase() + " " + scheme.name().toLowerCase() + " [" + qmin
                + ", " + qmax + "]" + (isPerChannel() ? " axis=" + axis + " scales=" + Arrays.toString(scales)
                + " zeroPoints=" + Arrays.toString(zeroPoints) : " scale=" + scales[0] + " zeroPoint=" + zeroPoints[0])
                + "]";
    }
}
