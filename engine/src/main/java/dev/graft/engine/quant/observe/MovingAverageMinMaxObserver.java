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

    @Override
    protected void combine(float batchMin, float batchMax) {
        if (observedCount() == 0) {
            min = batchMin;
            max = batchMax;
            return;
        }
        min = MovingAverage.step(min, batchMin, averagingConstant);
        max = MovingAverage.step(max, batchMax, averagingConstant);
    }
}
