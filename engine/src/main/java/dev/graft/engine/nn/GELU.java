package dev.graft.engine.nn;

import dev.graft.engine.Module;
import dev.graft.ops.F;
import dev.graft.ops.Tensor;

/** Gaussian error linear unit: the exact erf form (BERT's), or the tanh approximation. */
public class GELU extends Module {
    private final boolean tanhApproximation;

    public GELU() {
        this(false);
    }

    public GELU(boolean tanhApproximation) {
        this.tanhApproximation = tanhApproximation;
    }

    @Override
    protected Tensor forward(Tensor... inputs) {
        Tensor x = single(inputs);
        return tanhApproximation ? F.geluTanh(x) : F.gelu(x);
    }

    public boolean tanhApproximation() {
        return tanhApproximation;
    }

    @Override
    protected String extraRepr() {
        return tanhApproximation ? "approximate=tanh" : "";
    }
}
