package dev.graft.engine.nn;

import dev.graft.engine.Init;
import dev.graft.engine.Module;
import dev.graft.ops.DType;
import dev.graft.ops.Tensor;

import java.util.Random;

/**
 * In training mode zeroes each element with probability p and scales the rest by 1/(1-p); in eval mode the
 * identity. The mask comes from this module's own generator, so a seeded run is reproducible.
 */
public class Dropout extends Module {
    private final float p;
    private final Random rng;

    public Dropout(float p) {
        this(p, Init.nextGenerator());
    }

    public Dropout(float p, Random rng) {
        if (!(p >= 0f && p < 1f)) {
            throw new IllegalArgumentException("Dropout: p must be in [0, 1), got " + p);
        }
        this.p = p;
        this.rng = rng;
    }

    @Override
    protected Tensor forward(Tensor... inputs) {
        Tensor x = single(inputs);
        if (!isTraining() || p == 0f) {
            return x;
        }
        Tensor keep;
        synchronized (rng) {
            keep = Tensor.rand(rng, 0f, 1f, x.shape()).ge(p).to(DType.FLOAT32);
        }
        return x.mul(keep).mul(1f / (1f - p));
    }

    public float p() {
        return p;
    }

    @Override
    protected String extraRepr() {
        return "p=" + p;
    }
}
