package dev.graft.engine.nn;

import dev.graft.engine.Module;
import dev.graft.ops.Tensor;

/** Returns its input unchanged (a placeholder slot, e.g. for a removed BatchNorm after fusion). */
public class Identity extends Module {
    @Override
    protected Tensor forward(Tensor... inputs) {
        return single(inputs);
    }
}
