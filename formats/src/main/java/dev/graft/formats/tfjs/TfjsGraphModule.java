package dev.graft.formats.tfjs;

import dev.graft.engine.Module;
import dev.graft.engine.ModuleException;
import dev.graft.engine.graph.GraphModule;
import dev.graft.engine.io.FormatException;
import dev.graft.engine.trace.TraceConfig;
import dev.graft.engine.trace.Tracer;
import dev.graft.ops.DType;
import dev.graft.ops.Tensor;
import dev.graft.ops.TensorException;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.TreeMap;

/**
 * A Graft module imported from a TensorFlow.js graph model. The import translates each topology node, in
 * topological order, into calls of Graft operators (a {@link Step}); that program is traced into a Graft
 * {@link dev.graft.engine.graph.Graph} at the first input shapes it sees (again for other shapes, as any traced
 * block), and the graph runs on the engine's {@link dev.graft.engine.graph.Interpreter}, the one executor of
 * graphs. Under a tracer (the partitioner's) the program itself runs on the symbolic inputs, so the block it is part
 * of records the same operators. Float weights are registered as parameters (scalars as buffers) and appear in the
 * state dict under their graph names with every character outside {@code [A-Za-z0-9_]} replaced by {@code _}.
 * Integer constants (shapes, permutations, pad amounts, axes) and the small integer subgraphs computed from them
 * are folded once, at import, into Java ints.
 *
 * <p>Layouts follow the graph faithfully: TensorFlow convolutions, pooling and resizing are NHWC, so those steps
 * view their input as NCHW, call Graft's NCHW operator and view the result back as NHWC; the graph's own
 * {@code Transpose} nodes run as they are. Convolution filters are converted once from HWIO to Graft's OIHW.
 *
 * <p>{@link #run} returns the outputs as a {@code Tensor[]} in the order of {@link #outputNames()}; {@link #callAny}
 * returns the same array, or the tensor itself for a one-output graph (so {@link #call} works there). Ops outside
 * the supported set are reported together, by op and node, when the module is built.
 */
public final class TfjsGraphModule extends Module {

    /** One node of the program: where its tensor inputs come from, how many outputs it has, what it computes. */
    record Step(String node, String op, List<Operand> inputs, int outputCount, TfjsOps.Kernel kernel) {
    }

    private final Path source;
    private final List<String> inputNames;
    private final List<String> outputNames;
    private final List<Step> steps;
    private final List<Operand> outputs;
    /** For each step, the node values it reads for the last time (dropped after it, while the program runs). */
    private final List<List<String>> lastReads;
    private final Map<String, Integer> stepCounts;
    private final Map<String, Tensor> registered = new HashMap<>();
    /** The program traced into Graft graphs (one per input shape family); made at the first eager call. */
    private volatile GraphModule compiled;

    /** Reads {@code model.json} (and its shards) and builds the module. */
    public static TfjsGraphModule load(Path modelJson) {
        return new TfjsGraphModule(TfjsGraph.read(modelJson));
    }

    /** Builds the module for every output of the graph's signature. */
    public TfjsGraphModule(TfjsGraph graph) {
        this.source = graph.source();
        this.inputNames = graph.inputNames();
        this.outputNames = graph.outputNames();
        Builder b = new Builder(graph);
        b.build();
        this.steps = List.copyOf(b.steps);
        this.outputs = List.copyOf(b.outputs);
        this.lastReads = lastReads(steps, outputs);
        Map<String, Integer> counts = new TreeMap<>();
        for (Step s : steps) {
            counts.merge(s.op(), 1, Integer::sum);
        }
        this.stepCounts = counts;
    }

    // ---------------------------------------------------------------- forward

    @Override
    protected Object forwardAny(Object... inputs) {
        if (inputs.length != inputNames.size()) {
            throw new ModuleException("TfjsGraphModule: the graph takes " + inputNames.size() + " input(s) "
                    + inputNames + ", got " + inputs.length);
        }
        boolean symbolic = false;
        for (int i = 0; i < inputs.length; i++) {
            if (!(inputs[i] instanceof Tensor t)) {
                throw new ModuleException("TfjsGraphModule: input " + i + " (" + inputNames.get(i)
                        + ") must be a tensor, got "
                        + (inputs[i] == null ? "null" : inputs[i].getClass().getSimpleName()));
            }
            symbolic |= t.isSymbolic();
        }
        if (symbolic) {
            return program(inputs);
        }
        return compiled(inputs).callAny(inputs);
    }

