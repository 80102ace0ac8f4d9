package dev.graft.engine.quant.observe;

import dev.graft.engine.quant.QuantSpec;
import dev.graft.ops.QParams;

import java.util.Arrays;

/**
 * Running minimum and maximum per slice along the spec's channel axis (PyTorch's
 * {@code PerChannelMinMaxObserver}; the default weight observer with qint8 per-channel symmetric, axis 0). A negative
 * axis counts from the end of each observed tensor; every batch must have the same number of channels.
 */
public class PerChannelMinMaxObserver extends Observer {

    protected float[] min = new float[0];
    protected float[] max = new float[0];

    public PerChannelMinMaxObserver(QuantSpec spec) {
        super(requirePerChannel(spec));
    }

    private static QuantSpec requirePerChannel(QuantSpec spec) {
        if (!spec.scheme().isPerChannel()) {
            throw new IllegalArgumentException("a per-channel observer needs a per-channel scheme, got "
                    + spec.scheme());
        }
        return spec;
    }

    /** The channel axis of the tensors observed, counted from the front (the spec's may count from the end). */
    private int observedAxis;

    @Override
    protected void update(float[] values, int[] shape) {
        int rank = shape.length;
        int axis = spec().axis() < 0 ? spec().axis() + rank : spec().axis();
        if (axis < 0 || axis >= rank) {
            throw shapeError("channel axis " + spec().axis() + " out of range for a tensor of shape "
                    + Arrays.toString(shape));
        }
        observedAxis = axis;
        int channels = shape[axis];
        if (observedCount() > 0 && channels != min.length) {
            throw shapeError("batch of shape " + Arrays.toString(shape) + " has " + channels
                    + " channels on axis " + axis + " but earlier batches had " + min.length);
        }
        int inner = 1;
        for (int d = axis + 1; d < rank; d++) {
            inner *= shape[d];
        }
        float[] lo = new float[channels];
        float[] hi = new float[channels];
        Arrays.fill(lo, Float.POSITIVE_INFINITY);
        Arrays.fill(hi, Float.NEGATIVE_INFINITY);
        for (int i = 0; i < values.length; i++) {
            int c = (i / inner) % channels;
            lo[c] = Math.min(lo[c], values[i]);
            hi[c] = Math.max(hi[c], values[i]);
        }
        if (observedCount() == 0) {
            min = lo;
            max = hi;
        } else {
            combine(lo, hi);
        }
    }

    /** Folds one batch's per-channel ranges into the running ones (after the first batch). */
    protected void combine(float[] batchMin, float[] batchMax) {
        for (int c = 0; c < min.length; c++) {
            min[c] = Math.min(min[c], batchMin[c]);
            max[c] = Math.max(max[c], batchMax[c]);
        }
    }

    /** The channel axis, counted from the front, of the tensors observed (what {@link #merge} takes). */
    public int channelAxis() {
        return observedAxis;
    }

    /**
     * Folds in the per-channel ranges another observer of this kind saw over {@code batches} other batches (tensors
     * with their channels on {@code axis}); order-independent, as {@link MinMaxObserver#merge}.
     */
    public void merge(float[] otherMin, float[] otherMax, int axis, long batches) {
        if (batches == 0) {
            return;
        }
        if (otherMin.length != otherMax.length || (observedCount() > 0 && otherMin.length != min.length)) {
            throw shapeError("cannot merge " + otherMin.length + " channels into " + min.length);
        }
        if (observedCount() == 0) {
            min = otherMin.clone();
            max = otherMax.clone();
            observedAxis = axis;
        } else {
            for (int c = 0; c < min.length; c++) {
                min[c] = Math.min(min[c], otherMin[c]);
                max[c] = Math.max(max[c], otherMax[c]);
            }
        }
        addObserved(batches);
    }

    @Override
    protected QParams computeQParams() {
        return spec().compute(min, max, observedAxis);
    }

    @Override
    public float[] minVal() {
        return min.clone();
    }

    @Override
    public float[] maxVal() {
        return max.clone();
    }

    @Override
    protected void resetState() {
        min = new float[0];
        max = new float[0];
    }
}
