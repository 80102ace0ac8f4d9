package dev.graft.engine.autograd;

import dev.graft.ops.Op;
import dev.graft.ops.Tensor;

/**
 * One recorded op call on the tape: the op, its arguments (kept alive for the backward rule) and its result. Linked
 * from the result through {@link Tensor#gradFn()}; its inputs are the tensors among the arguments, whose own
 * {@code gradFn} (or leaf status) continues the graph.
 */
final class Node {
    final Op op;
    final Object[] args;
    final Tensor result;
    /** Sequence number: the order ops ran in, which a reverse pass over a topological order respects. */
    final long sequence;

    Node(Op op, Object[] args, Tensor result, long sequence) {
        this.op = op;
        this.args = args;
        this.result = result;
        this.sequence = sequence;
    }

    @Override
    public String toString() {
        return op.name() + "#" + sequence;
    }
}
