package dev.graft.engine.quant.qat;

import dev.graft.engine.LeafModule;
import dev.graft.engine.Module;
import dev.graft.engine.nn.Conv2d;
import dev.graft.engine.nn.Linear;
import dev.graft.ops.F;
import dev.graft.ops.QParams;
import dev.graft.ops.Tensor;

import java.util.Objects;

/**
 * A Linear or Conv2d for quantization-aware training (PyTorch's {@code nn.qat.Linear} / {@code Conv2d}, and with
 * {@code relu} their {@code LinearReLU} / {@code ConvReLU2d}): the forward fake-quantizes the weight per output
 * channel with its own {@link FakeQuantize} ({@link #weightFakeQuant()}) and then computes the float layer, so the
 * gradient reaches the float weight through the straight-through estimator. The wrapped layer keeps its parameters
 * (child {@code layer}), so the optimizer trains them and convert quantizes them with the same weight qparams the
 * training forward used.
 */
public final class QatLayer extends Module implements LeafModule, QatModule {
    private final Module layer;
    private final boolean relu;
    private final FakeQuantize weightFakeQuant;

    /**
     * @param layer           a Linear or Conv2d (batch norm, if any, already folded into it)
     * @param relu            whether a ReLU follows inside this leaf (a fused layer)
     * @param weightFakeQuant per-channel fake-quant for the weight (axis 0)
     */
    public QatLayer(Module layer, boolean relu, FakeQuantize weightFakeQuant) {
        if (!(layer instanceof Conv2d) && !(layer instanceof Linear)) {
            throw new IllegalArgumentException("QatLayer: wraps Conv2d or Linear, got " + layer.getClass().getSimpleName());
        }
        this.layer = registerModule("layer", layer);
        this.relu = relu;
        this.weightFakeQuant = registerModule("weight_fake_quant", Objects.requireNonNull(weightFakeQuant));
    }

    /** The float Linear or Conv2d whose weights are trained. */
    public Module layer() {
        return layer;
    }

    public boolean hasReLU() {
        return relu;
    }

    @Override
    public FakeQuantize weightFakeQuant() {
        return weightFakeQuant;
    }

    /** The float weight. */
    public Tensor weight() {
        return layer instanceof Linear l ? l.weight() : ((Conv2d) layer).weight();
    }

    /**
     * The weight's qparams for convert: as PyTorch's {@code from_float}, the fake-quant sees the final weight once
     * more when its observer is still on, so the INT8 weights are quantized with parameters that cover them.
     */
    @Override
    public QParams weightQParams() {
        if (weightFakeQuant.isObserverEnabled() || weightFakeQuant.observedCount() == 0) {
            weightFakeQuant.observer().observe(weight().concrete());
        }
        return weightFakeQuant.observer().calculateQParams();
    }

    @Override
    protected Tensor forward(Tensor... inputs) {
        Tensor x = single(inputs);
        Tensor w = weightFakeQuant.call(weight());
        Tensor y = layer instanceof Linear l ? F.linear(x, w, l.bias())
                : conv((Conv2d) layer, x, w);
        return relu ? F.relu(y) : y;
    }

    private static Tensor conv(Conv2d c, Tensor x, Tensor w) {
        return F.conv2d(x, w, c.bias(), c.stride(), c.padding(), c.dilation(), c.groups());
    }

    @Override
    protected String extraRepr() {
        return layer.getClass().getSimpleName() + (relu ? "+ReLU" : "");
    }
}
