package dev.graft.spark;

import dev.graft.engine.quant.observe.HistogramObserver;
import dev.graft.engine.quant.observe.MinMaxObserver;
import dev.graft.engine.quant.observe.MovingAverageMinMaxObserver;
import dev.graft.engine.quant.observe.MovingAveragePerChannelMinMaxObserver;
import dev.graft.engine.quant.observe.Observer;
import dev.graft.engine.quant.observe.PerChannelMinMaxObserver;
import dev.graft.engine.quant.observe.PlaceholderObserver;

import java.io.Serial;
import java.io.Serializable;

/**
 * What one observer gathered on one partition, as plain arrays that Spark can send to the driver, and how it is
 * folded into the driver's observer of the same name ({@link #mergeInto}): the observers' own {@code merge}
 * methods, so the arithmetic is the engine's.
 *
 * @param kind      which observer class this came from (merging into another kind is refused)
 * @param min       running minimum (one value, or one per channel)
 * @param max       running maximum
 * @param axis      per-channel observers: the channel axis
 * @param histogram histogram observers: counts over [min, max]
 * @param data      histogram observers: the values' own {min, max}; moving averages: the first batch's
 * @param batches   batches observed
 */
record ObserverState(Kind kind, float[] min, float[] max, int axis, float[] histogram, float[] data, long batches)
        implements Serializable {
    @Serial
    private static final long serialVersionUID = 1L;

    enum Kind { MIN_MAX, MOVING_AVERAGE, PER_CHANNEL, HISTOGRAM, DYNAMIC }

    static ObserverState of(Observer o, String name) {
        long n = o.observedCount();
        return switch (o) {
            case HistogramObserver h -> new ObserverState(Kind.HISTOGRAM, h.minVal(), h.maxVal(), 0,
                    n == 0 ? new float[0] : h.histogram(), h.dataRange(), n);
            case MovingAverageMinMaxObserver m -> new ObserverState(Kind.MOVING_AVERAGE, m.minVal(), m.maxVal(), 0,
                    null, m.firstBatchRange(), n);
            case MinMaxObserver m -> new ObserverState(Kind.MIN_MAX, m.minVal(), m.maxVal(), 0, null, null, n);
            case MovingAveragePerChannelMinMaxObserver m -> throw new UnsupportedOperationException(name
                    + ": per-channel moving averages (QAT) depend on the order of batches and cannot be calibrated"
                    + " across partitions");
            case PerChannelMinMaxObserver p -> new ObserverState(Kind.PER_CHANNEL, p.minVal(), p.maxVal(),
                    p.channelAxis(), null, null, n);
            case PlaceholderObserver p -> new ObserverState(Kind.DYNAMIC, new float[0], new float[0], 0, null, null, n);
            default -> throw new UnsupportedOperationException(name + ": " + o.getClass().getName()
                    + " has no merge for distributed calibration");
        };
    }

    /**
     * Folds this partition's statistics into {@code target} (the driver's observer of the same name; partitions
     * are folded in partition order, which only moving averages depend on).
     */
    void mergeInto(Observer target, String name) {
        ObserverState mine = of(target, name);
        if (mine.kind != kind) {
            throw new IllegalStateException(name + ": the partition's observer is a " + kind + ", the driver's a "
                    + mine.kind + " (the model or its mapping differ between JVMs)");
        }
        if (batches == 0) {
            return;
        }
        switch (target) {
            case HistogramObserver h -> h.merge(histogram, min[0], max[0], data, batches);
            case MovingAverageMinMaxObserver m -> m.mergeFollowing(min[0], max[0], data[0], data[1], batches);
            case MinMaxObserver m -> m.merge(min[0], max[0], batches);
            case PerChannelMinMaxObserver p -> p.merge(min, max, axis, batches);
            default -> {
                // Dynamic placeholders keep nothing but a count, which convert does not read.
            }
        }
    }
}
