package dev.graft.engine.quant.observe;

import dev.graft.engine.quant.QuantSpec;
import dev.graft.ops.QParams;

/**
 * Marks an activation that is quantized dynamically: the kernel picks its parameters from each input at run time
 * ({@code DynamicQuantization.chooseParams}), so there is nothing to calibrate (PyTorch's
 * {@code default_dynamic_quant_observer}). It counts what passes through but has no parameters of its own.
 */
public final class PlaceholderObserver extends Observer {

    public PlaceholderObserver(QuantSpec spec) {
        super(spec);
    }

    @Override
    protected void update(float[] values, int[] shape) {
        // Dynamic: nothing to record.
    }

    @Override
    protected QParams computeQParams() {
        throw new UnsupportedOperationException(describeSelf()
                + ": dynamic activations get their parameters per call in the kernel, not from calibration");
    }

    @Override
    public float[] minVal() {
        return new float[0];
    }

    @Override
    public float[] maxVal() {
        return new float[0];
    }

    @Override
    protected void resetState() {
    }
}
