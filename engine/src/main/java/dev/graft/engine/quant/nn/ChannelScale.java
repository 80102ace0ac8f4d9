package dev.graft.engine.quant.nn;

import dev.graft.engine.Module;
import dev.graft.engine.save.Savable;
import dev.graft.engine.save.SavedConfig;
import dev.graft.ops.Tensor;

import java.util.Map;

/**
 * {@code x * scale} over the last dimension, one factor per channel: the division SmoothQuant puts before a Linear
 * whose input it cannot fold into a preceding layer (the input also feeds a residual add, or comes from GELU). The
 * Linear's weight columns were multiplied by the inverse factors, so the pair computes what the Linear alone did.
 * It runs in FP32; the INT8 Linear after it quantizes its (now evenly ranged) output per tensor.
 */
public final class ChannelScale extends Module implements Savable {
    private final Tensor scale;

    /** Multiplies channel {@code j} by {@code factors[j]} (copied). */
    public ChannelScale(float[] factors) {
        if (factors.length == 0) {
            throw new IllegalArgumentException("ChannelScale: no channels");
        }
        for (int j = 0; j < factors.length; j++) {
            if (!Float.isFinite(factors[j]) || factors[j] == 0f) {
                throw new IllegalArgumentException("ChannelScale: factor " + j + " is " + factors[j]
                        + " (must be finite and non-zero)");
            }
        }
        scale = registerBuffer("scale", Tensor.of(factors.clone(), factors.length));
    }

    public int channels() {
        return scale.size(0);
    }

    /** The factors (a copy). */
    public float[] factors() {
        return scale.toFloatArray();
    }

    @Override
    protected Tensor forward(Tensor... inputs) {
        Tensor x = single(inputs);
        if (x.dim() == 0 || x.size(x.dim() - 1) != channels()) {
            throw new IllegalArgumentException("ChannelScale: input's last dimension is "
                    + (x.dim() == 0 ? "absent" : x.size(x.dim() - 1)) + ", expected " + channels());
        }
        return x.mul(scale);
    }

    @Override
    public Map<String, Object> saveConfig() {
        return Map.of("channels", channels());
    }

    /** Rebuilds the module; its factors are then loaded from the saved tensors. */
    public static ChannelScale fromConfig(SavedConfig c) {
        int channels = c.getInt("channels");
        if (channels <= 0 || channels > (1 << 24)) {
            throw new IllegalArgumentException("ChannelScale: channels " + channels + " out of range");
        }
        float[] ones = new float[channels];
        java.util.Arrays.fill(ones, 1f);
        return new ChannelScale(ones);
    }

    @Override
    protected String extraRepr() {
        return "channels=" + channels();
    }
}
