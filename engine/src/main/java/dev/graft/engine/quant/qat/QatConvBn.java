package dev.graft.engine.quant.qat;

import dev.graft.engine.LeafModule;
import dev.graft.engine.Module;
import dev.graft.engine.nn.BatchNorm2d;
import dev.graft.engine.nn.Conv2d;
import dev.graft.engine.quant.nn.ConvBn2d;
import dev.graft.ops.F;
import dev.graft.ops.QParams;
import dev.graft.ops.Tensor;

import java.util.Objects;

/**
 * Conv2d -> BatchNorm2d [-> ReLU] for quantization-aware training with the batch norm kept unfused, as PyTorch's
 * {@code nn.intrinsic.qat.ConvBn2d} / {@code ConvBnReLU2d} ({@code _forward_approximate}):
 * <pre>
 *   k = gamma / sqrt(running_var + eps)                   per output channel
 *   y = conv(x, fake_quant(w * k)) / k  (+ conv bias)     the weight convert will quantize, scaled back
 *   y = bn(y)                                             batch statistics (updating the running ones) while
 *                                                         training, the running statistics once frozen or in eval
 * </pre>
 * so the fake-quantized weight is the folded one, while BN still normalizes with the batch's statistics: the
 * {@code 1/k} rescale makes the BN input the plain conv output. BN switches to its running statistics (frozen) after
 * {@code freezeBnAfterSteps} training forwards or on {@link #freezeBnStats()}; then the forward is the folded conv up
 * to float rounding. Gradients reach the conv weight (straight-through), gamma (through {@code k} and BN) and beta.
 * Convert folds BN into the conv from the running statistics exactly as PTQ fusion does ({@link ConvBn2d#fold}) and quantizes the folded
 * weight with {@link #weightQParams()}.
 */
public final class QatConvBn extends Module implements LeafModule, QatModule {
    private final Conv2d conv;
    private final BatchNorm2d bn;
    private final boolean relu;
    private final FakeQuantize weightFakeQuant;
    private final long freezeBnAfterSteps;
    private long steps;
    private boolean frozen;

    /**
     * @param conv               the Conv2d whose weight is trained
     * @param bn                 the BatchNorm2d after it (trained: gamma, beta and the running statistics)
     * @param relu               whether a ReLU follows inside this leaf
     * @param weightFakeQuant    per-channel fake-quant for the scaled weight (axis 0)
     * @param freezeBnAfterSteps training forwards with batch statistics before BN uses the running ones
     */
    public QatConvBn(Conv2d conv, BatchNorm2d bn, boolean relu, FakeQuantize weightFakeQuant, long freezeBnAfterSteps) {
        if (bn.features() != conv.outChannels()) {
            throw new IllegalArgumentException("QatConvBn: conv has " + conv.outChannels() + " output channels, batch"
                    + " norm " + bn.features());
        }
        this.conv = registerModule("conv", conv);
        this.bn = registerModule("bn", bn);
        this.relu = relu;
        this.weightFakeQuant = registerModule("weight_fake_quant", Objects.requireNonNull(weightFakeQuant));
        this.freezeBnAfterSteps = freezeBnAfterSteps;
        this.frozen = freezeBnAfterSteps == 0;
    }

    public Conv2d conv() {
        return conv;
    }

    public BatchNorm2d bn() {
        return bn;
    }

    public boolean hasReLU() {
        return relu;
    }

    @Override
    public FakeQuantize weightFakeQuant() {
        return weightFakeQuant;
    }

    /** Training forwards so far (each one with batch statistics until frozen). */
    public long steps() {
        return steps;
    }

    /** Whether BN normalizes with its running statistics (and no longer updates them). */
    public boolean isBnFrozen() {
        return frozen;
    }

    /** Freezes the BN statistics now (PyTorch's {@code freeze_bn_stats}). */
    public void freezeBnStats() {
        frozen = true;
    }

    /** The conv with BN folded in from the running statistics, as PTQ fusion folds it ({@link ConvBn2d#fold}). */
    public Conv2d folded() {
        return ConvBn2d.fold(conv, bn);
    }

    /**
     * The folded weight's qparams for convert: while the fake-quant's observer is on it observes the folded weight
     * once more (as PyTorch's {@code from_float}), so the INT8 weights are quantized with parameters that cover them.
     */
    @Override
    public QParams weightQParams() {
        if (weightFakeQuant.isObserverEnabled() || weightFakeQuant.observedCount() == 0) {
            weightFakeQuant.observer().observe(folded().weight());
        }
        return weightFakeQuant.observer().calculateQParams();
    }

    @Override
    protected Tensor forward(Tensor... inputs) {
        Tensor x = single(inputs);
        int out = conv.outChannels();
        Tensor k = bn.weight().div(bn.runningVar().add(bn.eps()).sqrt());
        Tensor w = weightFakeQuant.call(conv.weight().mul(k.reshape(out, 1, 1, 1)));
        Tensor y = F.conv2d(x, w, null, conv.stride(), conv.padding(), conv.dilation(), conv.groups())
                .div(k.reshape(1, out, 1, 1));
        if (conv.bias() != null) {
            y = y.add(conv.bias().reshape(1, out, 1, 1));
        }
        boolean batchStatistics = isTraining() && !frozen && !x.isSymbolic();
        if (batchStatistics) {
            y = bn.call(y);
            steps++;
            frozen = steps >= freezeBnAfterSteps;
        } else {
            y = F.batchNorm(y, bn.runningMean(), bn.runningVar(), bn.weight(), bn.bias(), bn.eps());
        }
        return relu ? F.relu(y) : y;
    }

    @Override
    protected String extraRepr() {
        return "Conv2d-BatchNorm2d" + (relu ? "-ReLU" : "") + ", freeze_bn_after_steps=" + freezeBnAfterSteps
                + ", steps=" + steps + (frozen ? ", frozen" : "");
    }
}
