package dev.graft.engine.nn;

import dev.graft.engine.Module;
import dev.graft.ops.F;
import dev.graft.ops.Tensor;

/** Elementwise {@code 1 / (1 + exp(-x))}. */
public class Sigmoid extends Module {
    @Override
    protected Tensor forward(Tensor... inputs) {
        return F.sigmoid(single(inputs));
    }
}
