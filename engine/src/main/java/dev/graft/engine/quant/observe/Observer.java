package dev.graft.engine.quant.observe;

import dev.graft.engine.LeafModule;
import dev.graft.engine.Module;
import dev.graft.engine.quant.QuantSpec;
import dev.graft.ops.QParams;
import dev.graft.ops.Tensor;

import java.util.Objects;

/**
 * A module that watches the tensors flowing through it and proposes quantization parameters for them. Its
 * {@code forward} is the identity (it observes and returns its input), so an observer can sit in a module tree or
 * be inserted as a {@code call_module} node of a traced graph without changing results.
 *
 * <p>Differences from PyTorch, on purpose:
 * <ul>
 *   <li>NaN or infinite values in calibration data throw {@link CalibrationException} ({@code NON_FINITE}) naming
 *       the observer and the counts seen; the observer's state is left as it was before that batch. PyTorch 1.13
 *       would record them and end up with a NaN or infinite scale.</li>
 *   <li>{@link #calculateQParams()} on an observer that never saw data throws ({@code NOT_OBSERVED}) instead of
 *       PyTorch's silent {@code scale = 1.0, zero_point = 0}; passes check {@link #observedCount()} first and
 *       report the blocks calibration never reached.</li>
 *   <li>Symbolic tensors (during tracing) are passed through without being observed, so tracing never changes
 *       calibration state.</li>
 * </ul>
 * Empty tensors are ignored, as in PyTorch.
 */
public abstract class Observer extends Module implements QParamsSource, LeafModule {

    private final QuantSpec spec;
    private long observedCount;
    private String label = "";

    protected Observer(QuantSpec spec) {
        this.spec = Objects.requireNonNull(spec, "spec");
    }

    /** Dtype, scheme, range, eps and axis this observer computes parameters for. */
    @Override
    public final QuantSpec spec() {
        return spec;
    }

    /**
     * Records the statistics of {@code x}. Throws {@link CalibrationException} on NaN/Inf without changing state.
     */
    public final void observe(Tensor x) {
        Objects.requireNonNull(x, "x");
        if (x.isSymbolic() || x.numel() == 0) {
            return;
        }
        float[] values = x.toFloatArray();
        int nan = 0;
        int inf = 0;
        for (float v : values) {
            if (Float.isNaN(v)) {
                nan++;
            } else if (Float.isInfinite(v)) {
                inf++;
            }
        }
        if (nan + inf > 0) {
            throw new CalibrationException(CalibrationException.Reason.NON_FINITE, describeSelf(),
                    "calibration batch " + (observedCount + 1) + " holds " + nan + " NaN and " + inf
                            + " infinite values (of " + values.length + "); fix the input data or the model upstream");
        }
        update(values, x.shape());
        observedCount++;
    }

    /** Updates the state from one batch of finite values ({@code values} is row-major over {@code shape}). */
    protected abstract void update(float[] values, int[] shape);

    /** Scale(s) and zero point(s) for what was observed; throws if nothing was. */
    @Override
    public final QParams calculateQParams() {
        requireObserved();
        return computeQParams();
    }

    /** {@link #calculateQParams()} once at least one batch was observed. */
    protected abstract QParams computeQParams();

    protected final void requireObserved() {
        if (observedCount == 0) {
            throw new CalibrationException(CalibrationException.Reason.NOT_OBSERVED, describeSelf(),
                    "never observed any data (calibration did not reach this point)");
        }
    }

    /** Running minimum: one value per tensor or one per channel; empty before any data. */
    public abstract float[] minVal();

    /** Running maximum, shaped as {@link #minVal()}. */
    public abstract float[] maxVal();

    /** Forgets everything observed. */
    public final void reset() {
        observedCount = 0;
        resetState();
    }

    protected abstract void resetState();

    /** How many non-empty batches were observed since creation or the last {@link #reset()}. */
    @Override
    public final long observedCount() {
        return observedCount;
    }

    /**
     * Adds {@code batches} to {@link #observedCount()}: for the {@code merge} methods of subclasses, which fold in
     * statistics another observer of the same kind gathered over other data (distributed calibration).
     */
    protected final void addObserved(long batches) {
        if (batches < 0) {
            throw new IllegalArgumentException(describeSelf() + ": cannot merge a negative batch count " + batches);
        }
        observedCount += batches;
    }

    /** A name for messages, typically the module path or graph node this observer watches. */
    public final Observer setLabel(String newLabel) {
        this.label = Objects.requireNonNull(newLabel, "label");
        return this;
    }

    public final String label() {
        return label;
    }

    protected final String describeSelf() {
        return (label.isEmpty() ? "" : label + " ") + getClass().getSimpleName() + "(" + spec + ")";
    }

    protected final CalibrationException shapeError(String message) {
        return new CalibrationException(CalibrationException.Reason.SHAPE, describeSelf(), message);
    }

    @Override
    protected final Tensor forward(Tensor... inputs) {
        Tensor x = single(inputs);
        observe(x);
        return x;
    }

    @Override
    protected String extraRepr() {
        float[] min = minVal();
        float[] max = maxVal();
        String range = min.length == 1 ? "min_val=" + min[0] + ", max_val=" + max[0]
                : min.length == 0 ? "unobserved" : min.length + " channels";
        return spec + ", " + range;
    }
}
