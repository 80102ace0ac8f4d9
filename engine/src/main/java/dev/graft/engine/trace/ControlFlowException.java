package dev.graft.engine.trace;

/**
 * The traced code asked a symbolic tensor for a concrete value ({@code item()}, a Java boolean, an element, data
 * for a loop count): data-dependent control flow, which a graph cannot record. The partitioner reacts by trying
 * the module's children instead.
 */
public class ControlFlowException extends TraceException {
    private final String operation;

    public ControlFlowException(String modulePath, String operation, String sourceLine) {
        super(modulePath, "data-dependent control flow: " + operation + " on a traced tensor", sourceLine);
        this.operation = operation;
    }

    /** What was asked of the tensor, e.g. {@code item()}. */
    public String operation() {
        return operation;
    }
}
