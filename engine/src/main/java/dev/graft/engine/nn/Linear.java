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
