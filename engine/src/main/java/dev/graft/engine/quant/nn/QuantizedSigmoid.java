package dev.graft.engine.quant.nn;

import dev.graft.ops.F;
import dev.graft.ops.Tensor;

/**
 * {@code sigmoid} on quint8 activations as an exact lookup table ({@link QuantizedLookupActivation}). Static convert
 * gives it PyTorch's fixed output qparams for sigmoid, scale {@code 1/256} and zero point 0 ({@link #FIXED_SCALE}):
 * the output range (0, 1) is known, so it needs no observer.
 */
public final class QuantizedSigmoid extends QuantizedLookupActivation {
    /** PyTorch's fixed quint8 output scale of sigmoid (zero point 0). */
    public static final float FIXED_SCALE = 1f / 256f;

    /** With the fixed output qparams (1/256, 0). */
    public QuantizedSigmoid() {
        this(FIXED_SCALE, 0);
    }

    public QuantizedSigmoid(float outputScale, int outputZeroPoint) {
        super(outputScale, outputZeroPoint);
    }

    @Override
    protected Tensor applyFloat(Tensor x) {
        return F.sigmoid(x);
    }
}
