package dev.graft.engine.graph;

/** What a node does, as in torch.fx. Derived from the node's {@link Target}, so the two never disagree. */
public enum NodeKind {
    /** An input of the graph. */
    PLACEHOLDER,
    /** Reads a parameter, buffer or traced constant of the owning module. */
    GET_ATTR,
    /** Calls a submodule (a leaf layer such as Linear). */
    CALL_MODULE,
    /** Calls an operator. */
    CALL_FUNCTION,
    /** The graph's result. */
    OUTPUT;

    /** The lower-case name used in printing ("call_function"). */
    public String display() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
