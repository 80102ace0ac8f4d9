package dev.graft.ops;

/** An operator was given tensors whose shapes do not fit together (or an index out of range). */
public class ShapeException extends TensorException {
    public ShapeException(String message) {
        super(message);
    }
}
