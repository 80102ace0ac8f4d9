package dev.graft.engine.nn;

import dev.graft.engine.Init;
import dev.graft.engine.Module;
import dev.graft.ops.F;
import dev.graft.ops.Tensor;

import java.util.Random;

/** {@code y = x W^T + b} over the last dimension; weight [out, in], bias [out]. */
public class Linear extends Module {
    private final int inFeatures;
    private final int outFeatures;
    private final Tensor weight;
    private final Tensor bias;

    public Linear(int inFeatures, int outFeatures) {
        this(inFeatures, outFeatures, true, Init.nextGenerator());
    }

    public Linear(int inFeatures, int outFeatures, boolean bias, Random rng) {
        if (inFeatures <= 0 || outFeatures <= 0) {
            throw new IllegalArgumentException("Linear: features must be positive, got in=" + inFeatures + " out="
                    + outFeatures);
        }
        this.inFeatures = inFeatures;
        this.outFeatures = outFeatures;
        this.weight = registerParameter("weight", Init.kaimingUniform(rng, inFeatures, outFeatures, inFeatures));
        this.bias = bias ? registerParameter("bias", Init.biasUniform(rng, inFeatures, outFeatures)) : null;
    }

    private Linear(Tensor weight, Tensor bias) {
        if (weight.dim() != 2 || (bias != null && (bias.dim() != 1 || bias.size(0) != weight.size(0)))) {
            throw new IllegalArgumentException("Linear.wrap: weight must be [out, in] and bias [out], got "
                    + java.util.Arrays.toString(weight.shape()) + " and "
                    + (bias == null ? "none" : java.util.Arrays.toString(bias.shape())));
        }
        this.inFeatures = weight.size(1);
        this.outFeatures = weight.size(0);
        this.weight = registerParameter("weight", weight);
        this.bias = bias == null ? null : registerParameter("bias", bias);
    }

    /** A Linear over existing tensors (not copied): weight [out, in], bias [out] or null. */
    public static Linear wrap(Tensor weight, Tensor bias) {
        return new Linear(weight, bias);
    }

    @Override
    protected Tensor forward(Tensor... inputs) {
        return F.linear(single(inputs), weight, bias);
    }

    public Tensor weight() {
        return weight;
    }

    /** The bias, or null. */
    public Tensor bias() {
        return bias;
    }

    public int inFeatures() {
        return inFeatures;
    }

    public int outFeatures() {
        return outFeatures;
    }

    @Override
    protected String extraRepr() {
        return "in=" + inFeatures + ", out=" + outFeatures + ", bias=" + (bias != null);
    }
}
