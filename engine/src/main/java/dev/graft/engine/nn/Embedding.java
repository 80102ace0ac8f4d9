package dev.graft.engine.nn;

import dev.graft.engine.Init;
import dev.graft.engine.Module;
import dev.graft.ops.F;
import dev.graft.ops.Tensor;

import java.util.Random;

/** A lookup table: integer ids of any shape to rows of weight [num, dim]. Initialized N(0, 1) as PyTorch. */
public class Embedding extends Module {
    private final int count;
    private final int dim;
    private final Tensor weight;

    public Embedding(int count, int dim) {
        this(count, dim, Init.nextGenerator());
    }

    public Embedding(int count, int dim, Random rng) {
        if (count <= 0 || dim <= 0) {
            throw new IllegalArgumentException("Embedding: sizes must be positive, got " + count + " x " + dim);
        }
        this.count = count;
        this.dim = dim;
        this.weight = registerParameter("weight", Tensor.randn(rng, count, dim));
    }

    @Override
    protected Tensor forward(Tensor... inputs) {
        return F.embedding(single(inputs), weight);
    }

    public Tensor weight() {
        return weight;
    }

    @Override
    protected String extraRepr() {
        return count + ", " + dim;
    }
}
