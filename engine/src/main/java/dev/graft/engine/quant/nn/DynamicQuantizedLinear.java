package dev.graft.engine.quant.nn;

import dev.graft.engine.LeafModule;
import dev.graft.engine.Module;
import dev.graft.engine.nn.Linear;
import dev.graft.kernels.Activation;
import dev.graft.kernels.DynamicQuantization;
import dev.graft.kernels.Int8Gemm;
import dev.graft.kernels.Kernels;
import dev.graft.kernels.PackedInt8Weights;
import dev.graft.ops.DType;
import dev.graft.ops.DTypeException;
import dev.graft.ops.QuantizedOps;
import dev.graft.ops.Tensor;

import java.util.Arrays;

/**
 * Dynamic quantized linear (PyTorch {@code nn.quantized.dynamic.Linear}, fbgemm): float32 in, float32 out. Weights
 * are qint8 per channel (or per tensor), packed once here. On every call the activations' qparams are chosen from
 * the whole input's min and max as {@code ChooseQuantizationParams} ({@link DynamicQuantization#chooseParams}),
 * with {@code reduce_range} (integers 0..127) on by default as PyTorch's x86 engines do; the input is quantized,
 * multiplied exactly in int32, and turned back into floats with fbgemm's
 * {@code y = fma(float(acc), sx*sw, bias)} (golden cases k_22, k_23).
 *
 * <p>With {@code perToken}, each row of the input (each token of a {@code [batch, sequence, features]} input) gets
 * its own scale and zero point instead ({@link DynamicQuantization#linearPerToken}, torchao's asymmetric per-token
 * activations): one outlier token then no longer coarsens the grid of every other token in the batch.
 */
public final class DynamicQuantizedLinear extends Module implements LeafModule {

    /** PyTorch's default for fbgemm/x86 dynamic quantization. */
    public static final boolean DEFAULT_REDUCE_RANGE = true;

    private final Tensor weight;
    private final Tensor biasTensor;
    private final float[] bias;
    private final PackedInt8Weights packed;
    private final boolean reduceRange;
    private final boolean perToken;
    private final Int8Gemm gemm;
    /** Applied to the outputs in the kernel's output stage (a fused GELU: {@code engine.fuse.LayerFusion}). */
    private final Activation activation;

    /** {@code weight} qint8 {@code [out, in]}, {@code bias} float32 {@code [out]} or null; per-tensor activations. */
    public DynamicQuantizedLinear(Tensor weight, Tensor bias, boolean reduceRange) {
        this(weight, bias, reduceRange, false, Kernels.int8Gemm());
    }

    /** As above, activations per token when {@code perToken}. */
    public DynamicQuantizedLinear(Tensor weight, Tensor bias, boolean reduceRange, boolean perToken) {
        this(weight, bias, reduceRange, perToken, Kernels.int8Gemm());
    }

    /** Per-tensor activations with an explicit GEMM. */
    public DynamicQuantizedLinear(Tensor weight, Tensor bias, boolean reduceRange, Int8Gemm gemm) {
        this(weight, bias, reduceRange, false, gemm);
    }

    /** As above with an explicit GEMM. */
    public DynamicQuantizedLinear(Tensor weight, Tensor bias, boolean reduceRange, boolean perToken, Int8Gemm gemm) {
        String who = "DynamicQuantizedLinear";
        QuantizedWeights.requireInt8Weight(who, weight);
        if (weight.dim() != 2) {
            throw new IllegalArgumentException(who + ": weight must be [out, in], got " + Arrays.toString(weight.shape()));
        }
        this.weight = weight.concrete();
        this.bias = QuantizedWeights.bias(who, bias, weight.size(0));
        this.biasTensor = bias;
        this.packed = PackedInt8Weights.pack(this.weight.toByteArray(), 0, weight.size(0), weight.size(1),
                QuantizedWeights.scales(weight), QuantizedWeights.zeroPoints(weight));
        this.reduceRange = reduceRange;
        this.perToken = perToken;
        this.gemm = gemm;
        this.activation = Activation.NONE;
    }

    private DynamicQuantizedLinear(DynamicQuantizedLinear base, Activation activation) {
        this.weight = base.weight;
        this.bias = base.bias;
        this.biasTensor = base.biasTensor;
        this.packed = base.packed;
        this.reduceRange = base.reduceRange;
        this.perToken = base.perToken;
        this.gemm = base.gemm;
        this.activation = java.util.Objects.requireNonNull(activation);
    }

