package dev.graft.engine.quant.nn;

import dev.graft.engine.LeafModule;
import dev.graft.engine.Module;
import dev.graft.engine.nn.Linear;
import dev.graft.kernels.Int8Gemm;
import dev.graft.kernels.Activation;
import dev.graft.kernels.DynamicQuantization;
import dev.graft.kernels.Kernels;
import dev.graft.kernels.PackedInt8Weights;
import dev.graft.ops.QParams;
import dev.graft.ops.QuantizedOps;
import dev.graft.ops.Tensor;

import java.util.Arrays;

/**
 * A static INT8 linear layer whose output stays float: quint8 input with calibrated qparams, qint8 weights, exact
 * int32 sums, then the GEMM's float output stage ({@link dev.graft.kernels.Int8Output.Dequantize}, fbgemm's
 * {@code ReQuantizeForFloat}: {@code acc * (sx * sw[j]) + b[j]}). Static convert makes it instead of a
 * {@link QuantizedLinear} when every reader of the layer's output runs FP32 (BERT's output projections feed the
 * FP32 residual add): requantizing to 8 bits there only to dequantize right after would round the output to a
 * per-tensor scale sized for the residual stream's outlier channels, and costs two passes over the output.
 */
public final class QuantizedLinearFloatOut extends Module implements LeafModule {
    private final Tensor weight;
    private final Tensor biasTensor;
    private final float[] bias;
    private final PackedInt8Weights packed;
    private final Int8Gemm gemm;
    /** Applied to the outputs in the output stage (a fused GELU: {@code engine.fuse.LayerFusion}). */
    private final Activation activation;
    /**
     * Null for a float output; else the per-channel factors of a fused {@code channel_scale_quantize}: the output is
     * then {@code quantize(y * factors, outputScale, outputZeroPoint)}, quint8 (the next INT8 layer's input).
     */
    private final float[] outputFactors;
    private final float outputScale;
    private final int outputZeroPoint;

    /** @param weight qint8 {@code [out, in]}, per tensor or per channel along axis 0; @param bias float32 or null */
    public QuantizedLinearFloatOut(Tensor weight, Tensor bias) {
        String who = "QuantizedLinearFloatOut";
        QuantizedWeights.requireInt8Weight(who, weight);
        if (weight.dim() != 2) {
            throw new IllegalArgumentException(who + ": weight must be [out, in], got " + Arrays.toString(weight.shape()));
        }
        this.weight = weight.concrete();
        this.bias = QuantizedWeights.bias(who, bias, weight.size(0));
        this.biasTensor = bias;
        this.packed = PackedInt8Weights.pack(this.weight.toByteArray(), 0, weight.size(0), weight.size(1),
                QuantizedWeights.scales(weight), QuantizedWeights.zeroPoints(weight));
        this.gemm = Kernels.int8Gemm();
        this.activation = Activation.NONE;
        this.outputFactors = null;
        this.outputScale = 0f;
        this.outputZeroPoint = 0;
    }

    private QuantizedLinearFloatOut(QuantizedLinearFloatOut base, Activation activation, float[] outputFactors,
                                    float outputScale, int outputZeroPoint) {
        this.weight = base.weight;
        this.bias = base.bias;
        this.biasTensor = base.biasTensor;
        this.packed = base.packed;
        this.gemm = base.gemm;
        this.activation = java.util.Objects.requireNonNull(activation);
        this.outputFactors = outputFactors;
        this.outputScale = outputScale;
        this.outputZeroPoint = outputZeroPoint;
    }

    /** The same layer (weights shared) with {@code activation} on its outputs, with the bits of the two in turn. */
    public QuantizedLinearFloatOut withActivation(Activation activation) {
        return new QuantizedLinearFloatOut(this, activation, outputFactors, outputScale, outputZeroPoint);
    }

