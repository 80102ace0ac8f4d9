package dev.graft.engine;

import dev.graft.ops.Tensor;

/**
 * A parent's handle on one of its named children. It calls whatever module occupies that slot <em>now</em>, so
 * the partitioner can replace the child (by a traced or quantized block) without touching the parent's code:
 * <pre>{@code
 * private final Submodule query = submodule("query", new Linear(384, 384));
 * ...
 * Tensor q = query.call(hidden);
 * }</pre>
 */
public final class Submodule {
    private final Module parent;
    private final String name;

    Submodule(Module parent, String name) {
        this.parent = parent;
        this.name = name;
    }

    /** Calls the current occupant with tensor inputs; it must return one tensor. */
    public Tensor call(Tensor... inputs) {
        return get().call(inputs);
    }

    /** Calls the current occupant with any inputs (tensors, arrays of tensors, null, other values). */
    public Object callAny(Object... inputs) {
        return get().callAny(inputs);
    }

    /** The module in this slot now. */
    public Module get() {
        return parent.child(name);
    }

    public String name() {
        return name;
    }

    @Override
    public String toString() {
        return "Submodule[" + name + " -> " + get().getClass().getSimpleName() + "]";
    }
}