    /**
     * The same layer (same weights, shared) with {@code activation} applied to its outputs while they are in cache:
     * {@code gelu(layer(x))} with the bits of the two run one after the other.
     */
    public DynamicQuantizedLinear withActivation(Activation activation) {
        return new DynamicQuantizedLinear(this, activation);
    }

    /** The activation fused into the output stage ({@link Activation#NONE} for a plain linear). */
    public Activation activation() {
        return activation;
    }

    /** Quantizes {@code linear}'s weight (null zero points: symmetric), {@code reduce_range} as PyTorch's default. */
    public static DynamicQuantizedLinear fromFloat(Linear linear, float[] weightScales, int[] weightZeroPoints) {
        return fromFloat(linear, weightScales, weightZeroPoints, DEFAULT_REDUCE_RANGE);
    }

    /** Quantizes {@code linear}'s weight with the given scales and zero points; per-tensor activations. */
    public static DynamicQuantizedLinear fromFloat(Linear linear, float[] weightScales, int[] weightZeroPoints,
                                                   boolean reduceRange) {
        return fromFloat(linear, weightScales, weightZeroPoints, reduceRange, false);
    }

    /** As above, activations per token when {@code perToken}. */
    public static DynamicQuantizedLinear fromFloat(Linear linear, float[] weightScales, int[] weightZeroPoints,
                                                   boolean reduceRange, boolean perToken) {
        Tensor q = QuantizedWeights.quantize("DynamicQuantizedLinear", linear.weight(), weightScales,
                weightZeroPoints);
        return new DynamicQuantizedLinear(q, linear.bias() == null ? null : linear.bias().concrete(), reduceRange,
                perToken);
    }

    @Override
    protected Tensor forward(Tensor... inputs) {
        Tensor x = single(inputs);
        if (x.dtype() != DType.FLOAT32 || x.isQuantized()) {
            throw new DTypeException("DynamicQuantizedLinear: input must be float32, got " + x.dtype()
                    + (x.isQuantized() ? " (quantized)" : ""));
        }
        int k = packed.k();
        int[] shape = x.shape();
        if (shape.length == 0 || shape[shape.length - 1] != k) {
            throw new IllegalArgumentException("DynamicQuantizedLinear: input " + Arrays.toString(shape)
                    + " does not end in in_features=" + k);
        }
        int m = x.numel() / k;
        float[] y = new float[Math.multiplyExact(m, packed.n())];
        float[] in = QuantizedOps.floatsOf(x); // read in place when dense: the kernels only read it
        if (perToken) {
            DynamicQuantization.linearPerToken(m, in, 0, packed, bias, reduceRange, activation, y, 0, gemm);
        } else {
            DynamicQuantization.linear(m, in, 0, packed, bias, reduceRange, activation, y, 0, gemm);
        }
        int[] outShape = shape.clone();
        outShape[shape.length - 1] = packed.n();
        return Tensor.wrap(y, outShape);
    }

    /**
     * The activation qparams a per-tensor call on {@code x} would use (min and max over all of {@code x}); a
     * per-token layer uses {@link DynamicQuantization#chooseParamsPerToken} on each row instead.
     */
    public DynamicQuantization.Params activationParams(Tensor x) {
        float[] v = x.toFloatArray();
        float min = 0f;
        float max = 0f;
        if (v.length > 0) {
            min = Float.POSITIVE_INFINITY;
            max = Float.NEGATIVE_INFINITY;
            for (float f : v) {
                min = Math.min(min, f);
                max = Math.max(max, f);
            }
        }
        return DynamicQuantization.chooseParams(min, max, reduceRange);
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

    public boolean reduceRange() {
        return reduceRange;
    }

    /** Whether each row (token) of the input is quantized with its own qparams. */
    public boolean perToken() {
        return perToken;
    }

    @Override
    protected String extraRepr() {
        return "in=" + packed.k() + ", out=" + packed.n() + ", dtype=qint8, reduce_range=" + reduceRange
                + (perToken ? ", activations=per_token" : "") + (activation == Activation.NONE ? ""
                : ", then " + activation.name().toLowerCase(java.util.Locale.ROOT)) + ", "
                + QuantizedWeights.describeWeight(weight) + ", bias=" + (bias != null);
    }
}
