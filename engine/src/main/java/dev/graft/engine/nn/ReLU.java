package dev.graft.engine.nn;

import dev.graft.engine.Module;
import dev.graft.ops.F;
import dev.graft.ops.Tensor;

/** Elementwise {@code max(x, 0)}. */
public class ReLU extends Module {
    @Override
    protected Tensor forward(Tensor... inputs) {
        return F.relu(single(inputs));
    }
}
