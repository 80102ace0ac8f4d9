package dev.graft.engine.nn;

import dev.graft.engine.Module;
import dev.graft.ops.F;
import dev.graft.ops.Tensor;

import java.util.Arrays;

/** Layer normalization over the trailing {@code normalizedShape} dimensions with an elementwise affine. */
public class LayerNorm extends Module {
    private final int[] normalizedShape;
    private final float eps;
    private final Tensor weight;
    private final Tensor bias;

    public LayerNorm(int features) {
        this(new int[] {features}, 1e-5f);
    }

    public LayerNorm(int features, float eps) {
        this(new int[] {features}, eps);
    }

    public LayerNorm(int[] normalizedShape, float eps) {
        this(normalizedShape, Tensor.ones(normalizedShape), Tensor.zeros(normalizedShape), eps);
    }

    private LayerNorm(int[] normalizedShape, Tensor weight, Tensor bias, float eps) {
        this.normalizedShape = normalizedShape.clone();
        this.eps = eps;
        this.weight = weight == null ? null : registerParameter("weight", weight);
        this.bias = bias == null ? null : registerParameter("bias", bias);
    }

    /**
     * The layer norm of a functional {@code layer_norm} call: existing tensors (not copied), either of them null
     * for no scale or no shift, as {@code F.layerNorm} allows.
     */
    public static LayerNorm wrap(int[] normalizedShape, Tensor weight, Tensor bias, float eps) {
        return new LayerNorm(normalizedShape, weight, bias, eps);
    }

    @Override
    protected Tensor forward(Tensor... inputs) {
        return F.layerNorm(single(inputs), normalizedShape, weight, bias, eps);
    }

    /** The scale, or null (a wrapped functional call without one). */
    public Tensor weight() {
        return weight;
    }

    /** The shift, or null. */
    public Tensor bias() {
        return bias;
    }

    public float eps() {
        return eps;
    }

    public int[] normalizedShape() {
        return normalizedShape.clone();
    }

    @Override
    protected String extraRepr() {
        return Arrays.toString(normalizedShape) + ", eps=" + eps;
    }
}
