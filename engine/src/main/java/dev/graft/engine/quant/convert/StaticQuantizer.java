package dev.graft.engine.quant.convert;

import dev.graft.engine.Module;
import dev.graft.engine.ProgressListener;
import dev.graft.engine.graph.Graph;
import dev.graft.engine.graph.GraphModule;
import dev.graft.engine.graph.Node;
import dev.graft.engine.graph.NodeKind;
import dev.graft.engine.graph.Target;
import dev.graft.engine.quant.FakeQuantize;
import dev.graft.engine.quant.HistogramObserver;
import dev.graft.engine.quant.Observer;
import dev.graft.engine.quant.PerChannelMinMaxObserver;
import dev.graft.engine.quant.QConfig;
import dev.graft.engine.quant.QConfigMapping;
import dev.graft.engine.quant.QDType;
import dev.graft.engine.quant.QScheme;
import dev.graft.engine.quant.QuantSpec;
import dev.graft.engine.trace.Partition;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Static post-training quantization of a partitioned model's traced blocks, in PyTorch FX's three steps:
 * <pre>{@code
 * Prepared p = StaticQuantizer.prepare(partition, mapping);    // fuse, insert observers
 * StaticQuantizer.calibrate(p, batches, listener);             // run the whole model: control flow included
 * QuantizationReport r = StaticQuantizer.convert(p);           // INT8 modules and ops; FP32 at block edges
 * }</pre>
 * Each step is a {@link GraphModule.GraphPass} added to every block, so a block re-traced later for new input shapes
 * is fused, observed and converted the same way. Observers are block submodules named {@code observer_<node>}; a
 * re-trace produces the same node names, so its observers are the same modules and calibration over several shapes
 * accumulates into one set of statistics.
 *
 * <p>Unlike PyTorch, an operator whose observers never saw data (calibration never reached its branch or block) is
 * not converted with {@code scale = 1.0}: it stays FP32 and {@link QuantizationReport#notReached()} names it.
 */
public final class StaticQuantizer {
    private StaticQuantizer() {
    }

    /** A prepared model: the partition, the mapping, and per block the fusion and the observers. */
    public static final class Prepared {
        private final Partition partition;
        private final QConfigMapping mapping;
        private final long fp32ModelBytes;
        private final Map<String, BlockPlan> blocks = new LinkedHashMap<>();
        private boolean converted;

        private Prepared(Partition partition, QConfigMapping mapping) {
            this.partition = partition;
            this.mapping = mapping;
            this.fp32ModelBytes = QuantizationReport.modelBytes(partition.model());
        }

        public Partition partition() {
            return partition;
        }

        /** Every observer, by block path and then by name. */
        public Map<String, Map<String, Observer>> observers() {
            Map<String, Map<String, Observer>> out = new LinkedHashMap<>();
            blocks.forEach((path, plan) -> out.put(path, Collections.unmodifiableMap(plan.observers)));
            return out;
        }

        /** What fusion did, by block path: layer path -> pattern. */
        public Map<String, Map<String, String>> fused() {
            Map<String, Map<String, String>> out = new LinkedHashMap<>();
            blocks.forEach((path, plan) -> out.put(path, plan.fusion.applied()));
            return out;
        }
    }

    /** One block's state shared by all its specializations. */
    static final class BlockPlan {
        final String path;
        final GraphModule block;
        final Fusion fusion;
        QuantPatterns patterns;
        final Map<String, Observer> observers = new LinkedHashMap<>();

        BlockPlan(String path, GraphModule block) {
            this.path = path;
            this.block = block;
            this.fusion = new Fusion(block);
        }

        QConfig qconfigFor(Node n, QConfigMapping mapping) {
            if (n.target() instanceof Target.ModuleCall mc) {
                Module m = patterns.moduleOf(n);
                return m == null ? null : mapping.qconfigFor(join(path, mc.path()), m);
            }
            if (n.target() instanceof Target.Function f) {
                return mapping.qconfigFor(join(path, (String) n.meta().getOrDefault("module_path", "")), f.op());
            }
            return null;
        }
    }

    /**
     * PyTorch's x86 static defaults except {@code reduce_range}: histogram observers over the full quint8 [0, 255]
     * (Graft's INT8 GEMM accumulates exactly in int32, so the 7-bit workaround for {@code vpmaddubsw} saturation is
     * not needed and would double the rounding error), per-channel symmetric qint8 weights.
     */
    public static QConfigMapping defaultMapping() {
        return new QConfigMapping().global(new QConfig(
                () -> new HistogramObserver(QuantSpec.of(QDType.QUINT8, QScheme.PER_TENSOR_AFFINE, false)),
                () -> new PerChannelMinMaxObserver(QuantSpec.of(QDType.QINT8, QScheme.PER_CHANNEL_SYMMETRIC, false))));
    }

    /** Fuses every traced block and inserts observers where {@code mapping} asks for INT8. */
    public static Prepared prepare(Partition partition, QConfigMapping mapping) {
        Prepared p = new Prepared(partition, mapping);
        for (Map.Entry<String, GraphModule> e : partition.blocks().entrySet()) {
            BlockPlan plan = new BlockPlan(e.getKey(), e.getValue());
            p.blocks.put(e.getKey(), plan);
            plan.block.applyPass(plan.fusion);
            // Classify against the modules after fusion, before convert swaps any.
            plan.patterns = new QuantPatterns(new LinkedHashMap<>(plan.block.namedModules()));
            plan.block.applyPass((owner, spec) -> insertObservers(plan, mapping, spec.graph()));
        }
        return p;
    }

    /**
     * Runs the whole model on each batch (its eager control flow decides which blocks and branches run), reporting
     * progress after each. {@code total} is the collection's size, or -1 for other iterables.
     */
    public static void calibrate(Prepared prepared, Iterable<Object[]> batches, ProgressListener listener) {
        if (prepared.converted) {
            throw new IllegalStateException("calibrate: the model was already converted");
        }
        long total = batches instanceof Collection<?> c ? c.size() : -1;
        long done = 0;
        for (Object[] batch : batches) {
            prepared.partition.model().callAny(batch);
            done++;
            listener.progress(done, total, "calibration batch " + done);
        }
    }

    /** Converts every block to INT8 where calibration saw data, and reports what runs INT8 and what stays FP32. */
    public static QuantizationReport convert(Prepared prepared) {
        if (prepared.converted) {
            throw new IllegalStateException("convert: already converted");
        }
        prepared.converted = true;
        StaticConvert.Results results = new StaticConvert.Results();
        for (BlockPlan plan : prepared.blocks.values()) {
            plan.block.applyPass(new StaticConvert(plan, prepared.mapping, results));
        }
        return QuantizationReport.of(prepared.partition.model(), prepared.partition.blocks(), prepared.fp32ModelBytes,
                results.fp32WeightBytes, results.originals, List.copyOf(results.notReached),
                List.copyOf(results.keptFp32));
    }

    /** Observer nodes after every value an INT8-capable node reads or produces. */
    private static void insertObservers(BlockPlan plan, QConfigMapping mapping, Graph g) {
        Map<Node, QConfig> observe = new LinkedHashMap<>();
        for (Node n : g.nodes()) {
            if (plan.patterns.role(n) != QuantPatterns.Role.INT8) {
                continue;
            }
            QConfig qc = plan.qconfigFor(n, mapping);
            if (qc == null || qc.isDynamic()) {
                continue;
            }
            for (Node in : QuantPatterns.activationInputs(n)) {
                if (QuantPatterns.isFloat(in)) {
                    observe.putIfAbsent(in, qc);
                }
            }
            if (!plan.patterns.hasFixedOutput(n)) {
                observe.putIfAbsent(QuantPatterns.outputValue(n), qc);
            }
        }
        Node lastPlaceholder = null;
        for (Node p : g.placeholders()) {
            lastPlaceholder = p;
        }
        Set<String> done = new LinkedHashSet<>();
        for (Map.Entry<Node, QConfig> e : observe.entrySet()) {
            Node v = e.getKey();
            String name = observerName(v);
            if (!done.add(name)) {
                continue;
            }
            Observer observer = plan.observers.get(name);
            if (observer == null) {
                observer = activationObserver(e.getValue());
                observer.setLabel(join(plan.path, v.name()));
                plan.observers.put(name, observer);
                plan.block.addSubmodule(name, observer);
            }
            Node obs;
            // Placeholders come first in a graph, so a placeholder's observer goes after the last of them.
            try (var at = g.insertAfter(v.kind() == NodeKind.PLACEHOLDER ? lastPlaceholder : v)) {
                obs = g.callModule(name, v);
            }
            obs.meta().putAll(v.meta());
            v.replaceAllUsesWith(obs);
            obs.setArg(0, v);
        }
    }

    static String observerName(Node v) {
        return "observer_" + v.name();
    }

    private static Observer activationObserver(QConfig qc) {
        return switch (qc.createActivation()) {
            case Observer o -> o;
            case FakeQuantize fq -> fq.observer();
            default -> throw new IllegalStateException("activation factory made neither an observer nor a fake-quant");
        };
    }

    static String join(String a, String b) {
        return a.isEmpty() ? b : b.isEmpty() ? a : a + "." + b;
    }

    /** For callers that list what prepare observed: observer names in one block. */
    static List<String> observerNames(Prepared p, String block) {
        return new ArrayList<>(p.blocks.get(block).observers.keySet());
    }
}
