package dev.graft.engine.quant.observe;

import dev.graft.engine.quant.QuantSpec;

/**
 * Per-channel exponential moving average of minima and maxima (PyTorch's
 * {@code MovingAveragePerChannelMinMaxObserver}, the QAT weight observer): the first batch sets the ranges, later
 * ones move them by {@code c * (batch - running)} in float32.
 */
public class MovingAveragePerChannelMinMaxObserver extends PerChannelMinMaxObserver {

    private final double averagingConstant;

    public MovingAveragePerChannelMinMaxObserver(QuantSpec spec, double averagingConstant) {
        super(spec);
        if (!(averagingConstant > 0 && averagingConstant <= 1)) {
            throw new IllegalArgumentException("averaging constant must be in (0, 1], got " + averagingConstant);
        }
        this.averagingConstant = averagingConstant;
    }

    public MovingAveragePerChannelMinMaxObserver(QuantSpec spec) {
        this(spec, MovingAverageMinMaxObserver.DEFAULT_AVERAGING_CONSTANT);
    }

    public double averagingConstant() {
        return averagingConstant;
    }

    /** Per-channel moving averages depend on the order of batches and have no merge (QAT weights train in one JVM). */
    @Override
    public void merge(float[] otherMin, float[] otherMax, int axis, long batches) {
        throw new UnsupportedOperationException(describeSelf() + ": a per-channel moving average depends on the order"
                + " of the batches and cannot be merged");
    }

    @Override
    protected void combine(float[] batchMin, float[] batchMax) {
        for (int c = 0; c < min.length; c++) {
            min[c] = MovingAverage.step(min[c], batchMin[c], averagingConstant);
            max[c] = MovingAverage.step(max[c], batchMax[c], averagingConstant);
        }
    }
}
