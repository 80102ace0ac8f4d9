package dev.graft.engine.trace;

import dev.graft.engine.HookHandle;
import dev.graft.engine.Module;
import dev.graft.engine.ModuleCallInterceptor;
import dev.graft.engine.graph.Graph;
import dev.graft.engine.graph.GraphModule;
import dev.graft.engine.graph.GraphOps;
import dev.graft.engine.graph.Guard;
import dev.graft.engine.graph.InputSignature;
import dev.graft.engine.graph.Meta;
import dev.graft.engine.graph.Node;
import dev.graft.ops.Dispatch;
import dev.graft.ops.Op;
import dev.graft.ops.SymbolicTracer;
import dev.graft.ops.Tensor;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Records a module's ordinary forward code as a {@link Graph}. The inputs become symbolic tensors that carry the
 * example values; every operator on them is recorded (and computed on the examples, so shapes are concrete);
 * leaf modules become {@code call_module} nodes; parameters and buffers become {@code get_attr}. A symbolic tensor
 * that user code asks for data ends the trace with a {@link ControlFlowException} naming the module and the line.
 *
 * <p>Re-tracing: a block re-traced for new shapes may have had its leaves replaced since (fused, quantized), and
 * the tracer computes each leaf's example with the module that path held when the block was first traced (its
 * {@code sourceLeaves}), so every trace of a block is the FP32 trace, whatever the passes have done to it.
 *
 * <p>Shapes: every traced value's dimensions carry their origin ({@link DimOrigins}: an input dimension, a fixed
 * size, or unknown). Reading a size records a {@link Guard} only on the input dimension it came from; a fixed size
 * (a weight's width) needs none; only a size of unknown origin makes the trace specialize on every input dimension.
 * So code that reads only its hidden width serves every batch and sequence length with one graph. A
 * {@link GraphModule} re-traces when a guard fails.
 */
public final class Tracer implements SymbolicTracer {
    private final Module root;
    private final String rootPath;
    private final TraceConfig config;
    private final Graph graph = new Graph();
    private final Map<Module, String> modulePaths = new IdentityHashMap<>();
    private final Map<Tensor, String> attrPaths = new IdentityHashMap<>();
    private final Map<Tensor, Node> attrNodes = new IdentityHashMap<>();
    private final Map<String, Tensor> constants = new LinkedHashMap<>();
    private final Map<Node, Integer> placeholderIndex = new IdentityHashMap<>();
    private final Deque<String> pathStack = new ArrayDeque<>();
    private final Set<Guard> guards = new LinkedHashSet<>();
    /** Every leaf the block's traces have called, by path, as it was when first traced: the FP32 modules. */
    private final Map<String, Module> sourceLeaves;
    private boolean specializeAll;
    private final DimOrigins origins = new DimOrigins();

    private Tracer(Module root, String rootPath, TraceConfig config, Map<String, Module> sourceLeaves) {
        this.root = root;
        this.rootPath = rootPath;
        this.config = config;
        this.sourceLeaves = sourceLeaves;
        root.namedModules().forEach((path, m) -> modulePaths.putIfAbsent(m, path));
        root.stateDict().forEach((path, t) -> attrPaths.putIfAbsent(t, path));
    }

    /** Traces {@code root} on example inputs with the default configuration. */
    public static GraphModule trace(Module root, Object... exampleInputs) {
        return trace(root, "", exampleInputs, TraceConfig.defaults());
    }

    /**
     * Traces {@code root}, which sits at {@code rootPath} in a larger model (for configuration by name and for
     * messages), into a graph module that re-traces itself for inputs its guards reject.
     *
     * @throws TraceException when the forward cannot be expressed as a graph
     */
    public static GraphModule trace(Module root, String rootPath, Object[] exampleInputs, TraceConfig config) {
        Map<String, Module> sourceLeaves = new LinkedHashMap<>();
        GraphModule.Specialization first = new Tracer(root, rootPath, config, sourceLeaves).run(exampleInputs);
        // Re-traces are serialized by the GraphModule, so the leaves' map needs no lock of its own.
        return new GraphModule(root, first, inputs -> new Tracer(root, rootPath, config, sourceLeaves).run(inputs))
                .atPath(rootPath);
    }

    private GraphModule.Specialization run(Object[] inputs) {
        InputSignature signature;
        try {
            signature = InputSignature.of(inputs);
        } catch (RuntimeException e) {
            throw new TraceException(rootPath, e.getMessage(), "inputs");
        }
        Object[] symbolic = new Object[inputs.length];
        for (int i = 0; i < inputs.length; i++) {
            Node p = graph.placeholder("input");
            placeholderIndex.put(p, i);
            symbolic[i] = placeholderValue(inputs[i], p);
        }
        Object out;
        pathStack.push("");
        try (HookHandle ignored = Module.interceptCalls(this::intercept)) {
            out = root.callAny(symbolic);
        } finally {
            pathStack.clear();
        }
        graph.output(mapOutput(out));
        graph.eliminateDeadCode();
        if (specializeAll) {
            for (int i = 0; i < inputs.length; i++) {
                if (inputs[i] instanceof Tensor t) {
                    int[] shape = t.concrete().shape();
                    for (int d = 0; d < shape.length; d++) {
                        guards.add(new Guard(i, d, shape[d]));
                    }
                }
            }
        }
        return new GraphModule.Specialization(graph, signature, new ArrayList<>(guards), constants);
    }

    private Object placeholderValue(Object input, Node p) {
        if (input instanceof Tensor t) {
            annotate(p, t);
            origins.input(p, placeholderIndex.get(p), t.concrete().dim());
            return Tensor.symbolic(t, this, p);
        }
        if (input instanceof Tensor[] ts) {
            Tensor[] out = new Tensor[ts.length];
            for (int k = 0; k < ts.length; k++) {
                Node item = graph.callFunction(GraphOps.GET_ITEM, p, k);
                annotate(item, ts[k]);
                out[k] = Tensor.symbolic(ts[k], this, item);
            }
            return out;
        }
        return input;
    }

    // ---------------------------------------------------------------- module calls

    private Object intercept(Module module, Object[] inputs, ModuleCallInterceptor.Proceed proceed) {
        String path = modulePaths.get(module);
        if (path == null || module == root || !anySymbolic(inputs)) {
            return proceed.run(inputs);
        }
        String fullPath = join(rootPath, path);
        if (config.isLeaf(module, fullPath)) {
            Object[] concrete = concretize(inputs);
            Module asFirstTraced = sourceLeaves.computeIfAbsent(path, p -> module);
            Object example = Module.withoutInterception(() -> asFirstTraced == module ? proceed.run(concrete)
                    : asFirstTraced.callAny(concrete));
            Node node = graph.callModule(path, mapArgs(inputs).toArray());
            node.putMeta(Meta.MODULE_PATH, path);
            origins.leaf(module, inputs, node, example);
            return wrap(example, node, "module " + fullPath + " (" + module.getClass().getSimpleName() + ")");
        }
        pathStack.push(path);
        try {
            return proceed.run(inputs);
        } finally {
            pathStack.pop();
        }
    }

    private boolean anySymbolic(Object[] inputs) {
        for (Object in : inputs) {
            if (in instanceof Tensor t && t.tracer() == this) {
                return true;
            }
            if (in instanceof Tensor[] ts) {
                for (Tensor t : ts) {
                    if (t != null && t.tracer() == this) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    // ---------------------------------------------------------------- SymbolicTracer

    @Override
    public Object record(Op op, Object[] args) {
        Object example = Dispatch.computeEagerly(op, concretize(args));
        Node node = graph.callFunction(op, mapArgs(args).toArray());
        node.putMeta(Meta.MODULE_PATH, currentPath());
        if (example instanceof Tensor t) {
            origins.op(op, args, node, t);
        }
        return wrap(example, node, "operator " + op.name());
    }

    @Override
    public RuntimeException refuseConcreteAccess(Tensor tensor, String what) {
        return new ControlFlowException(join(rootPath, currentPath()), what, SourceLocation.userFrame());
    }

    @Override
    public void shapeRead(Tensor tensor, int dim) {
        DimOrigins.Origin origin = origins.of(tensor, dim);
        if (origin == null) {
            specializeAll = true; // a size the rules cannot trace back: every input dimension is fixed
        } else if (origin != DimOrigins.FIXED) {
            guards.add(DimOrigins.guardFor(origin, tensor.concrete().size(dim)));
        }
    }

    // ---------------------------------------------------------------- values <-> nodes

    private Object wrap(Object example, Node node, String producer) {
        if (example instanceof Tensor t) {
            annotate(node, t);
            return Tensor.symbolic(t, this, node);
        }
        if (example instanceof Tensor[] ts) {
            node.putMeta(Meta.OUTPUTS, ts.length);
            Tensor[] out = new Tensor[ts.length];
            for (int i = 0; i < ts.length; i++) {
                Node item = graph.callFunction(GraphOps.GET_ITEM, node, i);
                item.putMeta(Meta.MODULE_PATH, currentPath());
                annotate(item, ts[i]);
                out[i] = Tensor.symbolic(ts[i], this, item);
            }
            return out;
        }
        throw new TraceException(join(rootPath, currentPath()), producer + " returned "
                + (example == null ? "null" : example.getClass().getSimpleName())
                + ", which a graph cannot carry (tensors and tensor arrays only)", SourceLocation.userFrame());
    }

    private static void annotate(Node node, Tensor t) {
        Tensor c = t.concrete();
        node.putMeta(Meta.SHAPE, c.shape());
        node.putMeta(Meta.DTYPE, c.dtype());
    }

    private List<Object> mapArgs(Object[] args) {
        List<Object> out = new ArrayList<>(args.length);
        for (Object a : args) {
            out.add(mapArg(a));
        }
        return out;
    }

    private Object mapArg(Object a) {
        if (a instanceof Tensor t) {
            if (t.tracer() == this) {
                return t.symbolicNode();
            }
            if (t.isSymbolic()) {
                throw new TraceException(join(rootPath, currentPath()), "a symbolic tensor of another trace was used",
                        SourceLocation.userFrame());
            }
            return attrNode(t);
        }
        if (a instanceof Tensor[] ts) {
            List<Object> out = new ArrayList<>(ts.length);
            for (Tensor t : ts) {
                out.add(mapArg(t));
            }
            return out;
        }
        return a;
    }

    /** A parameter/buffer becomes get_attr by its path; any other concrete tensor a named constant. */
    private Node attrNode(Tensor t) {
        Node n = attrNodes.get(t);
        if (n != null) {
            return n;
        }
        String path = attrPaths.get(t);
        if (path == null) {
            path = "_tensor_constant" + constants.size();
            constants.put(path, t);
        }
        n = graph.getAttr(path);
        annotate(n, t);
        attrNodes.put(t, n);
        return n;
    }

    private Object mapOutput(Object out) {
        if (out instanceof Tensor || out instanceof Tensor[]) {
            return mapArg(out);
        }
        throw new TraceException(rootPath, "forward returned " + (out == null ? "null" : out.getClass().getSimpleName())
                + "; a traced block must return a tensor or a tensor array", "forward");
    }

    private static Object[] concretize(Object[] args) {
        Object[] out = new Object[args.length];
        for (int i = 0; i < args.length; i++) {
            Object a = args[i];
            if (a instanceof Tensor t) {
                out[i] = t.concrete();
            } else if (a instanceof Tensor[] ts) {
                Tensor[] c = new Tensor[ts.length];
                for (int k = 0; k < ts.length; k++) {
                    c[k] = ts[k] == null ? null : ts[k].concrete();
                }
                out[i] = c;
            } else {
                out[i] = a;
            }
        }
        return out;
    }

    private String currentPath() {
        String p = pathStack.peek();
        return p == null ? "" : p;
    }

    static String join(String prefix, String path) {
        if (prefix.isEmpty()) {
            return path;
        }
        return path.isEmpty() ? prefix : prefix + "." + path;
    }
}
