package dev.graft.engine.quant.tune;

import dev.graft.engine.ProgressListener;
import dev.graft.engine.quant.QConfig;
import dev.graft.engine.quant.QConfigMapping;
import dev.graft.engine.quant.QDType;
import dev.graft.engine.quant.QScheme;
import dev.graft.engine.quant.QuantSpec;
import dev.graft.engine.quant.observe.HistogramObserver;
import dev.graft.engine.quant.observe.MinMaxObserver;
import dev.graft.engine.quant.observe.MovingAverageMinMaxObserver;
import dev.graft.engine.quant.observe.Observer;
import dev.graft.engine.quant.observe.PerChannelMinMaxObserver;
import dev.graft.engine.quant.passes.SmoothQuant;
import dev.graft.engine.quant.passes.StaticQuantizer;
import dev.graft.engine.quant.report.QuantizationReport;
import dev.graft.engine.trace.Partition;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * A static INT8 recipe as data: the activation observer, per-channel or per-tensor weights, SmoothQuant's alpha (or
 * none), and what differs from "INT8" for single operators. It is what the tuner searches over, what a tuned
 * {@code .graft} file records ({@link #toInfo()} / {@link #fromInfo(Object)}), and what re-applies the result
 * without tuning ({@link #apply}).
 *
 * <p>An operator is named by its module path for a layer ({@code encoder.layer.0.output.LayerNorm}) and by
 * {@code <block path>#<node name>} for a functional operator of a traced block ({@code encoder#add_3}); node names
 * are stable across re-traces of the same code.
 */
public record Recipe(ActivationObserver observer, boolean perChannelWeights, double smoothQuantAlpha,
                     Map<String, Choice> overrides) {

    /** How activation ranges are calibrated. */
    public enum ActivationObserver {
        /** Min and max over all calibration batches. */
        MINMAX("minmax"),
        /** Min and max averaged over batches (averaging constant 0.01, as PyTorch). */
        MOVING_AVERAGE("moving_average"),
        /** PyTorch's histogram with the L2 search for the range. */
        HISTOGRAM("histogram"),
        /** The 0.01st and 99.99th percentiles, averaged over batches ({@link PercentileObserver}). */
        PERCENTILE("percentile");

        private final String label;

        ActivationObserver(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }

        public static ActivationObserver ofLabel(String label) {
            for (ActivationObserver o : values()) {
                if (o.label.equals(label)) {
                    return o;
                }
            }
            throw new IllegalArgumentException("unknown activation observer '" + label + "' (minmax, moving_average,"
                    + " histogram, percentile)");
        }
    }

    /** What one operator does instead of the default (INT8). */
    public enum Choice {
        INT8, DYNAMIC, FP32;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public Recipe {
        Objects.requireNonNull(observer, "observer");
        if (!Double.isNaN(smoothQuantAlpha) && !(smoothQuantAlpha >= 0 && smoothQuantAlpha <= 1)) {
            throw new IllegalArgumentException("Recipe: SmoothQuant alpha must be in [0, 1] or NaN (off), got "
                    + smoothQuantAlpha);
        }
        overrides = java.util.Collections.unmodifiableMap(new TreeMap<>(overrides));
    }

    /** Graft's generic static default: histogram observers, per-channel weights, no smoothing, everything INT8. */
    public static Recipe generic() {
        return new Recipe(ActivationObserver.HISTOGRAM, true, Double.NaN, Map.of());
    }

    public boolean smoothQuant() {
        return !Double.isNaN(smoothQuantAlpha);
    }

    public Recipe withObserver(ActivationObserver o) {
        return new Recipe(o, perChannelWeights, smoothQuantAlpha, overrides);
    }

    public Recipe withPerChannelWeights(boolean on) {
        return new Recipe(observer, on, smoothQuantAlpha, overrides);
    }

    /** SmoothQuant with this alpha; NaN turns it off. */
    public Recipe withSmoothQuant(double alpha) {
        return new Recipe(observer, perChannelWeights, alpha, overrides);
    }

    /** The same recipe with operator {@code op} set to {@code choice} (INT8 removes the override). */
    public Recipe with(String op, Choice choice) {
        Map<String, Choice> m = new LinkedHashMap<>(overrides);
        if (choice == Choice.INT8) {
            m.remove(op);
        } else {
            m.put(op, choice);
        }
        return new Recipe(observer, perChannelWeights, smoothQuantAlpha, m);
    }

    /** The operators this recipe keeps FP32, sorted. */
    public List<String> fp32() {
        return overrides.entrySet().stream().filter(e -> e.getValue() == Choice.FP32).map(Map.Entry::getKey).toList();
    }

    /** The QConfig of every INT8 operator. */
    public QConfig qconfig() {
        QuantSpec act = QuantSpec.of(QDType.QUINT8, QScheme.PER_TENSOR_AFFINE, false);
        return new QConfig(() -> activationObserver(act), this::weightObserver);
    }

    private Observer activationObserver(QuantSpec spec) {
        return switch (observer) {
            case MINMAX -> new MinMaxObserver(spec);
            case MOVING_AVERAGE -> new MovingAverageMinMaxObserver(spec);
            case HISTOGRAM -> new HistogramObserver(spec);
            case PERCENTILE -> new PercentileObserver(spec, PercentileObserver.DEFAULT_PERCENTILE);
        };
    }

    private Observer weightObserver() {
        return perChannelWeights
                ? new PerChannelMinMaxObserver(QuantSpec.of(QDType.QINT8, QScheme.PER_CHANNEL_SYMMETRIC, false))
                : new MinMaxObserver(QuantSpec.of(QDType.QINT8, QScheme.PER_TENSOR_SYMMETRIC, false));
    }

    /** The mapping the static quantizer reads: this recipe's QConfig globally, then each override. */
    public QConfigMapping mapping() {
        QConfig int8 = qconfig();
        QConfigMapping m = new QConfigMapping().global(int8).floatOutputs(true);
        overrides.forEach((op, choice) -> {
            QConfig qc = switch (choice) {
                case INT8 -> int8;
                case DYNAMIC -> new QConfig(QConfig.dynamicDefault().activation(), this::weightObserver);
                case FP32 -> null;
            };
            int hash = op.indexOf('#');
            if (hash >= 0) {
                m.byNode(op.substring(0, hash), op.substring(hash + 1), qc);
            } else {
                m.byModuleName(op, qc);
            }
        });
        return m;
    }

    /**
     * Quantizes a partitioned FP32 model with this recipe: SmoothQuant (when on) on the Linears not kept FP32, then
     * prepare, calibrate on {@code calibration} and convert. {@code statistics} may be SmoothQuant statistics already
     * measured on the same FP32 model and data (the tuner reuses them across trials), or null.
     */
    public QuantizationReport apply(Partition partition, List<Object[]> calibration, SmoothQuant.Statistics statistics,
                                    ProgressListener progress) {
        if (smoothQuant()) {
            SmoothQuant.Statistics stats = statistics != null ? statistics
                    : SmoothQuant.observe(partition, calibration, progress);
            SmoothQuant.apply(partition, stats, smoothQuantAlpha, smoothed(partition)::contains);
        }
        StaticQuantizer.Prepared prepared = StaticQuantizer.prepare(partition, mapping());
        StaticQuantizer.calibrate(prepared, calibration, progress);
        return StaticQuantizer.convert(prepared);
    }

    /**
     * The Linears SmoothQuant treats under this recipe: those not kept FP32 whose input stays float, made by an
     * operator this recipe keeps FP32 (a LayerNorm, a GELU) or coming into the block. An input an INT8 operator makes
     * is already rounded to one per-tensor scale; dividing it per channel afterwards cannot restore what was lost.
     */
    public java.util.Set<String> smoothed(Partition partition) {
        java.util.Set<String> out = new java.util.LinkedHashSet<>();
        SmoothQuant.inputs(partition).forEach((linear, input) -> {
            String blockPath = input.getKey();
            dev.graft.engine.graph.Node producer = input.getValue();
            boolean floatInput = producer.kind() == dev.graft.engine.graph.NodeKind.PLACEHOLDER
                    || overrides.get(opId(blockPath, producer)) == Choice.FP32;
            if (floatInput && overrides.get(linear) != Choice.FP32) {
                out.add(linear);
            }
        });
        return out;
    }

    /** An operator's name in a recipe: the module path of a layer, {@code block#node} for a functional operator. */
    public static String opId(String blockPath, dev.graft.engine.graph.Node n) {
        if (n.target() instanceof dev.graft.engine.graph.Target.ModuleCall mc) {
            return blockPath.isEmpty() ? mc.path() : blockPath + "." + mc.path();
        }
        return blockPath + "#" + n.name();
    }

    /** The recipe as plain values for a file's info (strings, booleans, numbers, lists). */
    public Map<String, Object> toInfo() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("observer", observer.label());
        m.put("per_channel_weights", perChannelWeights);
        m.put("smoothquant_alpha", smoothQuant() ? String.valueOf(smoothQuantAlpha) : "off");
        for (Choice c : List.of(Choice.FP32, Choice.DYNAMIC)) {
            List<String> ops = new ArrayList<>();
            overrides.forEach((op, choice) -> {
                if (choice == c) {
                    ops.add(op);
                }
            });
            m.put(c.label(), ops);
        }
        return m;
    }

    /** Reads {@link #toInfo()}'s form back; names what is wrong. */
    public static Recipe fromInfo(Object info) {
        if (!(info instanceof Map<?, ?> m)) {
            throw new IllegalArgumentException("recipe: expected an object, got "
                    + (info == null ? "nothing" : info.getClass().getSimpleName()));
        }
        ActivationObserver observer = ActivationObserver.ofLabel(string(m, "observer"));
        Object perChannel = m.get("per_channel_weights");
        if (!(perChannel instanceof Boolean pc)) {
            throw new IllegalArgumentException("recipe: per_channel_weights must be true or false, got " + perChannel);
        }
        String alpha = string(m, "smoothquant_alpha");
        double a;
        try {
            a = alpha.equals("off") ? Double.NaN : Double.parseDouble(alpha);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("recipe: smoothquant_alpha must be a number or 'off', got '" + alpha
                    + "'");
        }
        Map<String, Choice> overrides = new LinkedHashMap<>();
        for (Choice c : List.of(Choice.FP32, Choice.DYNAMIC)) {
            Object ops = m.get(c.label());
            if (ops == null) {
                continue;
            }
            if (!(ops instanceof List<?> list)) {
                throw new IllegalArgumentException("recipe: '" + c.label() + "' must be a list of operator names");
            }
            for (Object op : list) {
                if (!(op instanceof String s) || s.isEmpty()) {
                    throw new IllegalArgumentException("recipe: '" + c.label() + "' holds " + op
                            + ", not an operator name");
                }
                overrides.put(s, c);
            }
        }
        return new Recipe(observer, pc, a, overrides);
    }

    private static String string(Map<?, ?> m, String key) {
        if (!(m.get(key) instanceof String s)) {
            throw new IllegalArgumentException("recipe: '" + key + "' must be a string, got " + m.get(key));
        }
        return s;
    }

    /** One short line: observer, weights, SmoothQuant, override counts. */
    public String summary() {
        long fp32 = overrides.values().stream().filter(c -> c == Choice.FP32).count();
        long dynamic = overrides.values().stream().filter(c -> c == Choice.DYNAMIC).count();
        return observer.label() + " activations, " + (perChannelWeights ? "per-channel" : "per-tensor")
                + " weights, SmoothQuant " + (smoothQuant() ? "alpha " + smoothQuantAlpha : "off") + ", " + fp32
                + " FP32" + (dynamic > 0 ? ", " + dynamic + " dynamic" : "") + " operator" + (fp32 == 1 ? "" : "s");
    }

    /** The summary, then every override on its own line. */
    public String describe() {
        StringBuilder sb = new StringBuilder("recipe: ").append(summary()).append('\n');
        overrides.forEach((op, c) -> sb.append("  ").append(c.label()).append("  ").append(op).append('\n'));
        return sb.toString();
    }
}