    /** The program traced at these inputs' shapes (once; the graph module re-traces itself for other shapes). */
    private GraphModule compiled(Object[] inputs) {
        GraphModule g = compiled;
        if (g == null) {
            synchronized (this) {
                g = compiled;
                if (g == null) {
                    g = Tracer.trace(this, "", inputs, TraceConfig.defaults());
                    compiled = g;
                }
            }
        }
        return g;
    }

    /** The translated nodes in order, on tensors that are symbolic (traced); each value dropped after its last read. */
    private Object program(Object[] inputs) {
        Map<String, Tensor[]> values = new HashMap<>();
        for (int i = 0; i < inputs.length; i++) {
            values.put(inputNames.get(i), new Tensor[] {(Tensor) inputs[i]});
        }
        for (int s = 0; s < steps.size(); s++) {
            Step step = steps.get(s);
            Tensor[] args = new Tensor[step.inputs().size()];
            for (int k = 0; k < args.length; k++) {
                args[k] = value(step.inputs().get(k), values);
            }
            Tensor[] results;
            try {
                results = step.kernel().run(args);
            } catch (TensorException e) {
                throw new ModuleException("TfjsGraphModule: while executing node '" + step.node() + "' (" + step.op()
                        + ") on inputs " + describe(args) + ": " + e.getMessage(), e);
            }
            values.put(step.node(), results);
            for (String dead : lastReads.get(s)) {
                values.remove(dead);
            }
        }
        if (outputs.size() == 1) {
            return value(outputs.get(0), values);
        }
        Tensor[] out = new Tensor[outputs.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = value(outputs.get(i), values);
        }
        return out;
    }

    private Tensor value(Operand o, Map<String, Tensor[]> values) {
        return switch (o) {
            case Output ref -> values.get(ref.node())[ref.index()];
            case Folded f -> f.value().dtype() == DType.FLOAT32 ? registerConstant(parameterName(f.name()), f.value())
                    : f.value();
        };
    }

    /**
     * The Graft graphs this module runs, one per input shape family it has been called with (empty before the
     * first eager call): the import as the engine's IR.
     */
    public List<GraphModule.Specialization> graphs() {
        GraphModule g = compiled;
        return g == null ? List.of() : g.specializations();
    }

    /** Runs the graph (with hooks) and returns every output, in the order of {@link #outputNames()}. */
    public Tensor[] run(Tensor... inputs) {
        Object out = callAny((Object[]) inputs);
        return out instanceof Tensor t ? new Tensor[] {t} : (Tensor[]) out;
    }

