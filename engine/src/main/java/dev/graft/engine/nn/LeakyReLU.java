package dev.graft.engine.nn;

import dev.graft.engine.Module;
import dev.graft.ops.F;
import dev.graft.ops.Tensor;

/** {@code x >= 0 ? x : slope * x}. */
public class LeakyReLU extends Module {
    private final float negativeSlope;

    public LeakyReLU() {
        this(0.01f);
    }

    public LeakyReLU(float negativeSlope) {
        this.negativeSlope = negativeSlope;
    }

    @Override
    protected Tensor forward(Tensor... inputs) {
        return F.leakyRelu(single(inputs), negativeSlope);
    }

    public float negativeSlope() {
        return negativeSlope;
    }

    @Override
    protected String extraRepr() {
        return "negative_slope=" + negativeSlope;
    }
}
