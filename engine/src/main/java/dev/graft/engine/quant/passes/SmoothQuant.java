package dev.graft.engine.quant.passes;

import dev.graft.engine.HookHandle;
import dev.graft.engine.Module;
import dev.graft.engine.ProgressListener;
import dev.graft.engine.graph.Graph;
import dev.graft.engine.graph.GraphModule;
import dev.graft.engine.graph.Node;
import dev.graft.engine.graph.NodeKind;
import dev.graft.engine.graph.Target;
import dev.graft.engine.nn.LayerNorm;
import dev.graft.engine.nn.Linear;
import dev.graft.engine.quant.QuantRules;
import dev.graft.engine.quant.nn.ChannelScale;
import dev.graft.engine.trace.Partition;
import dev.graft.ops.Tensor;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * SmoothQuant (Xiao et al., 2023) on the Linear layers of a partitioned FP32 model's traced blocks: a few input
 * channels of a transformer's Linear layers carry values 10-100x larger than the rest, so one per-tensor 8-bit scale
 * leaves the other channels a handful of levels. Per input channel {@code j} a factor
 * <pre>  s_j = max|X_j|^alpha / max|W_.j|^(1 - alpha)</pre>
 * divides the activation and multiplies the weight column ({@code X W^T = (X diag(1/s)) (W diag(s))^T}), moving
 * range from the activations into the weights, which are quantized per output channel and absorb it well. The FP32
 * model computes the same function up to float rounding.
 * <pre>{@code
 * SmoothQuant.Statistics stats = SmoothQuant.observe(partition, batches, listener);   // max |x| per channel
 * SmoothQuant.Result r = SmoothQuant.apply(partition, stats, 0.5, path -> true);       // fold the factors
 * StaticQuantizer.prepare(partition, mapping) ...                                      // then as usual
 * }</pre>
 * Where the Linears' common input is a LayerNorm read by nothing else (pre-LN transformers), {@code 1/s} is folded
 * into the LayerNorm's weight and bias. Otherwise (BERT's post-LN residual stream, GELU's output) a
 * {@link ChannelScale} is inserted before the Linears by an {@link EquivalentRewrite} in the block's pipeline, so
 * every graph of the block, re-traces included, gets it; the quantizer keeps that pass in front of its own.
 * Linears that share an input (query, key, value) share one factor vector, from the largest weight column of the
 * three. Apply it once, to a model that is still FP32.
 */
public final class SmoothQuant {
    /** Factors are kept within [1/LIMIT, LIMIT], so a dead channel cannot blow up a weight column. */
    private static final double LIMIT = 1e4;
    private static final String SCALE_PREFIX = "smoothquant_";

    private SmoothQuant() {
    }

    /** The per-channel max |x| of every smoothable Linear's input, by the Linear's full module path. */
    public static final class Statistics {
        private final Map<String, float[]> absMax = new LinkedHashMap<>();

        /** Max |x| per input channel, by full module path (block path, then the path inside the block). */
        public Map<String, float[]> absMax() {
            return java.util.Collections.unmodifiableMap(absMax);
        }

        synchronized void record(String path, Tensor x) {
            int c = x.size(x.dim() - 1);
            float[] data = x.toFloatArray();
            float[] m = absMax.computeIfAbsent(path, k -> new float[c]);
            if (m.length != c) {
                throw new IllegalStateException("SmoothQuant: " + path + " saw " + c + " input channels, then "
                        + m.length);
            }
            for (int i = 0; i < data.length; i++) {
                float a = Math.abs(data[i]);
                int j = i % c;
                if (a > m[j] || Float.isNaN(a)) {
                    m[j] = a;
                }
            }
        }
    }

