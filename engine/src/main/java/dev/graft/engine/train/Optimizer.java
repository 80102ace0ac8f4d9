package dev.graft.engine.train;

import dev.graft.engine.Module;
import dev.graft.ops.InPlace;
import dev.graft.ops.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * Updates parameters from their accumulated gradients. Subclasses implement the update of one parameter on plain
 * arrays (the arithmetic of an update is elementwise, so it needs no autograd and no dispatch); the result is written
 * back into the parameter in place, so modules keep their tensors. Parameters without a gradient are skipped.
 */
public abstract class Optimizer {
    private final List<Tensor> parameters;
    private double learningRate;
    private long steps;

    protected Optimizer(Iterable<Tensor> parameters, double learningRate) {
        this.parameters = new ArrayList<>();
        for (Tensor p : parameters) {
            this.parameters.add(p);
        }
        if (!(learningRate >= 0)) {
            throw new IllegalArgumentException("learning rate must be >= 0, got " + learningRate);
        }
        this.learningRate = learningRate;
    }

    /** The parameters of {@code module} that require gradients, in state-dict order. */
    public static List<Tensor> trainable(Module module) {
        List<Tensor> out = new ArrayList<>();
        for (Tensor t : module.namedParameters().values()) {
            if (t.requiresGrad()) {
                out.add(t);
            }
        }
        return out;
    }

    /** Applies one update to every parameter that has a gradient. */
    public final void step() {
        steps++;
        for (int i = 0; i < parameters.size(); i++) {
            Tensor p = parameters.get(i);
            if (p.grad() == null) {
                continue;
            }
            float[] values = p.toFloatArray();
            update(i, values, p.grad().toFloatArray(), steps);
            InPlace.copy(p, Tensor.wrap(values, p.shape()));
        }
    }

    /** Forgets every parameter's gradient (the next backward starts from zero). */
    public final void zeroGrad() {
        for (Tensor p : parameters) {
            p.setGrad(null);
        }
    }

    /**
     * Updates parameter {@code index} in place.
     *
     * @param values the parameter's values (row-major), to be overwritten with the new ones
     * @param grad   its gradient
     * @param step   1 for the first call of {@link #step()}
     */
    protected abstract void update(int index, float[] values, float[] grad, long step);

    public final double learningRate() {
        return learningRate;
    }

    /** Sets the rate used by the next {@link #step()} (schedules call this). */
    public final void setLearningRate(double learningRate) {
        this.learningRate = learningRate;
    }

    public final List<Tensor> parameters() {
        return List.copyOf(parameters);
    }

    /** Number of {@link #step()} calls so far. */
    public final long steps() {
        return steps;
    }
}
