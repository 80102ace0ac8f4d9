package dev.graft.engine.quant.observe;

/**
 * Calibration could not produce quantization parameters: the observer saw NaN or infinite values, or never saw
 * any data at all (a block calibration did not reach). The message names the observer (and its label, which
 * passes set to the module path or node it watches).
 */
public class CalibrationException extends RuntimeException {

    /** What went wrong. */
    public enum Reason {
        /** The calibration data held NaN or +-Inf. */
        NON_FINITE,
        /** {@code calculateQParams} was asked of an observer that never observed a non-empty tensor. */
        NOT_OBSERVED,
        /** Batches disagree with each other or with the observer's configuration (e.g. channel count). */
        SHAPE
    }

    private final Reason reason;
    private final String observer;

    public CalibrationException(Reason reason, String observer, String message) {
        super(observer + ": " + message);
        this.reason = reason;
        this.observer = observer;
    }

    public Reason reason() {
        return reason;
    }

    /** The observer's description (label and configuration). */
    public String observer() {
        return observer;
    }
}