    /** One smoothed input: the Linears reading it, where the inverse factors went, and the factors' spread. */
    public record Group(String block, String input, List<String> linears, String foldedInto, double minFactor,
                        double maxFactor) {
        @Override
        public String toString() {
            return String.format(java.util.Locale.ROOT, "%s: %s -> %s (1/s %s; s in [%.3g, %.3g])", block, input,
                    linears, foldedInto, minFactor, maxFactor);
        }
    }

    /** What {@link #apply} did. */
    public record Result(double alpha, List<Group> groups) {
        public int linears() {
            return groups.stream().mapToInt(g -> g.linears().size()).sum();
        }
    }

    /**
     * Runs the model on each batch and records, for every Linear of a traced block that reads a float activation
     * (and is called once per graph), its input's max |x| per channel. The model is unchanged.
     */
    public static Statistics observe(Partition partition, Iterable<Object[]> batches, ProgressListener progress) {
        Statistics stats = new Statistics();
        List<HookHandle> hooks = new ArrayList<>();
        try {
            for (Map.Entry<String, GraphModule> e : partition.blocks().entrySet()) {
                for (Node n : candidates(e.getValue())) {
                    String inner = ((Target.ModuleCall) n.target()).path();
                    String full = BlockState.join(e.getKey(), inner);
                    hooks.add(e.getValue().module(inner).addForwardPreHook((m, in) -> {
                        stats.record(full, (Tensor) in[0]);
                        return null;
                    }));
                }
            }
            long total = batches instanceof Collection<?> c ? c.size() : -1;
            long done = 0;
            for (Object[] batch : batches) {
                partition.model().callAny(batch);
                done++;
                progress.progress(done, total, "SmoothQuant statistics, batch " + done);
            }
        } finally {
            hooks.forEach(HookHandle::remove);
        }
        return stats;
    }

    /**
     * Computes the factors from {@code stats} and folds them in, for every observed Linear whose full path
     * {@code include} accepts. {@code alpha} in [0, 1]: 0 leaves the activations as they are, 1 moves all their range
     * into the weights; 0.5 is the paper's default for most models.
     */
    public static Result apply(Partition partition, Statistics stats, double alpha, Predicate<String> include) {
        if (!(alpha >= 0 && alpha <= 1)) {
            throw new IllegalArgumentException("SmoothQuant: alpha must be in [0, 1], got " + alpha);
        }
        List<Group> groups = new ArrayList<>();
        for (Map.Entry<String, GraphModule> e : partition.blocks().entrySet()) {
            String blockPath = e.getKey();
            GraphModule block = e.getValue();
            Map<Node, List<Node>> byInput = new LinkedHashMap<>();
            for (Node n : candidates(block)) {
                String full = BlockState.join(blockPath, ((Target.ModuleCall) n.target()).path());
                if (stats.absMax.containsKey(full) && include.test(full)) {
                    byInput.computeIfAbsent((Node) n.args().get(0), k -> new ArrayList<>()).add(n);
                }
            }
            if (byInput.isEmpty()) {
                continue;
            }
            for (GraphModule.GraphPass p : block.pipeline()) {
                if (p instanceof Rewrite) {
                    throw new IllegalStateException("SmoothQuant: block '" + blockPath + "' is already smoothed");
                }
            }
            List<Rewrite.Entry> entries = new ArrayList<>();
            for (Map.Entry<Node, List<Node>> g : byInput.entrySet()) {
                groups.add(smooth(blockPath, block, g.getKey(), g.getValue(), stats, alpha, entries));
            }
            if (!entries.isEmpty()) {
                List<GraphModule.GraphPass> pipeline = new ArrayList<>();
                pipeline.add(new Rewrite(entries));
                pipeline.addAll(block.pipeline());
                block.setPipeline(pipeline);
            }
        }
        return new Result(alpha, List.copyOf(groups));
    }

