package dev.graft.engine.train;

/**
 * The learning rate as a function of the optimizer step (0 for the first update). Combine with
 * {@link #withWarmup}; apply with {@link #apply}.
 */
@FunctionalInterface
public interface LearningRateSchedule {

    double learningRate(long step);

    /** Sets {@code optimizer}'s rate for the given step. */
    default void apply(Optimizer optimizer, long step) {
        optimizer.setLearningRate(learningRate(step));
    }

    static LearningRateSchedule constant(double lr) {
        return step -> lr;
    }

    /** {@code lr * gamma^(step / stepSize)}, as {@code torch.optim.lr_scheduler.StepLR}. */
    static LearningRateSchedule step(double lr, long stepSize, double gamma) {
        if (stepSize <= 0) {
            throw new IllegalArgumentException("step schedule: stepSize must be positive, got " + stepSize);
        }
        return step -> lr * Math.pow(gamma, step / stepSize);
    }

    /**
     * Cosine annealing from {@code lr} at step 0 to {@code minLr} at {@code totalSteps} (and after), as
     * {@code CosineAnnealingLR}: {@code min + (lr - min) * (1 + cos(pi * step / total)) / 2}.
     */
    static LearningRateSchedule cosine(double lr, long totalSteps, double minLr) {
        if (totalSteps <= 0) {
            throw new IllegalArgumentException("cosine schedule: totalSteps must be positive, got " + totalSteps);
        }
        return step -> {
            double t = Math.min(step, totalSteps) / (double) totalSteps;
            return minLr + (lr - minLr) * (1 + Math.cos(Math.PI * t)) / 2;
        };
    }

    /**
     * Linear warm-up over the first {@code warmupSteps} steps ({@code (step + 1) / warmupSteps} of the rate), then
     * this schedule, started afresh at step 0.
     */
    default LearningRateSchedule withWarmup(long warmupSteps) {
        LearningRateSchedule after = this;
        return step -> step < warmupSteps ? after.learningRate(0) * (step + 1) / warmupSteps
                : after.learningRate(step - warmupSteps);
    }
}
