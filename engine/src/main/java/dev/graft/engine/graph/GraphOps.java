package dev.graft.engine.graph;

import dev.graft.ops.Op;
import dev.graft.ops.OpRegistry;
import dev.graft.ops.Tensor;

/**
 * Operators that exist only in graphs, and the lookup of any operator by the name a saved graph gives it: these
 * first, then the ops layer's {@link OpRegistry}. Asking here, not the registry, is what makes a graph-only operator
 * findable; nothing has to have registered it first.
 */
public final class GraphOps {
    private GraphOps() {
    }

    /** The operator named {@code name}: a graph-only one, else a registered one; null when there is none. */
    public static Op byName(String name) {
        return name.equals(GET_ITEM.name()) ? GET_ITEM : OpRegistry.find(name);
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