    /**
     * For every Linear SmoothQuant can treat, by full module path, the node making its input and that node's block
     * path (a recipe decides from it whether smoothing can help: only where the input stays float, since a value an
     * INT8 operator already rounded per tensor gains nothing from being scaled afterwards).
     */
    public static Map<String, Map.Entry<String, Node>> inputs(Partition partition) {
        Map<String, Map.Entry<String, Node>> out = new LinkedHashMap<>();
        partition.blocks().forEach((blockPath, block) -> {
            for (Node n : candidates(block)) {
                out.put(BlockState.join(blockPath, ((Target.ModuleCall) n.target()).path()),
                        Map.entry(blockPath, (Node) n.args().get(0)));
            }
        });
        return out;
    }

    /** The Linear calls of a block's first FP32 graph that SmoothQuant can treat. */
    static List<Node> candidates(GraphModule block) {
        if (!block.canRetrace()) {
            return List.of();
        }
        Graph g = block.specializations().get(0).source();
        Map<String, Integer> calls = new HashMap<>();
        for (Node n : g.nodes()) {
            if (n.target() instanceof Target.ModuleCall mc) {
                calls.merge(mc.path(), 1, Integer::sum);
            }
        }
        List<Node> out = new ArrayList<>();
        for (Node n : g.nodes()) {
            if (n.target() instanceof Target.ModuleCall mc && block.module(mc.path()) instanceof Linear
                    && calls.get(mc.path()) == 1 && n.args().size() == 1 && QuantRules.isFloat(n.args().get(0))) {
                out.add(n);
            }
        }
        return out;
    }

    private static Group smooth(String blockPath, GraphModule block, Node input, List<Node> linears, Statistics stats,
                                double alpha, List<Rewrite.Entry> entries) {
        List<Linear> layers = new ArrayList<>();
        List<String> names = new ArrayList<>();
        float[] absX = null;
        for (Node n : linears) {
            String path = ((Target.ModuleCall) n.target()).path();
            layers.add((Linear) block.module(path));
            names.add(BlockState.join(blockPath, path));
            float[] x = stats.absMax.get(BlockState.join(blockPath, path));
            absX = absX == null ? x.clone() : max(absX, x);
        }
        int c = absX.length;
        float[] absW = new float[c];
        List<float[]> weights = new ArrayList<>();
        for (Linear l : layers) {
            Tensor w = l.stateDict().get("weight");
            if (w.size(1) != c) {
                throw new IllegalStateException("SmoothQuant: " + names + " weight has " + w.size(1)
                        + " input channels but the input has " + c);
            }
            float[] data = w.toFloatArray();
            weights.add(data);
            for (int i = 0; i < data.length; i++) {
                absW[i % c] = Math.max(absW[i % c], Math.abs(data[i]));
            }
        }
        float[] s = new float[c];
        double lo = Double.POSITIVE_INFINITY;
        double hi = 0;
        for (int j = 0; j < c; j++) {
            double f = absX[j] > 0 && absW[j] > 0 && Float.isFinite(absX[j])
                    ? Math.pow(absX[j], alpha) / Math.pow(absW[j], 1 - alpha) : 1;
            s[j] = (float) Math.min(LIMIT, Math.max(1 / LIMIT, f));
            lo = Math.min(lo, s[j]);
            hi = Math.max(hi, s[j]);
        }
        for (int k = 0; k < layers.size(); k++) {
            float[] w = weights.get(k);
            for (int i = 0; i < w.length; i++) {
                w[i] *= s[i % c];
            }
            Linear l = layers.get(k);
            l.loadStateDict(Map.of("weight", Tensor.of(w, l.stateDict().get("weight").shape())), false);
        }
        float[] inverse = new float[c];
        for (int j = 0; j < c; j++) {
            inverse[j] = 1f / s[j];
        }
        String foldedInto;
        LayerNorm ln = foldableLayerNorm(block, input, linears, c);
        if (ln != null) {
            scaleAffine(ln, inverse);
            foldedInto = BlockState.join(blockPath, ((Target.ModuleCall) input.target()).path());
        } else {
            String name = SCALE_PREFIX + input.name();
            block.addSubmodule(name, new ChannelScale(inverse));
            List<String> readers = new ArrayList<>();
            linears.forEach(n -> readers.add(n.name()));
            entries.add(new Rewrite.Entry(input.name(), name, readers));
            foldedInto = "ChannelScale " + BlockState.join(blockPath, name);
        }
        return new Group(blockPath, input.name(), List.copyOf(names), foldedInto, lo, hi);
    }