    /**
     * The same layer (weights and activation shared) whose float outputs are scaled per channel by {@code factors}
     * and quantized to quint8 {@code (scale, zeroPoint)} in its output stage: the bits of this layer followed by
     * {@code channel_scale_quantize(y, factors, scale, zeroPoint, quint8)}, without the float output tensor (a
     * transformer's wide FFN activation, written and read back once per layer otherwise).
     */
    public QuantizedLinearFloatOut withQuantizedOutput(float[] factors, float scale, int zeroPoint) {
        if (outputFactors != null) {
            throw new IllegalStateException("QuantizedLinearFloatOut: the output is already quantized");
        }
        if (factors.length != packed.n()) {
            throw new IllegalArgumentException("QuantizedLinearFloatOut: " + factors.length + " output factors for "
                    + packed.n() + " outputs");
        }
        if (!(scale > 0f) || Float.isInfinite(scale) || zeroPoint < 0 || zeroPoint > 255) {
            throw new IllegalArgumentException("QuantizedLinearFloatOut: bad quint8 output qparams (scale " + scale
                    + ", zero point " + zeroPoint + ")");
        }
        return new QuantizedLinearFloatOut(this, activation, factors.clone(), scale, zeroPoint);
    }

    /** The activation fused into the output stage ({@link Activation#NONE} for a plain linear). */
    public Activation activation() {
        return activation;
    }

    /** The per-channel factors of the fused output quantization (a copy), or null for a float output. */
    public float[] outputFactors() {
        return outputFactors == null ? null : outputFactors.clone();
    }

    /** The quint8 output's scale (meaningful with {@link #outputFactors}). */
    public float outputScale() {
        return outputScale;
    }

    /** The quint8 output's zero point (meaningful with {@link #outputFactors}). */
    public int outputZeroPoint() {
        return outputZeroPoint;
    }

    /** Quantizes {@code linear}'s weight with the given scales and zero points (null: symmetric) and packs it. */
    public static QuantizedLinearFloatOut fromFloat(Linear linear, float[] weightScales, int[] weightZeroPoints) {
        Tensor q = QuantizedWeights.quantize("QuantizedLinearFloatOut", linear.weight(), weightScales,
                weightZeroPoints);
        return new QuantizedLinearFloatOut(q, linear.bias() == null ? null : linear.bias().concrete());
    }

    @Override
    protected Tensor forward(Tensor... inputs) {
        Tensor x = single(inputs);
        QParams.PerTensor qx = QuantizedOps.requireQuint8("QuantizedLinearFloatOut", x, "input");
        int k = packed.k();
        int n = packed.n();
        int[] shape = x.shape();
        if (shape.length == 0 || shape[shape.length - 1] != k) {
            throw new IllegalArgumentException("QuantizedLinearFloatOut: input " + Arrays.toString(shape)
                    + " does not end in in_features=" + k);
        }
        int m = x.numel() / k;
        int[] outShape = shape.clone();
        outShape[shape.length - 1] = n;
        if (outputFactors != null) {
            byte[] q = new byte[Math.multiplyExact(m, n)];
            DynamicQuantization.dequantizingGemmQuantized(gemm, m, QuantizedOps.bytesOf(x), 0, k, qx.zeroPoint(),
                    packed, qx.scale(), bias, activation, outputFactors, outputScale, outputZeroPoint, 0, 255, q, 0);
            return QuantizedOps.wrapQuint8(q, outShape, new QParams.PerTensor(outputScale, outputZeroPoint));
        }
        float[] out = new float[Math.multiplyExact(m, n)];
        DynamicQuantization.dequantizingGemm(gemm, m, QuantizedOps.bytesOf(x), 0, k, qx.zeroPoint(), packed,
                qx.scale(), bias, activation, out, 0);
        return Tensor.wrap(out, outShape);
    }

    /** The qint8 weight {@code [out, in]} with its qparams. */
    public Tensor weight() {
        return weight;
    }

    /** The float bias, or null. */
    public Tensor bias() {
        return biasTensor;
    }

    public PackedInt8Weights packedWeight() {
        return packed;
    }

    @Override
    protected String extraRepr() {
        return "in=" + packed.k() + ", out=" + packed.n() + ", float output"
                + (activation == Activation.NONE ? "" : ", then " + activation.name().toLowerCase(java.util.Locale.ROOT))
                + (outputFactors == null ? "" : ", then channel scale and quantize (scale=" + outputScale
                        + ", zero_point=" + outputZeroPoint + ")")
                + ", " + QuantizedWeights.describeWeight(weight)
                + ", bias=" + (bias != null);
    }
}
