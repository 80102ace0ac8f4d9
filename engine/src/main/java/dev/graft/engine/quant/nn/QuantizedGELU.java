package dev.graft.engine.quant.nn;

import dev.graft.ops.F;
import dev.graft.ops.Tensor;

/**
 * GELU on quint8 activations as an exact 256-entry lookup table ({@link QuantizedLookupActivation}): a quint8 input
 * takes only 256 values, so {@code table[q] = quantize(gelu(dequantize(q, in)), out)} is the FP32 round trip
 * (dequantize, float GELU, quantize) with nothing lost, at one byte load per element instead of an erf.
 */
public final class QuantizedGELU extends QuantizedLookupActivation {
    private final boolean tanhApproximation;

    /** Exact (erf) GELU, or the tanh approximation, with the given output qparams. */
    public QuantizedGELU(boolean tanhApproximation, float outputScale, int outputZeroPoint) {
        super(outputScale, outputZeroPoint);
        this.tanhApproximation = tanhApproximation;
    }

    public boolean tanhApproximation() {
        return tanhApproximation;
    }

    @Override
    protected Tensor applyFloat(Tensor x) {
        return tanhApproximation ? F.geluTanh(x) : F.gelu(x);
    }

    @Override
    protected String extraRepr() {
        return (tanhApproximation ? "approximate=tanh, " : "") + super.extraRepr();
    }
}
