package dev.graft.engine.quant.observe;

import dev.graft.engine.quant.QDType;
import dev.graft.engine.quant.QScheme;
import dev.graft.engine.quant.QuantSpec;
import dev.graft.ops.QParams;

/**
 * Running minimum and maximum of everything observed, per tensor (PyTorch's {@code MinMaxObserver}). The scale and
 * zero point come from {@link QuantSpec#compute(float, float)}.
 */
public class MinMaxObserver extends Observer {

    /** Current range; +Inf / -Inf before any data, as PyTorch's buffers. */
    protected float min = Float.POSITIVE_INFINITY;
    protected float max = Float.NEGATIVE_INFINITY;

    public MinMaxObserver(QuantSpec spec) {
        super(requirePerTensor(spec));
    }

    /** PyTorch's defaults: quint8, per-tensor affine, no reduce_range. */
    public MinMaxObserver() {
        this(QuantSpec.of(QDType.QUINT8, QScheme.PER_TENSOR_AFFINE, false));
    }

    static QuantSpec requirePerTensor(QuantSpec spec) {
        if (spec.scheme().isPerChannel()) {
            throw new IllegalArgumentException("a per-tensor observer needs a per-tensor scheme, got " + spec.scheme());
        }
        return spec;
    }

    @Override
    protected void update(float[] values, int[] shape) {
        float lo = Float.POSITIVE_INFINITY;
        float hi = Float.NEGATIVE_INFINITY;
        for (float v : values) {
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
        }
        combine(lo, hi);
    }

    /** Folds one batch's range into the running range. */
    protected void combine(float batchMin, float batchMax) {
        min = Math.min(min, batchMin);
        max = Math.max(max, batchMax);
    }

    /**
     * Folds in the range another observer of this kind saw over {@code batches} other batches, as if this one had
     * seen them too. Minimum and maximum do not depend on order, so merging the observers of several data
     * partitions, in any order, gives exactly the range one observer would have over all their batches.
     */
    public void merge(float otherMin, float otherMax, long batches) {
        if (batches == 0) {
            return;
        }
        min = Math.min(min, otherMin);
        max = Math.max(max, otherMax);
        addObserved(batches);
    }

    @Override
    protected QParams computeQParams() {
        return spec().compute(min, max);
    }

    @Override
    public float[] minVal() {
        return observedCount() == 0 ? new float[0] : new float[] {min};
    }

    @Override
    public float[] maxVal() {
        return observedCount() == 0 ? new float[0] : new float[] {max};
    }

    @Override
    protected void resetState() {
        min = Float.POSITIVE_INFINITY;
        max = Float.NEGATIVE_INFINITY;
    }
}
