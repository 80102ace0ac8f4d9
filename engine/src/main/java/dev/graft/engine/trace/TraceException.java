package dev.graft.engine.trace;

import dev.graft.engine.ModuleException;

/**
 * Tracing a module failed. Carries the module path being traced when it happened and the user's source line
 * (the first stack frame outside Graft's own packages), so a person can see which line of their model stopped it.
 */
public class TraceException extends ModuleException {
    private final String modulePath;
    private final String sourceLine;
    private final String problem;

    public TraceException(String modulePath, String problem, String sourceLine) {
        super(format(modulePath, problem, sourceLine));
        this.modulePath = modulePath;
        this.sourceLine = sourceLine;
        this.problem = problem;
    }

    /** Dotted path of the module whose code was running, relative to the traced root ("" for the root). */
    public String modulePath() {
        return modulePath;
    }

    /** {@code File.java:123 (Class.method)} of the user's code, or "unknown". */
    public String sourceLine() {
        return sourceLine;
    }

    /** The problem without the location (for reports). */
    public String problem() {
        return problem;
    }

    private static String format(String modulePath, String problem, String sourceLine) {
        return "trace of '" + (modulePath.isEmpty() ? "<root>" : modulePath) + "': " + problem + " at " + sourceLine;
    }
}
