package dev.graft.engine.quant.nn;

import dev.graft.engine.LeafModule;
import dev.graft.engine.Module;
import dev.graft.engine.nn.Conv2d;
import dev.graft.kernels.Conv2dKernels;
import dev.graft.kernels.Int8Conv2d;
import dev.graft.kernels.Int8Gemm;
import dev.graft.kernels.Kernels;
import dev.graft.kernels.PackedConvWeights;
import dev.graft.ops.QParams;
import dev.graft.ops.QuantizedOps;
import dev.graft.ops.Tensor;

import java.util.Arrays;

/**
 * Static quantized 2-d convolution (PyTorch {@code nn.quantized.Conv2d} / {@code ConvReLU2d}, fbgemm): quint8 NCHW
 * input to quint8 output with fixed output qparams; any stride, padding, dilation and groups, including depthwise.
 * Weights qint8 {@code [out, in/groups, kh, kw]} per output channel (or per tensor), packed once here.
 *
 * <p>Numerics (golden cases k_19, k_20): exact int32 accumulation over the receptive field (padding is the input zero
 * point, i.e. real zero) and fbgemm's requantization, as {@link QuantizedLinear}. On the depthwise shapes fbgemm
 * sends to its specialised kernel, that kernel's int16 pair saturation is reproduced ({@link Int8Conv2d}).
 */
public final class QuantizedConv2d extends Module implements LeafModule {

    private final Tensor weight;
    private final Tensor biasTensor;
    private final float[] bias;
    private final PackedConvWeights packed;
    private final int[] stride;
    private final int[] padding;
    private final int[] dilation;
    private final int groups;
    private final float outputScale;
    private final int outputZeroPoint;
    private final boolean relu;
    private final Int8Gemm gemm;

    /**
     * @param weight   qint8 {@code [out, in/groups, kh, kw]}, per tensor or per channel along axis 0
     * @param bias     float32 {@code [out]} or null
     * @param stride   {@code {sh, sw}}; padding and dilation likewise
     */
    public QuantizedConv2d(Tensor weight, Tensor bias, int[] stride, int[] padding, int[] dilation, int groups,
                           float outputScale, int outputZeroPoint, boolean relu) {
        this(weight, bias, stride, padding, dilation, groups, outputScale, outputZeroPoint, relu, Kernels.int8Gemm());
    }

    /** As above with an explicit GEMM for the im2row path. */
    public QuantizedConv2d(Tensor weight, Tensor bias, int[] stride, int[] padding, int[] dilation, int groups,
                           float outputScale, int outputZeroPoint, boolean relu, Int8Gemm gemm) {
        String who = "QuantizedConv2d";
        QuantizedWeights.requireInt8Weight(who, weight);
        QuantizedWeights.checkOutput(who, outputScale, outputZeroPoint);
        if (weight.dim() != 4) {
            throw new IllegalArgumentException(who + ": weight must be [out, in/groups, kh, kw], got "
                    + Arrays.toString(weight.shape()));
        }
        int[] s = weight.shape();
        if (groups < 1 || s[0] % groups != 0) {
            throw new IllegalArgumentException(who + ": " + s[0] + " output channels not divisible by groups="
                    + groups);
        }
        this.weight = weight.concrete();
        this.bias = QuantizedWeights.bias(who, bias, s[0]);
        this.biasTensor = bias;
        this.stride = pair(who, "stride", stride);
        this.padding = pair(who, "padding", padding);
        this.dilation = pair(who, "dilation", dilation);
        this.groups = groups;
        // Validates the geometry once, here, rather than on the first call.
        new Int8Conv2d.Geometry(this.stride[0], this.stride[1], this.padding[0], this.padding[1], this.dilation[0],
                this.dilation[1]);
        this.packed = PackedConvWeights.pack(this.weight.toByteArray(), s[0], s[1], s[2], s[3], groups,
                QuantizedWeights.scales(weight), QuantizedWeights.zeroPoints(weight));
        this.outputScale = outputScale;
        this.outputZeroPoint = outputZeroPoint;
        this.relu = relu;
        this.gemm = gemm;
    }

