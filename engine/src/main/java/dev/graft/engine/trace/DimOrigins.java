package dev.graft.engine.trace;

import dev.graft.engine.Module;
import dev.graft.engine.graph.Guard;
import dev.graft.engine.nn.Dropout;
import dev.graft.engine.nn.Embedding;
import dev.graft.engine.nn.GELU;
import dev.graft.engine.nn.Identity;
import dev.graft.engine.nn.LayerNorm;
import dev.graft.engine.nn.LeakyReLU;
import dev.graft.engine.nn.Linear;
import dev.graft.engine.nn.ReLU;
import dev.graft.engine.nn.SiLU;
import dev.graft.engine.nn.Sigmoid;
import dev.graft.engine.nn.Softmax;
import dev.graft.engine.nn.Tanh;
import dev.graft.ops.Op;
import dev.graft.ops.Tensor;

import java.util.IdentityHashMap;
import java.util.Map;

/**
 * Where each dimension of a traced value comes from, in the manner of torch.export's symbolic dimensions: a
 * dimension of an input ({@code input0.size(1)}, the batch or the sequence), a fixed size (from a weight or a
 * constant, the same whatever the inputs), or unknown. The tracer asks this when the code reads a size: a read of
 * an input-derived dimension guards only that input dimension; a read of a fixed size needs no guard at all; only a
 * read of an unknown dimension makes the trace specialize on every input dimension, as before.
 *
 * <p>The rules are exact, never guesses by value: elementwise operators (broadcasting from the right), and the leaf
 * layers that keep every dimension but the last (Linear: last from its weight; LayerNorm, Dropout and activations:
 * all kept; Embedding: the ids' dimensions, then its width). Every other operator's result is unknown.
 */
final class DimOrigins {
    /** A dimension's origin: an input's dimension, or {@link #FIXED}. Absent from the map: unknown. */
    record Origin(int input, int dim) {
    }

    static final Origin FIXED = new Origin(-1, -1);

    private final Map<Object, Origin[]> byNode = new IdentityHashMap<>();

    void input(Object node, int input, int rank) {
        Origin[] o = new Origin[rank];
        for (int d = 0; d < rank; d++) {
            o[d] = new Origin(input, d);
        }
        byNode.put(node, o);
    }

    /** The origin of {@code t}'s dimension {@code dim}: a concrete tensor (a weight, a constant) is fixed. */
    Origin of(Tensor t, int dim) {
        if (!t.isSymbolic()) {
            return FIXED;
        }
        Origin[] o = byNode.get(t.symbolicNode());
        int d = dim < 0 ? dim + t.dim() : dim;
        return o == null || d < 0 || d >= o.length ? null : o[d];
    }

    /** The guard a read of a dimension of this origin and size needs (null for a fixed or unknown origin). */
    static Guard guardFor(Origin origin, int size) {
        return origin == null || origin == FIXED ? null : new Guard(origin.input(), origin.dim(), size);
    }

    /** Records the origins of an operator's result. */
    void op(Op op, Object[] args, Object resultNode, Tensor result) {
        if (op.kind() != Op.Kind.UNARY && op.kind() != Op.Kind.BINARY && op.kind() != Op.Kind.COMPARISON) {
            return;
        }
        Origin[] out = new Origin[result.dim()];
        for (int k = 0; k < out.length; k++) {
            out[k] = broadcastOrigin(args, result, k);
            if (out[k] == null) {
                return; // one unknown dimension: leave the whole result unknown, the simple safe answer
            }
        }
        byNode.put(resultNode, out);
    }

    /**
     * The origin of result dimension {@code k} under broadcasting: from an argument whose aligned dimension has the
     * result's size (an input-derived one preferred); a size-1 dimension broadcast by a larger one does not count.
     */
    private Origin broadcastOrigin(Object[] args, Tensor result, int k) {
        int size = result.size(k);
        Origin fixed = null;
        for (Object a : args) {
            if (!(a instanceof Tensor t)) {
                continue;
            }
            int d = k - (result.dim() - t.dim());
            if (d < 0 || t.concrete().size(d) != size) { // concrete: reading the symbolic size would guard it
                continue;
            }
            Origin o = of(t, d);
            if (o == null) {
                return null;
            }
            if (o != FIXED) {
                return o;
            }
            fixed = FIXED;
        }
        // Every matching argument was fixed (null when none matched: the size came from elsewhere, unknown).
        return fixed;
    }

    /** Records the origins of a leaf module's result, for the layers whose shape rule is known. */
    void leaf(Module module, Object[] inputs, Object resultNode, Object result) {
        if (!(result instanceof Tensor y) || inputs.length == 0 || !(inputs[0] instanceof Tensor x)) {
            return;
        }
        Origin[] out = new Origin[y.dim()];
        boolean keepsAll = module instanceof LayerNorm || module instanceof Dropout || module instanceof Identity
                || module instanceof ReLU || module instanceof GELU || module instanceof SiLU
                || module instanceof Sigmoid || module instanceof Tanh || module instanceof LeakyReLU
                || module instanceof Softmax;
        if (keepsAll && y.dim() == x.dim()) {
            for (int k = 0; k < out.length; k++) {
                out[k] = of(x, k);
            }
        } else if (module instanceof Linear && y.dim() == x.dim()) {
            for (int k = 0; k < out.length - 1; k++) {
                out[k] = of(x, k);
            }
            out[out.length - 1] = FIXED;
        } else if (module instanceof Embedding && y.dim() == x.dim() + 1) {
            for (int k = 0; k < x.dim(); k++) {
                out[k] = of(x, k);
            }
            out[out.length - 1] = FIXED;
        } else {
            return;
        }
        for (Origin o : out) {
            if (o == null) {
                return;
            }
        }
        byNode.put(resultNode, out);
    }
}
