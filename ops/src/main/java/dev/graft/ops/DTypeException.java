package dev.graft.ops;

/** An operator was given a tensor of a dtype it does not accept. */
public class DTypeException extends TensorException {
    public DTypeException(String message) {
        super(message);
    }
}
