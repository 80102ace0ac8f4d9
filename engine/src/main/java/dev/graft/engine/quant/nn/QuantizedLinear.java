package dev.graft.engine.quant.nn;

import dev.graft.engine.LeafModule;
import dev.graft.engine.Module;
import dev.graft.engine.nn.Linear;
import dev.graft.kernels.Int8Gemm;
import dev.graft.kernels.Int8Output;
import dev.graft.kernels.Kernels;
import dev.graft.kernels.PackedInt8Weights;
import dev.graft.ops.QParams;
import dev.graft.ops.QuantizedOps;
import dev.graft.ops.Tensor;

import java.util.Arrays;

/**
 * Static quantized linear (PyTorch {@code nn.quantized.Linear} / {@code LinearReLU}, fbgemm): quint8 input
 * {@code [..., in]} to quint8 output {@code [..., out]} with fixed output qparams. Weights are qint8 per output
 * channel (or per tensor), packed once here; the bias stays float.
 *
 * <p>Numerics (golden cases k_16..k_18): {@code acc = sum_p (x - zx)(w - zw)} exact in int32, then fbgemm's
 * requantization {@link Int8Output.Requantize}: {@code q = rint((float(acc) + b/(sx*sw)) * (sx*sw/so)) + zo}
 * clamped to {@code [relu ? zo : 0, 255]}.
 */
public final class QuantizedLinear extends Module implements LeafModule {

    private final Tensor weight;
    private final Tensor biasTensor;
    private final float[] bias;
    private final PackedInt8Weights packed;
    private final float outputScale;
    private final int outputZeroPoint;
    private final boolean relu;
    private final Int8Gemm gemm;

    /**
     * @param weight          qint8 {@code [out, in]}, per tensor or per channel along axis 0
     * @param bias            float32 {@code [out]}, or null
     * @param outputScale     scale of the quint8 output
     * @param outputZeroPoint zero point of the output, in {@code [0, 255]}
     * @param relu            fuse ReLU (clamp at the output zero point)
     */
    public QuantizedLinear(Tensor weight, Tensor bias, float outputScale, int outputZeroPoint, boolean relu) {
        this(weight, bias, outputScale, outputZeroPoint, relu, Kernels.int8Gemm());
    }

    /** As above with an explicit GEMM (tests run the scalar reference too). */
    public QuantizedLinear(Tensor weight, Tensor bias, float outputScale, int outputZeroPoint, boolean relu,
                           Int8Gemm gemm) {
        String who = "QuantizedLinear";
        QuantizedWeights.requireInt8Weight(who, weight);
        QuantizedWeights.checkOutput(who, outputScale, outputZeroPoint);
        if (weight.dim() != 2) {
            throw new IllegalArgumentException(who + ": weight must be [out, in], got " + Arrays.toString(weight.shape()));
        }
        this.weight = weight.concrete();
        int n = weight.size(0);
        int k = weight.size(1);
        this.bias = QuantizedWeights.bias(who, bias, n);
        this.biasTensor = bias;
        this.packed = PackedInt8Weights.pack(this.weight.toByteArray(), 0, n, k, QuantizedWeights.scales(weight),
                QuantizedWeights.zeroPoints(weight));
        this.outputScale = outputScale;
        this.outputZeroPoint = outputZeroPoint;
        this.relu = relu;
        this.gemm = gemm;
    }

    /**
     * Quantizes {@code linear}'s weight to qint8 with the given per-channel (or single) scales and zero points
     * (null zero points: symmetric) and packs it.
     */
    public static QuantizedLinear fromFloat(Linear linear, float[] weightScales, int[] weightZeroPoints,
                                            float outputScale, int outputZeroPoint, boolean relu) {
        Tensor q = QuantizedWeights.quantize("QuantizedLinear", linear.weight(), weightScales, weightZeroPoints);
        return new QuantizedLinear(q, linear.bias() == null ? null : linear.bias().concrete(), outputScale,
                outputZeroPoint, relu);
    }

    @Override
    protected Tensor forward(Tensor... inputs) {
        Tensor x = single(inputs);
        QParams.PerTensor qx = QuantizedOps.requireQuint8("QuantizedLinear", x, "input");
        int k = packed.k();
        int n = packed.n();
        int[] shape = x.shape();
        if (shape.length == 0 || shape[shape.length - 1] != k) {
            throw new IllegalArgumentException("QuantizedLinear: input " + Arrays.toString(shape)
                    + " does not end in in_features=" + k);
        }
        int m = x.numel() / k;
        byte[] in = QuantizedOps.bytesOf(x);
        byte[] out = new byte[Math.multiplyExact(m, n)];
        gemm.gemm(m, in, 0, k, qx.zeroPoint(), packed, new Int8Output.Requantize(qx.scale(), bias, outputScale,
                outputZeroPoint, relu, out, 0, n));
        int[] outShape = shape.clone();
        outShape[shape.length - 1] = n;
        return QuantizedOps.wrapQuint8(out, outShape, new QParams.PerTensor(outputScale, outputZeroPoint));
    }

    /** The qint8 weight {@code [out, in]} with its qparams (for reports and saving). */
    public Tensor weight() {
        return weight;
    }

    /** The float bias, or null. */
    public Tensor bias() {
        return biasTensor;
    }

    /** The packed weights the kernels read. */
    public PackedInt8Weights packedWeight() {
        return packed;
    }

    public float outputScale() {
        return outputScale;
    }

    public int outputZeroPoint() {
        return outputZeroPoint;
    }

    public boolean relu() {
        return relu;
    }

    public int inFeatures() {
        return packed.k();
    }

    public int outFeatures() {
        return packed.n();
    }

    @Override
    protected String extraRepr() {
        return "in=" + packed.k() + ", out=" + packed.n() + ", scale=" + outputScale + ", zero_point="
                + outputZeroPoint + ", " + QuantizedWeights.describeWeight(weight) + ", bias=" + (bias != null)
                + (relu ? ", relu" : "");
    }
}
