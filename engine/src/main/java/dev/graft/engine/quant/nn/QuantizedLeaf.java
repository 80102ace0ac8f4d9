package dev.graft.engine.quant.nn;

import dev.graft.engine.LeafModule;
import dev.graft.engine.Module;
import dev.graft.engine.ModuleException;
import dev.graft.ops.Tensor;

/**
 * The module static convert puts in place of an FP32 layer: the INT8 layer its rule makes ({@code QuantizedLinear},
 * {@code QuantizedConv2d}, {@code QuantizedGELU}, ...) plus the calibrated qparams of its input, which the converted
 * graph quantizes to right before the call. Quint8 in, quint8 out: a re-trace computes its examples with the FP32
 * layer the block was traced with, so nothing ever feeds this a float tensor.
 */
public final class QuantizedLeaf extends Module implements LeafModule {
    private final Module int8;
    private final float inputScale;
    private final int inputZeroPoint;

    public QuantizedLeaf(Module int8, float inputScale, int inputZeroPoint) {
        if (!(inputScale > 0f) || Float.isInfinite(inputScale)) {
            throw new IllegalArgumentException("QuantizedLeaf: input scale must be finite and > 0, got " + inputScale);
        }
        if (inputZeroPoint < -128 || inputZeroPoint > 255) {     // quint8 or qint8 activations
            throw new IllegalArgumentException("QuantizedLeaf: input zero point " + inputZeroPoint
                    + " is outside [-128, 255]");
        }
        this.int8 = registerModule("int8", int8);
        this.inputScale = inputScale;
        this.inputZeroPoint = inputZeroPoint;
    }

    /** The INT8 layer. */
    public Module int8() {
        return int8;
    }

    public float inputScale() {
        return inputScale;
    }

    public int inputZeroPoint() {
        return inputZeroPoint;
    }

    @Override
    protected Tensor forward(Tensor... inputs) {
        Tensor x = single(inputs);
        if (!x.isQuantized()) {
            throw new ModuleException("QuantizedLeaf(" + int8.getClass().getSimpleName() + "): expects the quint8"
                    + " tensor its graph quantizes (scale " + inputScale + ", zero point " + inputZeroPoint + "), got "
                    + x.dtype() + "; call the traced block, not the INT8 layer inside it");
        }
        return int8.call(x);
    }

    @Override
    protected String extraRepr() {
        return "input scale=" + inputScale + ", zero_point=" + inputZeroPoint;
    }
}
