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
        this.normalizedShape = normalizedShape.clone();
        this.eps = eps;
        this.weight = registerParameter("weight", Tensor.ones(normalizedShape));
        this.bias = registerParameter("bias", Tensor.zeros(normalizedShape));
    }

    @Override
    protected Tensor forward(Tensor... inputs) {
        return F.layerNorm(single(inputs), normalizedShape, weight, bias, eps);
    }

    public Tensor weight() {
        return weight;
    }

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
