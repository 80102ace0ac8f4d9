package dev.graft.engine.graph;

import dev.graft.engine.Module;
import dev.graft.ops.Dispatch;
import dev.graft.ops.Tensor;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a graph node by node: {@code run -> runNode -> one case per node kind}. Values live in slots, and each is
 * dropped right after its last use. Subclasses watch values through {@link #onNodeResult} (calibration) or change
 * how a node kind is run. The order, argument slots and last uses are computed once, at construction.
 */
public class Interpreter {
    protected final Module owner;
    protected final Graph graph;
    private final Node[] order;
    private final Object[][] argTemplates;
    private final int[][] freeAfter;
    private final Map<Node, Integer> slotOf = new IdentityHashMap<>();
    private static final ThreadLocal<NodeTimer> TIMER = new ThreadLocal<>();

    /** Receives the wall time of each node a graph runs on this thread ({@link #listen}), for profiles. */
    @FunctionalInterface
    public interface NodeTimer {
        /** @param what the operator's name, or the called module's class name */
        void node(String what, long nanos);

        /** The clock nodes are timed with: wall time by default (a profile may use the thread's CPU time). */
        default long now() {
            return System.nanoTime();
        }
    }

    /**
     * Times every node the interpreters run on the current thread until the handle is closed ({@code graft bench
     * minilm --peer ort --profile}). Without a timer a node costs one thread-local read more.
     */
    public static dev.graft.engine.HookHandle listen(NodeTimer timer) {
        if (TIMER.get() != null) {
            throw new IllegalStateException("a node timer is already listening on this thread");
        }
        TIMER.set(java.util.Objects.requireNonNull(timer));
        return TIMER::remove;
    }

    /** @param owner the module that get_attr and call_module targets are resolved against */
    public Interpreter(Module owner, Graph graph) {
        this.owner = owner;
        this.graph = graph;
        List<Node> nodes = graph.nodes();
        order = nodes.toArray(new Node[0]);
        for (int i = 0; i < order.length; i++) {
            slotOf.put(order[i], i);
        }
        argTemplates = new Object[order.length][];
        int[] lastUse = new int[order.length];
        for (int i = 0; i < order.length; i++) {
            lastUse[i] = order[i].kind() == NodeKind.OUTPUT ? Integer.MAX_VALUE : i;
        }
        for (int i = 0; i < order.length; i++) {
            List<Object> args = order[i].args();
            Object[] t = new Object[args.size()];
            for (int a = 0; a < t.length; a++) {
                t[a] = template(args.get(a));
            }
            argTemplates[i] = t;
            for (Node in : order[i].inputNodes()) {
                int s = slotOf.get(in);
                lastUse[s] = Math.max(lastUse[s], i);
            }
        }
        List<List<Integer>> frees = new ArrayList<>();
        for (int i = 0; i < order.length; i++) {
            frees.add(new ArrayList<>());
        }
        for (int s = 0; s < order.length; s++) {
            if (lastUse[s] != Integer.MAX_VALUE && lastUse[s] > s) {
                frees.get(lastUse[s]).add(s);
            }
        }
        freeAfter = new int[order.length][];
        for (int i = 0; i < order.length; i++) {
            freeAfter[i] = frees.get(i).stream().mapToInt(Integer::intValue).toArray();
        }
    }

    /** A reference to the value of a node, in an argument template. */
    private record Slot(int index) {
    }

    /** A List argument (a Tensor[] at run time), in an argument template. */
    private record ListArg(Object[] items) {
    }

    private Object template(Object arg) {
        if (arg instanceof Node n) {
            Integer s = slotOf.get(n);
            if (s == null) {
                throw new GraphException("node argument " + n.name() + " is not in the graph");
            }
            return new Slot(s);
        }
        if (arg instanceof List<?> list) {
            Object[] items = new Object[list.size()];
            for (int i = 0; i < items.length; i++) {
                items[i] = template(list.get(i));
            }
            return new ListArg(items);
        }
        return arg;
    }

    private static Object materialize(Object t, Object[] env) {
        if (t instanceof Slot s) {
            return env[s.index];
        }
        if (t instanceof ListArg l) {
            Tensor[] out = new Tensor[l.items.length];
            for (int i = 0; i < out.length; i++) {
                out[i] = (Tensor) materialize(l.items[i], env);
            }
            return out;
        }
        if (t instanceof int[] v) {
            return v.clone();
        }
        if (t instanceof float[] v) {
            return v.clone();
        }
        return t;
    }

    /** Runs the graph on the given inputs (one per placeholder, in order). */
    public Object run(Object... inputs) {
        Object[] env = new Object[order.length];
        NodeTimer timer = TIMER.get();
        int placeholder = 0;
        Object result = null;
        for (int i = 0; i < order.length; i++) {
            Node node = order[i];
            Object[] templ = argTemplates[i];
            Object[] args = new Object[templ.length];
            for (int a = 0; a < args.length; a++) {
                args[a] = materialize(templ[a], env);
            }
            Object value;
            try {
                if (node.kind() == NodeKind.PLACEHOLDER) {
                    if (placeholder >= inputs.length) {
                        throw new GraphException("graph has more inputs than the " + inputs.length + " given");
                    }
                    value = inputs[placeholder++];
                } else if (timer == null) {
                    value = runNode(node, args);
                } else {
                    long t0 = timer.now();
                    value = runNode(node, args);
                    timer.node(describe(node), timer.now() - t0);
                }
            } catch (GraphExecutionException e) {
                throw e;
            } catch (RuntimeException e) {
                throw new GraphExecutionException(node, e);
            }
            env[i] = value;
            onNodeResult(node, value);
            if (node.kind() == NodeKind.OUTPUT) {
                result = value;
            }
            for (int s : freeAfter[i]) {
                env[s] = null;
            }
        }
        if (placeholder != inputs.length) {
            throw new GraphException("graph takes " + placeholder + " inputs, got " + inputs.length);
        }
        return result;
    }

    /** What a node runs, for a profile: the operator's name or the called module's class. */
    private String describe(Node node) {
        return switch (node.target()) {
            case Target.ModuleCall m -> owner.module(m.path()).getClass().getSimpleName();
            case Target.Function f -> f.op().name();
            default -> node.kind().name().toLowerCase(java.util.Locale.ROOT);
        };
    }

    /** Computes one node from its materialized arguments. */
    protected Object runNode(Node node, Object[] args) {
        return switch (node.target()) {
            case Target.Attr a -> attr(a.path());
            case Target.ModuleCall m -> owner.module(m.path()).callAny(args);
            case Target.Function f -> Dispatch.call(f.op(), args);
            case Target.Output o -> args[0];
            case Target.Input in -> throw new IllegalStateException("placeholders are bound in run()");
        };
    }

    /** Resolves a get_attr path; GraphModule overrides this to add traced constants. */
    protected Object attr(String path) {
        Tensor t = owner.stateDict().get(path);
        if (t == null) {
            throw new GraphException("get_attr: no parameter or buffer '" + path + "'");
        }
        return t;
    }

    /** Called with every node's value as it is computed (the calibration hook). */
    protected void onNodeResult(Node node, Object value) {
    }
}
