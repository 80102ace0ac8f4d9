package dev.graft.engine.nn;

import dev.graft.engine.Module;
import dev.graft.ops.F;
import dev.graft.ops.Tensor;

/** Elementwise hyperbolic tangent. */
public class Tanh extends Module {
    @Override
    protected Tensor forward(Tensor... inputs) {
        return F.tanh(single(inputs));
    }
}
