package dev.graft.engine.graph;

/** A node failed while a graph ran; names the node and its line, keeps the original error as the cause. */
public class GraphExecutionException extends GraphException {
    private final transient Node node;

    public GraphExecutionException(Node node, Throwable cause) {
        super("while executing node " + node.name() + " (" + node.format() + "): " + cause.getMessage(), cause);
        this.node = node;
    }

    public Node node() {
        return node;
    }
}
