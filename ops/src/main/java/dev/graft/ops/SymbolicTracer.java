package dev.graft.ops;

/**
 * What a symbolic (traced) tensor reports to. The engine's tracer implements this; ops only call it. A symbolic
 * tensor carries concrete example values (so shapes are concrete and results can be computed during tracing), but
 * refuses to hand them to user code: that would let data decide control flow, which a graph cannot record.
 */
public interface SymbolicTracer {

    /** Records {@code op(args)} as a graph node and returns its symbolic result(s). */
    Object record(Op op, Object[] args);

    /**
     * User code asked a symbolic tensor for data ({@code item()}, a Java boolean, an element, a loop count).
     * Implementations throw their typed trace error; this method does not return normally.
     */
    RuntimeException refuseConcreteAccess(Tensor tensor, String what);

    /** User code read dimension {@code dim} of a symbolic tensor's shape: the traced block now depends on it. */
    void shapeRead(Tensor tensor, int dim);
}