    /** Quantizes {@code conv}'s weight with the given per-channel (or single) scales and zero points and packs it. */
    public static QuantizedConv2d fromFloat(Conv2d conv, float[] weightScales, int[] weightZeroPoints,
                                            float outputScale, int outputZeroPoint, boolean relu) {
        Tensor q = QuantizedWeights.quantize("QuantizedConv2d", conv.weight(), weightScales, weightZeroPoints);
        return new QuantizedConv2d(q, conv.bias() == null ? null : conv.bias().concrete(), conv.stride(),
                conv.padding(), conv.dilation(), conv.groups(), outputScale, outputZeroPoint, relu);
    }

    @Override
    protected Tensor forward(Tensor... inputs) {
        Tensor x = single(inputs);
        QParams.PerTensor qx = QuantizedOps.requireQuint8("QuantizedConv2d", x, "input");
        int[] s = x.shape();
        boolean batched = s.length == 4;
        if (!batched && s.length != 3) {
            throw new IllegalArgumentException("QuantizedConv2d: input must be [N,C,H,W] or [C,H,W], got "
                    + Arrays.toString(s));
        }
        int n = batched ? s[0] : 1;
        int c = s[s.length - 3];
        int h = s[s.length - 2];
        int w = s[s.length - 1];
        int oc = packed.outChannels();
        int oh = Conv2dKernels.outputSize(h, packed.kernelH(), stride[0], padding[0], dilation[0]);
        int ow = Conv2dKernels.outputSize(w, packed.kernelW(), stride[1], padding[1], dilation[1]);
        if (oh < 1 || ow < 1) {
            throw new IllegalArgumentException("QuantizedConv2d: input " + Arrays.toString(s) + " is too small for a "
                    + packed.kernelH() + "x" + packed.kernelW() + " kernel (output " + oh + "x" + ow + ")");
        }
        byte[] out = new byte[Math.multiplyExact(n * oc, oh * ow)];
        Int8Conv2d.conv2d(new Int8Conv2d.Activation(QuantizedOps.bytesOf(x), n, c, h, w, qx.scale(), qx.zeroPoint()),
                packed, bias, new Int8Conv2d.Geometry(stride[0], stride[1], padding[0], padding[1], dilation[0],
                        dilation[1]),
                new Int8Conv2d.Requant(outputScale, outputZeroPoint, relu), out, gemm);
        int[] outShape = batched ? new int[] {n, oc, oh, ow} : new int[] {oc, oh, ow};
        return QuantizedOps.wrapQuint8(out, outShape, new QParams.PerTensor(outputScale, outputZeroPoint));
    }

    private static int[] pair(String who, String what, int[] v) {
        if (v.length == 1) {
            return new int[] {v[0], v[0]};
        }
        if (v.length != 2) {
            throw new IllegalArgumentException(who + ": " + what + " needs 1 or 2 values, got " + Arrays.toString(v));
        }
        return v.clone();
    }

    /** The qint8 weight {@code [out, in/groups, kh, kw]} with its qparams. */
    public Tensor weight() {
        return weight;
    }

    /** The float bias, or null. */
    public Tensor bias() {
        return biasTensor;
    }

    public PackedConvWeights packedWeight() {
        return packed;
    }

    public int[] stride() {
        return stride.clone();
    }

    public int[] padding() {
        return padding.clone();
    }

    public int[] dilation() {
        return dilation.clone();
    }

    public int groups() {
        return groups;
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

    @Override
    protected String extraRepr() {
        int[] s = weight.shape();
        return s[1] * groups + ", " + s[0] + ", kernel_size=(" + s[2] + ", " + s[3] + "), stride="
                + Arrays.toString(stride) + ", padding=" + Arrays.toString(padding)
                + (dilation[0] != 1 || dilation[1] != 1 ? ", dilation=" + Arrays.toString(dilation) : "")
                + (groups != 1 ? ", groups=" + groups : "") + ", scale=" + outputScale + ", zero_point="
                + outputZeroPoint + ", " + QuantizedWeights.describeWeight(weight) + ", bias=" + (bias != null)
                + (relu ? ", relu" : "");
    }
}
