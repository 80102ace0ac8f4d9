package dev.graft.engine.graph;

import dev.graft.ops.Op;
import dev.graft.ops.Tensor;

/** Operators that exist only in graphs. */
public final class GraphOps {
    private GraphOps() {
    }

    /** {@code getitem(values, index)}: one tensor of a multi-output node (split, a leaf returning Tensor[]). */
    public static final Op GET_ITEM = new Op("getitem", Op.Kind.MOVEMENT) {
        @Override
        protected Object compute(Object[] args) {
            if (!(args[0] instanceof Tensor[] values)) {
                throw new GraphException("getitem: expected a Tensor[] value, got "
                        + (args[0] == null ? "null" : args[0].getClass().getSimpleName()));
            }
            int i = intArg(args, 1);
            if (i < 0 || i >= values.length) {
                throw new GraphException("getitem: index " + i + " out of range for " + values.length + " values");
            }
            return values[i];
        }
    };
}
