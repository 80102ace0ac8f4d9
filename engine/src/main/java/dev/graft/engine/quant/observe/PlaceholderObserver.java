package dev.graft.engine.quant.observe;

import dev.graft.engine.quant.QuantSpec;
import dev.graft.ops.QParams;

/**
 * Marks an activation that is quantized dynamically: the kernel picks its parameters from each input at run time
 * ({@code DynamicQuantization.chooseParams}), so there is nothing to calibrate (PyTorch's
 * {@code default_dynamic_quant_observer}). It counts what passes through but has no parameters of its own.
 * {@link #perToken(QuantSpec)} marks activations quantized per token (per row of the input) instead of per tensor.
 */
public final class PlaceholderObserver extends Observer {
    private final boolean perToken;

    /** Per-tensor dynamic activations (PyTorch's fbgemm dynamic linear). */
    public PlaceholderObserver(QuantSpec spec) {
        this(spec, false);
    }

    private PlaceholderObserver(QuantSpec spec, boolean perToken) {
        super(spec);
        this.perToken = perToken;
    }

    /** Dynamic activations with one scale and zero point per token (torchao's per-token activations). */
    public static PlaceholderObserver perToken(QuantSpec spec) {
        return new PlaceholderObserver(spec, true);
    }

    /** Whether each row of the input gets its own qparams. */
    public boolean isPerToken() {
        return perToken;
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
