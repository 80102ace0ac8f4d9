package dev.graft.engine.nn;

import dev.graft.engine.Module;
import dev.graft.ops.F;
import dev.graft.ops.Tensor;

/** Elementwise {@code x * sigmoid(x)} (swish). */
public class SiLU extends Module {
    @Override
    protected Tensor forward(Tensor... inputs) {
        return F.silu(single(inputs));
    }
}
