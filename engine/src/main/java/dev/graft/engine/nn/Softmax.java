package dev.graft.engine.nn;

import dev.graft.engine.Module;
import dev.graft.ops.F;
import dev.graft.ops.Tensor;

/** Softmax along one dimension. */
public class Softmax extends Module {
    private final int dim;

    public Softmax(int dim) {
        this.dim = dim;
    }

    @Override
    protected Tensor forward(Tensor... inputs) {
        return F.softmax(single(inputs), dim);
    }

    public int dim() {
        return dim;
    }

    @Override
    protected String extraRepr() {
        return "dim=" + dim;
    }
}