    /** The LayerNorm that makes {@code input}, when these Linears are its only readers and it has weight and bias. */
    private static LayerNorm foldableLayerNorm(GraphModule block, Node input, List<Node> linears, int c) {
        if (!(input.target() instanceof Target.ModuleCall mc) || !(block.module(mc.path()) instanceof LayerNorm ln)) {
            return null;
        }
        Map<String, Tensor> state = ln.stateDict();
        Tensor w = state.get("weight");
        Tensor b = state.get("bias");
        if (w == null || b == null || w.dim() != 1 || w.size(0) != c) {
            return null;
        }
        Map<Node, Boolean> members = new IdentityHashMap<>();
        linears.forEach(n -> members.put(n, true));
        for (Node u : input.users()) {
            if (!members.containsKey(u)) {
                return null;
            }
        }
        return ln;
    }

    private static void scaleAffine(LayerNorm ln, float[] factors) {
        Map<String, Tensor> state = ln.stateDict();
        Map<String, Tensor> scaled = new HashMap<>();
        for (String name : List.of("weight", "bias")) {
            float[] v = state.get(name).toFloatArray();
            for (int j = 0; j < v.length; j++) {
                v[j] *= factors[j];
            }
            scaled.put(name, Tensor.of(v, v.length));
        }
        ln.loadStateDict(scaled, false);
    }

    private static float[] max(float[] a, float[] b) {
        for (int j = 0; j < a.length; j++) {
            a[j] = Math.max(a[j], b[j]);
        }
        return a;
    }

    /** Puts each {@link ChannelScale} between its value and the Linears that read it, in every graph of a block. */
    private static final class Rewrite implements EquivalentRewrite {
        record Entry(String value, String module, List<String> readers) {
        }

        private final List<Entry> entries;

        Rewrite(List<Entry> entries) {
            this.entries = List.copyOf(entries);
        }

        @Override
        public void apply(GraphModule owner, GraphModule.Specialization spec, Graph g) {
            Node lastPlaceholder = null;
            for (Node p : g.placeholders()) {
                lastPlaceholder = p;
            }
            for (Entry e : entries) {
                Node v = g.find(e.value());
                if (v == null) {
                    throw new IllegalStateException("SmoothQuant: block " + owner.sourceName() + " has a graph"
                            + " without node '" + e.value() + "' (its scale " + e.module() + " has nowhere to go)");
                }
                Node scaled;
                try (var at = g.insertAfter(v.kind() == NodeKind.PLACEHOLDER ? lastPlaceholder : v)) {
                    scaled = g.callModule(e.module(), v);
                }
                scaled.copyMetaFrom(v);
                for (String reader : e.readers()) {
                    Node r = g.find(reader);
                    if (r == null || r.args().isEmpty() || r.args().get(0) != v) {
                        throw new IllegalStateException("SmoothQuant: in block " + owner.sourceName() + ", node '"
                                + reader + "' no longer reads '" + e.value() + "'");
                    }
                    r.setArg(0, scaled);
                }
            }
        }
    }

    /** The scale modules a block holds ({@code smoothquant_<value>}), for reports. */
    public static Map<String, ChannelScale> scalesOf(Module block) {
        Map<String, ChannelScale> out = new LinkedHashMap<>();
        block.namedModules().forEach((path, m) -> {
            if (m instanceof ChannelScale cs && path.startsWith(SCALE_PREFIX)) {
                out.put(path, cs);
            }
        });
        return out;
    }
}
