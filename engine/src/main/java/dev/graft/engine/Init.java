package dev.graft.engine;

import dev.graft.ops.Tensor;

import java.util.Random;

/**
 * Parameter initialization as PyTorch's defaults, from one seedable generator so that building a model twice after
 * {@link #manualSeed} gives the same weights (as {@code torch.manual_seed}). Layers also accept their own
 * {@link Random}.
 */
public final class Init {
    private static Random global = new Random(0);

    private Init() {
    }

    /** Reseeds the generator that layers use when not given one. */
    public static synchronized void manualSeed(long seed) {
        global = new Random(seed);
    }

    /** A generator for one layer, drawn from the global one (so layers built in order are reproducible). */
    public static synchronized Random nextGenerator() {
        return new Random(global.nextLong());
    }

    /**
     * Kaiming-uniform with a = sqrt(5), PyTorch's default for Linear and Conv weights: the bound works out to
     * {@code 1/sqrt(fanIn)}: gain = sqrt(2/(1+a^2)) = sqrt(1/3), bound = gain * sqrt(3/fanIn).
     */
    public static Tensor kaimingUniform(Random rng, int fanIn, int... shape) {
        float bound = (float) (1.0 / Math.sqrt(Math.max(fanIn, 1)));
        return Tensor.rand(rng, -bound, bound, shape);
    }

    /** PyTorch's default bias of Linear/Conv: uniform in +-1/sqrt(fanIn). */
    public static Tensor biasUniform(Random rng, int fanIn, int size) {
        float bound = fanIn > 0 ? (float) (1.0 / Math.sqrt(fanIn)) : 0f;
        return Tensor.rand(rng, -bound, bound, size);
    }
}
