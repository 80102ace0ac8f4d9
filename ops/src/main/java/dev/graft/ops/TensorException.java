package dev.graft.ops;

/**
 * Root of Graft's unchecked exceptions about tensors and operators. Messages name the operator, the shapes and
 * dtypes involved, so a user can find the call that was wrong.
 */
public class TensorException extends RuntimeException {
    public TensorException(String message) {
        super(message);
    }

    public TensorException(String message, Throwable cause) {
        super(message, cause);
    }
}
