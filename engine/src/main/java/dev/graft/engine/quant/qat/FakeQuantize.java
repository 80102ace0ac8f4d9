package dev.graft.engine.quant.qat;

import dev.graft.engine.LeafModule;
import dev.graft.engine.Module;
import dev.graft.engine.quant.QuantSpec;
import dev.graft.engine.quant.observe.Observer;
import dev.graft.engine.quant.observe.QParamsSource;
import dev.graft.ops.QParams;
import dev.graft.ops.Tensor;

import java.util.Objects;

/**
 * Observer plus fake quantization, for quantization-aware training (PyTorch's {@code FakeQuantize}). Forward: when
 * the observer is enabled it observes the input and refreshes the parameters; when fake-quant is enabled the output
 * is {@code dequantize(quantize(x))} with those parameters, otherwise the input itself. The two switches are
 * independent (observe without fake-quantizing for a warm-up, or freeze the observer and keep fake-quantizing).
 *
 * <p>Range: the clamp uses the observer's own {@code [qmin, qmax]} ({@link QuantSpec#fakeQuantize} with the
 * observer's spec and the {@link QParams} it computed). PyTorch 1.13 fake-quantizes x86 activations to the
 * FakeQuantize's [0, 255] while its observer computes the scale for the reduced [0, 127], and the converted model
 * then uses yet another combination; here training and the converted model take the same spec and parameters, so
 * they quantize identically.
 *
 * <p>The forward runs {@link dev.graft.ops.FakeQuantOps#FAKE_QUANTIZE} through Dispatch, so autograd records it and
 * backpropagates the straight-through estimator (also available directly as {@link #backward(Tensor, Tensor)}).
 */
public class FakeQuantize extends Module implements QParamsSource, LeafModule {

    private final Observer observer;
    private boolean observerEnabled = true;
    private boolean fakeQuantEnabled = true;
    private QParams current;

    public FakeQuantize(Observer observer) {
        this.observer = registerModule("activation_post_process", Objects.requireNonNull(observer, "observer"));
    }

    public Observer observer() {
        return observer;
    }

    public FakeQuantize enableObserver(boolean on) {
        observerEnabled = on;
        return this;
    }

    public FakeQuantize enableFakeQuant(boolean on) {
        fakeQuantEnabled = on;
        return this;
    }

    public boolean isObserverEnabled() {
        return observerEnabled;
    }

    public boolean isFakeQuantEnabled() {
        return fakeQuantEnabled;
    }

    @Override
    public QuantSpec spec() {
        return observer.spec();
    }

    @Override
    public long observedCount() {
        return observer.observedCount();
    }

    /**
     * The parameters the forward uses: the last ones computed while observing, or (if the observer never ran in a
     * forward) the observer's current ones.
     */
    @Override
    public QParams calculateQParams() {
        return current != null ? current : observer.calculateQParams();
    }

    @Override
    protected Tensor forward(Tensor... inputs) {
        Tensor x = single(inputs);
        if (x.isSymbolic()) {
            // Tracing: values are not available and the output has the input's shape and dtype.
            return x;
        }
        if (observerEnabled) {
            observer.observe(x);
            current = observer.calculateQParams();
        }
        if (!fakeQuantEnabled) {
            return x;
        }
        return spec().fakeQuantize(x, calculateQParams());
    }

    /**
     * The gradient with respect to the input for output gradient {@code grad}: passed through where the input
     * quantized inside {@code [qmin, qmax]}, zero elsewhere; unchanged when fake-quant is off.
     */
    public Tensor backward(Tensor x, Tensor grad) {
        if (!fakeQuantEnabled) {
            return grad;
        }
        return spec().fakeQuantizeBackward(x, grad, calculateQParams());
    }

    @Override
    protected String extraRepr() {
        return "fake_quant_enabled=" + fakeQuantEnabled + ", observer_enabled=" + observerEnabled
                + (current == null ? "" : ", " + current);
    }
}
