package dev.graft.engine.quant.nn;

import dev.graft.engine.LeafModule;
import dev.graft.engine.Module;
import dev.graft.engine.nn.Conv2d;
import dev.graft.engine.nn.Linear;
import dev.graft.ops.F;
import dev.graft.ops.Tensor;

/**
 * A Conv2d or Linear followed by ReLU, as one leaf (PyTorch's {@code ConvReLU2d} / {@code LinearReLU}): FP32
 * semantics {@code relu(layer(x))} until convert replaces it by the quantized layer with ReLU fused into the
 * requantization clamp. The layer stays registered as child {@code layer} so its weights keep their place in the
 * state dict.
 */
public final class FusedReLU extends Module implements LeafModule {
    private final Module layer;

    public FusedReLU(Module layer) {
        if (!(layer instanceof Conv2d) && !(layer instanceof Linear) && !(layer instanceof ConvBn2d)) {
            throw new IllegalArgumentException("FusedReLU: fuses Conv2d, ConvBn2d or Linear, got " + layer.getClass().getSimpleName());
        }
        this.layer = registerModule("layer", layer);
    }

    /** The Conv2d or Linear (BatchNorm already folded in, if there was one), or a {@link ConvBn2d}. */
    public Module layer() {
        return layer;
    }

    @Override
    protected Tensor forward(Tensor... inputs) {
        return F.relu(layer.call(single(inputs)));
    }
}
