package dev.graft.engine.quant;

import dev.graft.engine.Module;
import dev.graft.engine.quant.observe.HistogramObserver;
import dev.graft.engine.quant.observe.MovingAverageMinMaxObserver;
import dev.graft.engine.quant.observe.MovingAveragePerChannelMinMaxObserver;
import dev.graft.engine.quant.observe.Observer;
import dev.graft.engine.quant.observe.PerChannelMinMaxObserver;
import dev.graft.engine.quant.observe.PlaceholderObserver;
import dev.graft.engine.quant.observe.QParamsSource;
import dev.graft.engine.quant.qat.FakeQuantize;

import java.util.Objects;
import java.util.function.Supplier;

/**
 * How to quantize one module or operator: factories for a fresh activation observer and a fresh weight observer
 * (observers, or {@link FakeQuantize} modules for QAT). Each created module must implement {@link QParamsSource}.
 * Where a {@link QConfigMapping} yields {@code null} instead of a QConfig, the module stays FP32.
 */
public record QConfig(Supplier<? extends Module> activation, Supplier<? extends Module> weight) {

    public QConfig {
        Objects.requireNonNull(activation, "activation");
        Objects.requireNonNull(weight, "weight");
    }

    /** A new activation observer (or fake-quant). */
    public Module createActivation() {
        return check(activation.get(), "activation");
    }

    /** A new weight observer (or fake-quant). */
    public Module createWeight() {
        return check(weight.get(), "weight");
    }

    /** Whether activations are quantized per call by the kernel (dynamic quantization) rather than calibrated. */
    public boolean isDynamic() {
        return createActivation() instanceof PlaceholderObserver;
    }

    /** Whether dynamic activations get one scale and zero point per token (row) rather than per tensor. */
    public boolean isPerTokenDynamic() {
        return createActivation() instanceof PlaceholderObserver p && p.isPerToken();
    }

    private static Module check(Module m, String role) {
        if (!(m instanceof QParamsSource)) {
            throw new IllegalStateException("QConfig " + role + " factory made a "
                    + (m == null ? "null" : m.getClass().getName()) + ", not an observer or fake-quant");
        }
        return m;
    }

    /**
     * PyTorch 1.13's {@code get_default_qconfig("x86")}: activations by a {@link HistogramObserver} (quint8 affine,
     * reduce_range, so [0, 127]), weights by a {@link PerChannelMinMaxObserver} (qint8 per-channel symmetric on
     * axis 0, full [-128, 127]).
     */
    public static QConfig x86Default() {
        return new QConfig(() -> new HistogramObserver(activationSpec()), QConfig::perChannelWeightObserver);
    }

    /**
     * PyTorch 1.13's {@code per_channel_dynamic_qconfig}: activations quantized per call (a
     * {@link PlaceholderObserver}, quint8 [0, 255]), weights per channel as in {@link #x86Default()}.
     */
    public static QConfig dynamicDefault() {
        return new QConfig(() -> new PlaceholderObserver(QuantSpec.of(QDType.QUINT8, QScheme.PER_TENSOR_AFFINE, false)),
                QConfig::perChannelWeightObserver);
    }

    /**
     * Dynamic quantization with per-token activations: torchao's
     * {@code Int8DynamicActivationIntxWeightConfig(weight_dtype=torch.int8, weight_granularity=PerAxis(0),
     * weight_mapping_type=SYMMETRIC, act_mapping_type=ASYMMETRIC)} on uint8 activations
     * ({@code _uint8_asymm_per_token_quant}): every row of a Linear's input (a token) quantized per call with its own
     * scale and zero point over [0, 255], weights per channel as in {@link #dynamicDefault()}. On BERT-family
     * encoders one large token no longer coarsens the whole batch's grid (docs/RESULTS.md: MiniLM's embedding
     * cosine 0.9938 -> 0.9989 with every Linear INT8).
     */
    public static QConfig dynamicPerToken() {
        return new QConfig(() -> PlaceholderObserver.perToken(QuantSpec.of(QDType.QUINT8, QScheme.PER_TENSOR_AFFINE,
                false)), QConfig::perChannelWeightObserver);
    }

    /**
     * PyTorch 1.13's {@code get_default_qat_qconfig("x86")}: activations by FakeQuantize over a
     * {@link MovingAverageMinMaxObserver} (quint8, quant range [0, 255] with reduce_range, so [0, 127]), weights by
     * FakeQuantize over a {@link MovingAveragePerChannelMinMaxObserver} (qint8 per-channel symmetric, axis 0).
     * Unlike PyTorch, the fake-quant clamps to the observer's [0, 127] too, the range the converted model uses.
     */
    public static QConfig qatDefault() {
        return new QConfig(
                () -> new FakeQuantize(new MovingAverageMinMaxObserver(
                        QuantSpec.ofRange(QDType.QUINT8, QScheme.PER_TENSOR_AFFINE, true, 0, 255))),
                () -> new FakeQuantize(new MovingAveragePerChannelMinMaxObserver(
                        QuantSpec.ofRange(QDType.QINT8, QScheme.PER_CHANNEL_SYMMETRIC, false, -128, 127))));
    }

    private static QuantSpec activationSpec() {
        return QuantSpec.of(QDType.QUINT8, QScheme.PER_TENSOR_AFFINE, true);
    }

    private static Observer perChannelWeightObserver() {
        return new PerChannelMinMaxObserver(QuantSpec.of(QDType.QINT8, QScheme.PER_CHANNEL_SYMMETRIC, false));
    }
}
