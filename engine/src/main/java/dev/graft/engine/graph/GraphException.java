package dev.graft.engine.graph;

import dev.graft.engine.ModuleException;

/** A graph was malformed or misused (lint failures, erasing a used node, running a node that fails). */
public class GraphException extends ModuleException {
    public GraphException(String message) {
        super(message);
    }

    public GraphException(String message, Throwable cause) {
        super(message, cause);
    }
}
