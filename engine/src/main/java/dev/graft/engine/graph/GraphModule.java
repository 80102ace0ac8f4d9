package dev.graft.engine.graph;

import dev.graft.engine.Module;
import dev.graft.ops.Tensor;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A module whose forward is a graph: the traced form of a {@code source} module. It takes over the source's
 * parameters, buffers and children under the same names, so its state dict equals the source's and
 * {@code call_module} / {@code get_attr} targets resolve exactly as in the source.
 *
 * <p>A trace is valid for the input signature and the shapes its code read (its {@link Guard}s). Called with inputs
 * that break a guard, the module asks its {@link Specializer} for a new graph (a re-trace at the new shapes) and
 * keeps both: one {@link Specialization} per shape family, at most {@link #MAX_SPECIALIZATIONS}.
 *
 * <p>Each specialization keeps the FP32 graph it was traced as ({@link Specialization#source()}), which nothing
 * changes, and runs the graph that the block's pipeline ({@link #setPipeline}) makes from a fresh copy of it. Passes
 * are functions of that source and of the per-block state their closures hold (the modules fusion made, the
 * observers, the INT8 modules), so a re-trace for new shapes, whenever it happens, runs the same pipeline on its own
 * source and gets the same rewrite.
 */
public final class GraphModule extends Module implements Graph.TargetResolver {

    /** Bounds memory when a block is called with ever-new shapes; beyond it the oldest re-trace is dropped. */
    public static final int MAX_SPECIALIZATIONS = 64;

    /** Makes a new specialization for inputs that no existing one accepts (the tracer, re-tracing the source). */
    @FunctionalInterface
    public interface Specializer {
        Specialization specialize(Object[] inputs);
    }

    /**
     * One traced graph: the FP32 source as the tracer recorded it, the graph the block runs (the source rewritten by
     * the pipeline), the conditions under which they are valid and the constants the trace captured.
     */
    public static final class Specialization {
        private final Graph source;
        private volatile Graph graph;
        private final InputSignature signature;
        private final List<Guard> guards;
        private final Map<String, Tensor> constants;
        private volatile Interpreter interpreter;

        /** A fresh trace: {@code traced} is its FP32 source, and what runs until a pipeline is set. */
        public Specialization(Graph traced, InputSignature signature, List<Guard> guards, Map<String, Tensor> constants) {
            this(traced, traced, signature, guards, constants);
        }

        private Specialization(Graph source, Graph graph, InputSignature signature, List<Guard> guards,
                               Map<String, Tensor> constants) {
            this.source = source;
            this.graph = graph;
            this.signature = signature;
            this.guards = List.copyOf(guards);
            this.constants = Map.copyOf(constants);
        }

        /** A graph read back from a file: it runs as it is, with no FP32 source to rewrite again. */
        public static Specialization restored(Graph graph, InputSignature signature, List<Guard> guards,
                                              Map<String, Tensor> constants) {
            return new Specialization(null, graph, signature, guards, constants);
        }

        /** The graph the block runs. */
        public Graph graph() {
            return graph;
        }

        /** The FP32 graph as traced (never rewritten), or null for a graph loaded from a file. */
        public Graph source() {
            return source;
        }

        public InputSignature signature() {
            return signature;
        }

        public List<Guard> guards() {
            return guards;
        }

        /** Tensors the trace captured as constants (made inside forward, not parameters), by get_attr path. */
        public Map<String, Tensor> constants() {
            return constants;
        }

        public boolean accepts(Object[] inputs) {
            if (!signature.matches(inputs)) {
                return false;
            }
            for (Guard g : guards) {
                if (!(inputs[g.input()] instanceof Tensor t) || t.dim() <= g.dim() || sizeOf(t, g.dim()) != g.size()) {
                    return false;
                }
            }
            return true;
        }
    }

    /**
     * One rewrite of a block's graph (fusion, observer insertion, convert): it edits {@code working}, a copy of the
     * specialization's FP32 source already rewritten by the passes before it, and may register modules on
     * {@code owner}. What it decides once for the whole block (a fused module, an observer, an INT8 module) lives in
     * state it holds explicitly, so running it again on another specialization, or on a re-trace, repeats the same
     * decisions.
     */
    @FunctionalInterface
    public interface GraphPass {
        void apply(GraphModule owner, Specialization specialization, Graph working);
    }

    private final String sourceName;
    private final Specializer specializer;
    private final List<Specialization> specializations = Collections.synchronizedList(new ArrayList<>());
    private volatile List<GraphPass> pipeline = List.of();
    /** Where the block sits in its model, for messages ("" for the root; set by the tracer and the loader). */
    private volatile String blockPath = "";

    public GraphModule(Module source, Specialization first, Specializer specializer) {
        this(source, source.getClass().getSimpleName(), List.of(first), specializer);
    }

    private GraphModule(Module source, String sourceName, List<Specialization> specs, Specializer specializer) {
        adoptStateOf(source);
        this.sourceName = sourceName;
        this.specializer = specializer;
        if (specs.isEmpty()) {
            throw new GraphException(sourceName + ": a graph module needs at least one graph");
        }
        for (Specialization s : specs) {
            s.graph.lint(resolverFor(s));
            specializations.add(s);
        }
    }

    /**
     * A block rebuilt from a saved model: {@code holder}'s modules and tensors (under the paths the graphs name) are
     * taken over, and the saved specializations are used as they are. With no source module to re-trace, inputs
     * that no saved specialization accepts are refused with the guards it was saved with.
     */
    public static GraphModule restored(String sourceName, Module holder, List<Specialization> saved) {
        return new GraphModule(holder, sourceName, saved, null);
    }

    /** Records where the block sits in its model, for messages. */
    public GraphModule atPath(String path) {
        blockPath = java.util.Objects.requireNonNull(path);
        return this;
    }

    public String blockPath() {
        return blockPath;
    }

    /** Whether this block can trace new specializations (false for blocks loaded from a file). */
    public boolean canRetrace() {
        return specializer != null;
    }

    /** The class name of the module this was traced from. */
    public String sourceName() {
        return sourceName;
    }

    /** The first (example inputs') graph, as it runs. */
    public Graph graph() {
        return specializations.get(0).graph;
    }

    public List<Specialization> specializations() {
        synchronized (specializations) {
            return List.copyOf(specializations);
        }
    }

    /**
     * Makes {@code passes} the block's pipeline and rebuilds every specialization's graph from its FP32 source with
     * it; specializations traced later are built the same way.
     */
    public void setPipeline(List<GraphPass> passes) {
        synchronized (specializations) {
            if (specializer == null) {
                throw new GraphException(sourceName + " (traced): a block loaded from a file has no FP32 source to"
                        + " rewrite");
            }
            pipeline = List.copyOf(passes);
            for (Specialization s : specializations) {
                compile(s);
            }
        }
    }

    /** The passes every graph of this block is built with (empty: the traced graphs run as they are). */
    public List<GraphPass> pipeline() {
        return pipeline;
    }

    /**
     * The tensors this block's graphs actually use: the state of every module they call and every attribute they
     * read (constants excluded). What else the block holds (the FP32 weights of a layer that a quantized module
     * replaced, kept from the module it was traced from) never runs and is not saved.
     */
    public Set<Tensor> liveTensors() {
        Set<Tensor> live = Collections.newSetFromMap(new IdentityHashMap<>());
        Map<String, Tensor> state = stateDict();
        for (Specialization s : specializations()) {
            for (Node n : s.graph()) {
                if (n.target() instanceof Target.ModuleCall mc) {
                    live.addAll(module(mc.path()).stateDict().values());
                } else if (n.target() instanceof Target.Attr a && !s.constants().containsKey(a.path())
                        && state.containsKey(a.path())) {
                    live.add(state.get(a.path()));
                }
            }
        }
        return live;
    }

    /** Registers a module the graph will call (an observer, a quantized layer) under a new name. */
    public void addSubmodule(String name, Module module) {
        registerModule(name, module);
    }

    /**
     * Rebuilds every graph and execution plan: from the sources through the pipeline for traced blocks, by checking
     * the saved graphs again for loaded ones. Call it after replacing modules the graphs call.
     */
    public void recompile() {
        synchronized (specializations) {
            for (Specialization s : specializations) {
                if (s.source != null) {
                    compile(s);
                } else {
                    s.graph.lint(resolverFor(s));
                    s.interpreter = null;
                }
            }
        }
    }

    /** The source through the pipeline, checked, as the graph {@code s} runs from now on. */
    private void compile(Specialization s) {
        Graph working = s.source.copy();
        for (GraphPass pass : pipeline) {
            pass.apply(this, s, working);
        }
        working.lint(resolverFor(s));
        s.graph = working;
        s.interpreter = null;
    }

    @Override
    protected Object forwardAny(Object... inputs) {
        return interpreterFor(select(inputs)).run(inputs);
    }

    /** The specialization that accepts these inputs, tracing a new one if needed. */
    public Specialization select(Object[] inputs) {
        for (Specialization s : specializations()) {
            if (s.accepts(inputs)) {
                return s;
            }
        }
        if (specializer == null) {
            throw new GraphException(refusal(inputs));
        }
        synchronized (specializations) {
            for (Specialization s : specializations) {
                if (s.accepts(inputs)) {
                    return s;
                }
            }
            if (specializations.size() >= MAX_SPECIALIZATIONS) {
                // Evict the oldest re-trace; the first graph (the example inputs') stays as the block's face.
                specializations.remove(1);
            }
            Specialization s = specializer.specialize(inputs);
            if (!s.accepts(inputs)) {
                throw new GraphException(sourceName + " (traced): a re-trace does not accept its own inputs");
            }
            compile(s);
            specializations.add(s);
            return s;
        }
    }

    /**
     * Why a loaded block (which cannot re-trace) refuses these inputs: the block's path, then for the closest saved
     * graph the input and dimension that differ, the value given and the values the saved graphs accept.
     */
    String refusal(Object[] inputs) {
        String where = "block '" + (blockPath.isEmpty() ? "<model>" : blockPath) + "' (" + sourceName
                + ", loaded from a file, so it cannot re-trace)";
        List<Specialization> specs = specializations();
        StringBuilder why = new StringBuilder();
        for (Specialization s : specs) {
            String mismatch = s.signature.mismatch(inputs);
            if (mismatch != null) {
                if (why.isEmpty()) {
                    why.append(mismatch);
                }
                continue;
            }
            for (Guard g : s.guards) {
                if (inputs[g.input()] instanceof Tensor t && t.dim() > g.dim() && sizeOf(t, g.dim()) != g.size()) {
                    java.util.TreeSet<Integer> accepted = new java.util.TreeSet<>();
                    for (Specialization o : specs) {
                        for (Guard og : o.guards) {
                            if (og.input() == g.input() && og.dim() == g.dim()) {
                                accepted.add(og.size());
                            }
                        }
                    }
                    return where + ": input " + g.input() + " dimension " + g.dim() + " is " + sizeOf(t, g.dim())
                            + "; the saved graphs accept only " + (accepted.size() == 1 ? accepted.first()
                            : "one of " + accepted) + " there (the traced code read that size). Save the model after"
                            + " tracing it on inputs of this size, or write the code so it does not read it";
                }
            }
        }
        return where + ": " + why;
    }

    private Interpreter interpreterFor(Specialization s) {
        Interpreter i = s.interpreter;
        if (i == null) {
            i = newInterpreter(s);
            s.interpreter = i;
        }
        return i;
    }

    /** An interpreter for one specialization, resolving targets against this module and its constants. */
    public Interpreter newInterpreter(Specialization s) {
        Map<String, Tensor> state = stateDict();
        return new Interpreter(this, s.graph) {
            @Override
            protected Object attr(String path) {
                Tensor t = state.get(path);
                if (t == null) {
                    t = s.constants.get(path);
                }
                if (t == null) {
                    throw new GraphException("get_attr: no parameter, buffer or constant '" + path + "'");
                }
                return t;
            }
        };
    }

    private Graph.TargetResolver resolverFor(Specialization s) {
        return new Graph.TargetResolver() {
            @Override
            public boolean hasModule(String path) {
                return GraphModule.this.hasModule(path);
            }

            @Override
            public boolean hasAttr(String path) {
                return GraphModule.this.hasAttr(path) || s.constants.containsKey(path);
            }
        };
    }

    @Override
    public boolean hasModule(String path) {
        return namedModules().containsKey(path);
    }

    @Override
    public boolean hasAttr(String path) {
        return stateDict().containsKey(path);
    }

    @Override
    protected String extraRepr() {
        return "traced " + sourceName + ", " + graph().size() + " nodes, " + specializations.size()
                + " specialization(s)";
    }

    private static int sizeOf(Tensor t, int dim) {
        return t.concrete().size(dim);
    }
}
