package dev.graft.engine.quant.nn;

import dev.graft.ops.F;
import dev.graft.ops.Tensor;

/**
 * {@code leaky_relu(x, negativeSlope)} on quint8 activations as an exact lookup table
 * ({@link QuantizedLookupActivation}), with its own output qparams (PyTorch's {@code quantized::leaky_relu} also
 * requantizes to observed output qparams; the table gives the float round trip exactly instead of its integer
 * approximation).
 */
public final class QuantizedLeakyReLU extends QuantizedLookupActivation {
    private final float negativeSlope;

    public QuantizedLeakyReLU(float negativeSlope, float outputScale, int outputZeroPoint) {
        super(outputScale, outputZeroPoint);
        this.negativeSlope = negativeSlope;
    }

    public float negativeSlope() {
        return negativeSlope;
    }

    @Override
    protected Tensor applyFloat(Tensor x) {
        return F.leakyRelu(x, negativeSlope);
    }

    @Override
    protected String extraRepr() {
        return "negative_slope=" + negativeSlope + ", " + super.extraRepr();
    }
}
