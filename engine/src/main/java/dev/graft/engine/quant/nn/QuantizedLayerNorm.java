package dev.graft.engine.quant.nn;

import dev.graft.engine.LeafModule;
import dev.graft.engine.Module;
import dev.graft.engine.nn.LayerNorm;
import dev.graft.ops.DType;
import dev.graft.ops.F;
import dev.graft.ops.QuantizedOps;
import dev.graft.ops.Tensor;

import java.util.Arrays;

/**
 * Quantized layer norm (PyTorch {@code nn.quantized.LayerNorm}): quint8 in, quint8 out with fixed output qparams,
 * float32 weight and bias. PyTorch's kernel dequantizes each row, normalizes in float and quantizes the result; here
 * the middle step is exactly Graft's float {@link F#layerNorm}, so
 * {@code out = quantize(layer_norm(dequantize(x)), outputScale, outputZeroPoint)} with {@code QuantOps}'s rounding.
 * The statistics are not integer arithmetic in either engine, so this block matches the FP32 path of Graft bit for
 * bit, and PyTorch to within the float rounding of the mean and variance (at most one output step).
 */
public final class QuantizedLayerNorm extends Module implements LeafModule {

    private final int[] normalizedShape;
    private final Tensor weight;
    private final Tensor bias;
    private final float eps;
    private final float outputScale;
    private final int outputZeroPoint;

    /** {@code weight} and {@code bias} float32 of {@code normalizedShape}, or null. */
    public QuantizedLayerNorm(int[] normalizedShape, Tensor weight, Tensor bias, float eps, float outputScale,
                              int outputZeroPoint) {
        QuantizedWeights.checkOutput("QuantizedLayerNorm", outputScale, outputZeroPoint);
        this.normalizedShape = normalizedShape.clone();
        this.weight = weight == null ? null : weight.concrete();
        this.bias = bias == null ? null : bias.concrete();
        this.eps = eps;
        this.outputScale = outputScale;
        this.outputZeroPoint = outputZeroPoint;
    }

    /** The float layer norm's shape, eps, weight and bias with the given output qparams. */
    public static QuantizedLayerNorm fromFloat(LayerNorm norm, float outputScale, int outputZeroPoint) {
        return new QuantizedLayerNorm(norm.normalizedShape(), norm.weight(), norm.bias(), norm.eps(), outputScale,
                outputZeroPoint);
    }

    @Override
    protected Tensor forward(Tensor... inputs) {
        Tensor x = single(inputs);
        QuantizedOps.requireQuint8("QuantizedLayerNorm", x, "input");
        Tensor y = F.layerNorm(x.dequantize(), normalizedShape, weight, bias, eps);
        return y.quantize(outputScale, outputZeroPoint, DType.UINT8);
    }

    public int[] normalizedShape() {
        return normalizedShape.clone();
    }

    /** The float weight, or null. */
    public Tensor weight() {
        return weight;
    }

    /** The float bias, or null. */
    public Tensor bias() {
        return bias;
    }

    public float eps() {
        return eps;
    }

    public float outputScale() {
        return outputScale;
    }

    public int outputZeroPoint() {
        return outputZeroPoint;
    }

    @Override
    protected String extraRepr() {
        return Arrays.toString(normalizedShape) + ", eps=" + eps + ", scale=" + outputScale + ", zero_point="
                + outputZeroPoint;
    }
}
