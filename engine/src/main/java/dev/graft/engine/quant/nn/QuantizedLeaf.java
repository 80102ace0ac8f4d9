package dev.graft.engine.quant.nn;

import dev.graft.engine.LeafModule;
import dev.graft.engine.Module;
import dev.graft.ops.DType;
import dev.graft.ops.Tensor;

/**
 * The module static convert puts in place of an FP32 layer: an INT8 layer ({@code QuantizedLinear},
 * {@code QuantizedConv2d}, {@code QuantizedLayerNorm}, {@code QuantizedGELU}, {@code QuantizedSoftmax}) plus the
 * calibrated qparams of its input.
 *
 * <p>Fed a quint8 tensor (as the converted graph does) it is exactly the INT8 layer: quint8 in, quint8 out. Fed a
 * float tensor it quantizes with the calibrated input qparams, runs INT8 and dequantizes: a drop-in for the FP32
 * layer. That second form is what keeps re-tracing working: replacing a nested module also replaces it in the
 * block's source module (they share the subtree), and a re-trace for new shapes runs every leaf eagerly on float
 * example inputs to learn output shapes.
 */
public final class QuantizedLeaf extends Module implements LeafModule {
    private final Module int8;
    private final float inputScale;
    private final int inputZeroPoint;

    public QuantizedLeaf(Module int8, float inputScale, int inputZeroPoint) {
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
        if (x.isQuantized()) {
            return int8.call(x);
        }
        return int8.call(x.quantize(inputScale, inputZeroPoint, DType.UINT8)).dequantize();
    }

    @Override
    protected String extraRepr() {
        return "input scale=" + inputScale + ", zero_point=" + inputZeroPoint;
    }
}
