package dev.graft.engine.quant;

import java.util.Arrays;
import java.util.Locale;

/**
 * How a model was (or is to be) quantized. The label is what command lines take and saved files record in their
 * info ({@code "approach": "static"}).
 */
public enum Approach {
    /** Not quantized: an FP32 model saved the same way, for comparison. */
    FP32,
    /** Dynamic post-training quantization: int8 weights, activation qparams chosen per call. */
    DYNAMIC,
    /** Static post-training quantization: activation qparams from calibration. */
    STATIC,
    /** Quantization-aware training, then static convert. */
    QAT;

    /** {@code "fp32"}, {@code "dynamic"}, {@code "static"} or {@code "qat"}. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The approach with this label, or null. */
    public static Approach ofLabel(String label) {
        for (Approach a : values()) {
            if (a.label().equals(label)) {
                return a;
            }
        }
        return null;
    }

    /** The approach with this label; refuses others naming the choices. */
    public static Approach parse(String label) {
        Approach a = ofLabel(label);
        if (a == null) {
            throw new IllegalArgumentException("unknown approach '" + label + "' (choose one of "
                    + Arrays.stream(values()).map(Approach::label).toList() + ")");
        }
        return a;
    }

    @Override
    public String toString() {
        return label();
    }
}
