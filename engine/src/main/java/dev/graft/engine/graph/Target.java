package dev.graft.engine.graph;

import dev.graft.ops.Op;

import java.util.Objects;

/** What a node refers to: typed, never a free string that might name nothing. */
public sealed interface Target {

    NodeKind kind();

    /** A graph input, by name. */
    record Input(String name) implements Target {
        public Input {
            Objects.requireNonNull(name);
        }

        @Override
        public NodeKind kind() {
            return NodeKind.PLACEHOLDER;
        }

        @Override
        public String toString() {
            return name;
        }
    }

    /** A parameter, buffer or constant by dotted path relative to the owning module. */
    record Attr(String path) implements Target {
        public Attr {
            Objects.requireNonNull(path);
        }

        @Override
        public NodeKind kind() {
            return NodeKind.GET_ATTR;
        }

        @Override
        public String toString() {
            return path;
        }
    }

    /** A submodule by dotted path relative to the owning module. */
    record ModuleCall(String path) implements Target {
        public ModuleCall {
            Objects.requireNonNull(path);
        }

        @Override
        public NodeKind kind() {
            return NodeKind.CALL_MODULE;
        }

        @Override
        public String toString() {
            return path;
        }
    }

    /** An operator object. */
    record Function(Op op) implements Target {
        public Function {
            Objects.requireNonNull(op);
        }

        @Override
        public NodeKind kind() {
            return NodeKind.CALL_FUNCTION;
        }

        @Override
        public String toString() {
            return op.name();
        }
    }

    /** The graph's output. */
    record Output() implements Target {
        @Override
        public NodeKind kind() {
            return NodeKind.OUTPUT;
        }

        @Override
        public String toString() {
            return "output";
        }
    }
}
