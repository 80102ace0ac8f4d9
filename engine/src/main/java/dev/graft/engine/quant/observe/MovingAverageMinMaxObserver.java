package dev.graft.engine.quant.observe;

import dev.graft.engine.quant.QuantSpec;

/**
 * Exponential moving average of each batch's minimum and maximum (PyTorch's {@code MovingAverageMinMaxObserver}):
 * the first batch sets the range, later ones move it by {@code min += c * (batchMin - min)} in float32 with
 * {@code c = averagingConstant} (0.01 by default).
 */
public class MovingAverageMinMaxObserver extends MinMaxObserver {

    /** PyTorch's default averaging constant. */
    public static final double DEFAULT_AVERAGING_CONSTANT = 0.01;

    private final double averagingConstant;

    public MovingAverageMinMaxObserver(QuantSpec spec, double averagingConstant) {
        super(spec);
        if (!(averagingConstant > 0 && averagingConstant <= 1)) {
            throw new IllegalArgumentException("averaging constant must be in (0, 1], got " + averagingConstant);
        }
        this.averagingConstant = averagingConstant;
    }

    public MovingAverageMinMaxObserver(QuantSpec spec) {
        this(spec, DEFAULT_AVERAGING_CONSTANT);
    }

    public double averagingConstant() {
        return averagingConstant;
    }

    /** The first batch's range, which started the average: what {@link #mergeFollowing} needs. */
    private float firstMin = Float.NaN;
    private float firstMax = Float.NaN;

    /** {min, max} of the first batch observed (empty before any). */
    public float[] firstBatchRange() {
        return observedCount() == 0 ? new float[0] : new float[] {firstMin, firstMax};
    }

    /** A moving average depends on the order of the batches: use {@link #mergeFollowing}. */
    @Override
    public void merge(float otherMin, float otherMax, long batches) {
        throw new UnsupportedOperationException(describeSelf() + ": a moving average depends on the order of the"
                + " batches; merge with mergeFollowing (the other observer's batches came after this one's)");
    }

    /**
     * Folds in another observer of this kind whose {@code batches} batches came after this one's, in that order.
     * Over n batches the average is {@code m_n = (1-c)^(n-1) b_1 + c * sum_k (1-c)^(n-k) b_k}, so continuing from
     * this observer's {@code m} instead of the other's first batch {@code f} changes the other's result by
     * {@code (1-c)^n (m - f)}: merged {@code = other + (1-c)^n * (m - f)}, exact in real arithmetic (computed in
     * double, rounded once to float; a sequential float32 run rounds at each step, so the two agree to a few ulps).
     */
    public void mergeFollowing(float otherMin, float otherMax, float otherFirstMin, float otherFirstMax,
                               long batches) {
        if (batches == 0) {
            return;
        }
        if (observedCount() == 0) {
            min = otherMin;
            max = otherMax;
            firstMin = otherFirstMin;
            firstMax = otherFirstMax;
        } else {
            double decay = Math.pow(1 - (double) (float) averagingConstant, batches);
            min = (float) (otherMin + decay * ((double) min - otherFirstMin));
            max = (float) (otherMax + decay * ((double) max - otherFirstMax));
        }
        addObserved(batches);
    }

    @Override
    protected void combine(float batchMin, float batchMax) {
        if (observedCount() == 0) {
            min = batchMin;
            max = batchMax;
            firstMin = batchMin;
            firstMax = batchMax;
            return;
        }
        min = MovingAverage.step(min, batchMin, averagingConstant);
        max = MovingAverage.step(max, batchMax, averagingConstant);
    }
}
