package dev.graft.engine.graph;

import dev.graft.engine.Module;
import dev.graft.ops.Tensor;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * A module whose forward is a graph: the traced form of a {@code source} module. It takes over the source's
 * parameters, buffers and children under the same names, so its state dict equals the source's and
 * {@code call_module} / {@code get_attr} targets resolve exactly as in the source.
 *
 * <p>A trace is valid for the input signature and the shapes its code read (its {@link Guard}s). Called with inputs
 * that break a guard, the module asks its {@link Specializer} for a new graph (a re-trace at the new shapes) and
 * keeps both: one {@link Specialization} per shape family, at most {@link #MAX_SPECIALIZATIONS}.
 */
public final class GraphModule extends Module implements Graph.TargetResolver {

    /** Bounds memory when a block is called with ever-new shapes; beyond it the oldest re-trace is dropped. */
    public static final int MAX_SPECIALIZATIONS = 64;

    /** Makes a new specialization for inputs that no existing one accepts (the tracer, re-tracing the source). */
    @FunctionalInterface
    public interface Specializer {
        Specialization specialize(Object[] inputs);
    }

    /** One traced graph with the conditions under which it is valid and the constants it captured. */
    public static final class Specialization {
        private final Graph graph;
        private final InputSignature signature;
        private final List<Guard> guards;
        private final Map<String, Tensor> constants;
        private volatile Interpreter interpreter;

        public Specialization(Graph graph, InputSignature signature, List<Guard> guards, Map<String, Tensor> constants) {
            this.graph = graph;
            this.signature = signature;
            this.guards = List.copyOf(guards);
            this.constants = Map.copyOf(constants);
        }

        public Graph graph() {
            return graph;
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
     * A rewrite of one specialization's graph in place (fusion, observer insertion, convert). Passes added with
     * {@link #applyPass} run on every specialization, and on each one traced later, in the order they were added.
     */
    @FunctionalInterface
    public interface GraphPass {
        void apply(GraphModule owner, Specialization specialization);
    }

    private final String sourceName;
    private final Specializer specializer;
    private final List<Specialization> specializations = Collections.synchronizedList(new ArrayList<>());
    private final List<GraphPass> passes = new ArrayList<>();

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

    /** Whether this block can trace new specializations (false for blocks loaded from a file). */
    public boolean canRetrace() {
        return specializer != null;
    }

    /** The class name of the module this was traced from. */
    public String sourceName() {
        return sourceName;
    }

    /** The first (example inputs') graph. */
    public Graph graph() {
        return specializations.get(0).graph;
    }

    public List<Specialization> specializations() {
        synchronized (specializations) {
            return List.copyOf(specializations);
        }
    }

    /** Applies {@code pass} to every specialization now and remembers it for specializations traced later. */
    public void applyPass(GraphPass pass) {
        synchronized (specializations) {
            for (Specialization s : specializations) {
                pass.apply(this, s);
            }
            passes.add(pass);
        }
        recompile();
    }

    /** Registers a module the graph will call (an observer, a quantized layer) under a new name. */
    public void addSubmodule(String name, Module module) {
        registerModule(name, module);
    }

    /** Rebuilds the execution plans after a pass changed the graphs in place. */
    public void recompile() {
        for (Specialization s : specializations()) {
            s.graph.lint(resolverFor(s));
            s.interpreter = null;
        }
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
            throw new GraphException(sourceName + " (traced): inputs do not satisfy the guards of any of its "
                    + specializations.size() + " graph(s) (first: " + specializations.get(0).guards + ", "
                    + specializations.get(0).signature + ") and this block cannot re-trace (it was loaded from a"
                    + " file: save the model after running it on these shapes, or write the model's code so the trace"
                    + " does not read sizes)");
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
            for (GraphPass pass : passes) {
                pass.apply(this, s);
            }
            if (!s.accepts(inputs)) {
                throw new GraphException(sourceName + " (traced): a re-trace does not accept its own inputs");
            }
            s.graph.lint(resolverFor(s));
            specializations.add(s);
            return s;
        }
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
