package dev.graft.engine.quant.nn;

import dev.graft.ops.DType;
import dev.graft.ops.DTypeException;
import dev.graft.ops.QParams;
import dev.graft.ops.Tensor;

import java.util.Arrays;
import java.util.Locale;

/** Quantization of float weights for the quantized modules, and reading the qparams of an int8 weight back. */
final class QuantizedWeights {

    private QuantizedWeights() {
    }

    /**
     * {@code weight} quantized to qint8 along axis 0 (output channels, or embedding rows): per channel when
     * {@code scales} has one entry per row, per tensor when it has one. {@code zeroPoints} null means all zero
     * (symmetric, PyTorch's default for weights).
     */
    static Tensor quantize(String who, Tensor weight, float[] scales, int[] zeroPoints) {
        if (weight.dtype() != DType.FLOAT32) {
            throw new DTypeException(who + ": float weight expected, got " + weight.dtype());
        }
        int[] zps = zeroPoints == null ? new int[scales.length] : zeroPoints;
        if (zps.length != scales.length) {
            throw new IllegalArgumentException(who + ": " + scales.length + " weight scales but " + zps.length
                    + " zero points");
        }
        Tensor w = weight.concrete();
        if (scales.length == 1) {
            return w.quantize(scales[0], zps[0], DType.INT8);
        }
        if (scales.length != w.size(0)) {
            throw new IllegalArgumentException(who + ": " + scales.length + " weight scales for " + w.size(0)
                    + " output channels (need one per channel, or one)");
        }
        return w.quantizePerChannel(scales, zps, 0, DType.INT8);
    }

    /** Checks that {@code q} is a qint8 weight quantized per tensor or per channel along axis 0. */
    static void requireInt8Weight(String who, Tensor q) {
        boolean ok = q.dtype() == DType.INT8 && (q.qparams() instanceof QParams.PerTensor
                || q.qparams() instanceof QParams.PerChannel pc && pc.axis() == 0);
        if (!ok) {
            throw new DTypeException(who + ": weight must be qint8 quantized per tensor or per channel along axis 0,"
                    + " got " + q.dtype() + " with " + q.qparams());
        }
    }

    /** The scales of a qint8 weight: one per channel, or the single per-tensor scale. */
    static float[] scales(Tensor q) {
        return switch (q.qparams()) {
            case QParams.PerTensor pt -> new float[] {pt.scale()};
            case QParams.PerChannel pc -> pc.scales();
        };
    }

    static int[] zeroPoints(Tensor q) {
        return switch (q.qparams()) {
            case QParams.PerTensor pt -> new int[] {pt.zeroPoint()};
            case QParams.PerChannel pc -> pc.zeroPoints();
        };
    }

    /** The float bias as an array, or null. */
    static float[] bias(String who, Tensor bias, int channels) {
        if (bias == null) {
            return null;
        }
        if (bias.dtype() != DType.FLOAT32 || bias.numel() != channels) {
            throw new IllegalArgumentException(who + ": bias must be float32 with " + channels + " values, got "
                    + bias.dtype() + " " + Arrays.toString(bias.shape()));
        }
        return bias.concrete().toFloatArray();
    }

    /** "scale=0.02, zero_point=3" or "scales=[0.01, 0.02, ... 64 channels], zero_points=0". */
    static String describeWeight(Tensor q) {
        float[] s = scales(q);
        int[] z = zeroPoints(q);
        if (s.length == 1) {
            return "weight_scale=" + s[0] + ", weight_zero_point=" + z[0];
        }
        StringBuilder sb = new StringBuilder("weight_scales=[");
        for (int i = 0; i < Math.min(3, s.length); i++) {
            sb.append(i > 0 ? ", " : "").append(String.format(Locale.ROOT, "%.4g", s[i]));
        }
        sb.append(s.length > 3 ? ", ... " + s.length + " channels]" : "]");
        boolean allZero = Arrays.stream(z).allMatch(v -> v == 0);
        return sb.append(", weight_zero_points=").append(allZero ? "0" : Arrays.toString(z)).toString();
    }

    static void checkOutput(String who, float scale, int zeroPoint) {
        if (!(scale > 0f) || Float.isInfinite(scale)) {
            throw new IllegalArgumentException(who + ": output scale must be finite and > 0, got " + scale);
        }
        if (zeroPoint < 0 || zeroPoint > 255) {
            throw new IllegalArgumentException(who + ": output zero point " + zeroPoint + " is outside [0, 255]");
        }
    }
}