    private static String describe(Tensor[] args) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < args.length; i++) {
            sb.append(i == 0 ? "" : ", ")
                    .append(args[i] == null ? "null" : args[i].dtype() + Arrays.toString(args[i].shape()));
        }
        return sb.append(']').toString();
    }

    /** After each step, the node values nothing later reads (outputs are read at the end, so never dropped). */
    private static List<List<String>> lastReads(List<Step> steps, List<Operand> outputs) {
        Map<String, Integer> last = new HashMap<>();
        for (int s = 0; s < steps.size(); s++) {
            for (Operand o : steps.get(s).inputs()) {
                if (o instanceof Output ref) {
                    last.put(ref.node(), s);
                }
            }
        }
        for (Operand o : outputs) {
            if (o instanceof Output ref) {
                last.put(ref.node(), Integer.MAX_VALUE);
            }
        }
        List<List<String>> out = new ArrayList<>();
        for (int s = 0; s < steps.size(); s++) {
            out.add(new ArrayList<>());
        }
        last.forEach((node, s) -> {
            if (s < steps.size()) {
                out.get(s).add(node);
            }
        });
        return out;
    }

    // ---------------------------------------------------------------- description

    /** The graph's input (placeholder) names, in the order {@link #callAny} takes them. */
    public List<String> inputNames() {
        return inputNames;
    }

    /** The graph's output names, in the order of the returned {@code Tensor[]}. */
    public List<String> outputNames() {
        return outputNames;
    }

    /** How many executed steps of each op type (constants and folded integer nodes are not steps). */
    public Map<String, Integer> stepCounts() {
        return stepCounts;
    }

    @Override
    protected String extraRepr() {
        return "steps=" + steps.size() + ", inputs=" + inputNames + ", outputs=" + outputNames;
    }

    /** The TensorFlow op types this module can build, comma separated. */
    public static String supportedOps() {
        return TfjsOps.supported();
    }

    /** A state-dict name for a graph weight: every character outside [A-Za-z0-9_] becomes '_'. */
    public static String parameterName(String weightName) {
        return weightName.replaceAll("[^A-Za-z0-9_]", "_");
    }

    /** Registers (once) a float constant under {@code name}: rank >= 1 as a parameter, a scalar as a buffer. */
    Tensor registerConstant(String name, Tensor value) {
        Tensor existing = registered.get(name);
        if (existing != null) {
            return existing;
        }
        Tensor t = value.dim() == 0 ? registerBuffer(name, value) : registerParameter(name, value);
        registered.put(name, t);
        return t;
    }

    // ---------------------------------------------------------------- building

    /** What a node output is at import: a constant known now, or the output of a node computed at run time. */
    sealed interface Operand permits Folded, Output {
    }

    /** A value known at import (a weight or a folded integer computation). */
    record Folded(String name, Tensor value) implements Operand {
    }

    /** Output {@code index} of node {@code node} (or of an input), computed at run time. */
    record Output(String node, int index) implements Operand {
    }

    private final class Builder {
        private final TfjsGraph graph;
        private final Map<String, TfjsNode> byName = new LinkedHashMap<>();
        private final Map<String, Operand[]> values = new HashMap<>();
        private final List<Step> steps = new ArrayList<>();
        private final List<Operand> outputs = new ArrayList<>();

        Builder(TfjsGraph graph) {
            this.graph = graph;
            for (TfjsNode n : graph.nodes()) {
                if (byName.put(n.name(), n) != null) {
                    throw new FormatException(graph.source(), -1, "two topology nodes are named '" + n.name() + "'");
                }
            }
        }

        void build() {
            List<TfjsNode> order = topologicalOrder();
            Map<String, List<String>> unsupported = new TreeMap<>();
            for (TfjsNode n : order) {
                String problem = TfjsOps.check(n);
                if (problem != null) {
                    unsupported.computeIfAbsent(problem, k -> new ArrayList<>()).add(n.name());
                }
            }
            if (!unsupported.isEmpty()) {
                throw new UnsupportedOpException(graph.source(), unsupported, TfjsOps.supported());
            }
            for (String name : graph.inputNames()) {
                TfjsNode n = byName.get(name);
                if (n == null || !n.op().equals("Placeholder")) {
                    throw new FormatException(graph.source(), -1, "signature input '" + name
                            + "' is not a Placeholder node of the topology");
                }
                values.put(name, new Operand[] {new Output(name, 0)});
            }
            for (TfjsNode n : order) {
                if (!values.containsKey(n.name())) {
                    buildNode(n);
                }
            }
            for (String out : graph.outputNames()) {
                Operand o = resolve(out, "the signature");
                if (o instanceof Folded f && f.value().dtype() == DType.FLOAT32) {
                    registerConstant(parameterName(f.name()), f.value());
                }
                outputs.add(o);
            }
        }

        private void buildNode(TfjsNode n) {
            if (n.op().equals("Placeholder")) {
                throw new FormatException(graph.source(), -1, "placeholder '" + n.name()
                        + "' is needed by the outputs but is not a signature input " + graph.inputNames());
            }
            if (n.op().equals("Const")) {
                Tensor w = graph.weights().get(n.name());
                if (w == null) {
                    throw new FormatException(graph.source(), -1, "Const node '" + n.name()
                            + "' has no entry in weightsManifest");
                }
                values.put(n.name(), new Operand[] {new Folded(n.name(), w)});
                return;
            }
            List<Operand> ins = new ArrayList<>();
            for (String ref : n.dataInputs()) {
                ins.add(resolve(ref, "node '" + n.name() + "'"));
            }
            TfjsOps.Context ctx = new TfjsOps.Context(n, ins, graph.source(), TfjsGraphModule.this);
            Tensor folded = TfjsOps.fold(ctx);
            if (folded != null) {
                values.put(n.name(), new Operand[] {new Folded(n.name(), folded)});
                return;
            }
            TfjsOps.Built built = TfjsOps.build(ctx);
            List<Operand> tensorInputs = new ArrayList<>();
            for (int k : built.tensorInputs()) {
                Operand o = ins.get(k);
                if (o instanceof Folded f && f.value().dtype() == DType.FLOAT32) {
                    registerConstant(parameterName(f.name()), f.value());   // a weight used as a tensor
                }
                tensorInputs.add(o);
            }
            Operand[] outs = new Operand[built.outputCount()];
            for (int k = 0; k < outs.length; k++) {
                outs[k] = new Output(n.name(), k);
            }
            steps.add(new Step(n.name(), n.op(), tensorInputs, built.outputCount(), built.kernel()));
            values.put(n.name(), outs);
        }

        private Operand resolve(String ref, String user) {
            String base = ref;
            int index = 0;
            int colon = ref.lastIndexOf(':');
            if (colon > 0) {
                try {
                    index = Integer.parseInt(ref.substring(colon + 1));
                    base = ref.substring(0, colon);
                } catch (NumberFormatException e) {
                    // a ':' that is part of the name
                }
            }
            Operand[] outs = values.get(base);
            if (outs == null) {
                throw new FormatException(graph.source(), -1, user + " refers to '" + ref
                        + "', which is not a node of the topology");
            }
            if (index < 0 || index >= outs.length) {
                throw new FormatException(graph.source(), -1, user + " refers to output " + index + " of '" + base
                        + "', which has " + outs.length);
            }
            return outs[index];
        }

        /** The nodes the outputs need, inputs before users, ties broken by file order (Kahn's algorithm). */
        private List<TfjsNode> topologicalOrder() {
            Map<String, Integer> fileIndex = new HashMap<>();
            for (int i = 0; i < graph.nodes().size(); i++) {
                fileIndex.put(graph.nodes().get(i).name(), i);
            }
            // Collect the needed nodes backwards from the outputs.
            java.util.Set<String> needed = new java.util.LinkedHashSet<>();
            java.util.ArrayDeque<String> work = new java.util.ArrayDeque<>();
            for (String out : graph.outputNames()) {
                work.push(baseName(out));
            }
            while (!work.isEmpty()) {
                String name = work.pop();
                TfjsNode n = byName.get(name);
                if (n == null) {
                    throw new FormatException(graph.source(), -1, "'" + name + "' is used but no topology node has"
                            + " that name");
                }
                if (needed.add(name)) {
                    for (String in : n.inputs()) {
                        work.push(baseName(in));
                    }
                }
            }
            Map<String, Integer> pending = new HashMap<>();
            Map<String, List<String>> users = new HashMap<>();
            for (String name : needed) {
                java.util.Set<String> deps = new java.util.HashSet<>();
                for (String in : byName.get(name).inputs()) {
                    deps.add(baseName(in));
                }
                pending.put(name, deps.size());
                for (String d : deps) {
                    users.computeIfAbsent(d, k -> new ArrayList<>()).add(name);
                }
            }
            PriorityQueue<String> ready = new PriorityQueue<>((a, c) -> Integer.compare(fileIndex.get(a),
                    fileIndex.get(c)));
            pending.forEach((name, count) -> {
                if (count == 0) {
                    ready.add(name);
                }
            });
            List<TfjsNode> order = new ArrayList<>();
            while (!ready.isEmpty()) {
                String name = ready.poll();
                order.add(byName.get(name));
                for (String u : users.getOrDefault(name, List.of())) {
                    if (pending.merge(u, -1, Integer::sum) == 0) {
                        ready.add(u);
                    }
                }
            }
            if (order.size() != needed.size()) {
                List<String> stuck = needed.stream().filter(n -> pending.get(n) > 0).limit(5).toList();
                throw new FormatException(graph.source(), -1, "the topology has a cycle through " + stuck);
            }
            return order;
        }
    }

    static String baseName(String ref) {
        String r = ref.startsWith("^") ? ref.substring(1) : ref;
        int colon = r.lastIndexOf(':');
        if (colon > 0 && r.substring(colon + 1).chars().allMatch(Character::isDigit) && colon < r.length() - 1) {
            return r.substring(0, colon);
        }
        return r;
    }

    @Override
    public String toString() {
        return "TfjsGraphModule(" + (source == null ? "<memory>" : source.getFileName()) + ", " + extraRepr() + ")";
    }
}
