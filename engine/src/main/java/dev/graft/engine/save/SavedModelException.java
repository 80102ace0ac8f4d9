package dev.graft.engine.save;

/**
 * A saved model that cannot be written or read back: names what is wrong and where (block path, graph, node,
 * module, tensor), for example {@code blocks["encoder.layer.0"].graph[0].node "add_3": unknown operator 'addd'}.
 */
public class SavedModelException extends RuntimeException {
    private final String where;

    public SavedModelException(String where, String problem) {
        super(where.isEmpty() ? problem : where + ": " + problem);
        this.where = where;
    }

    public SavedModelException(String where, String problem, Throwable cause) {
        super(where.isEmpty() ? problem : where + ": " + problem, cause);
        this.where = where;
    }

    /** The location inside the saved model ("" for the whole file). */
    public String where() {
        return where;
    }
}
