package dev.graft.engine.trace;

import dev.graft.engine.HookHandle;
import dev.graft.engine.Module;
import dev.graft.engine.graph.GraphModule;
import dev.graft.engine.graph.GraphOps;
import dev.graft.engine.graph.Node;
import dev.graft.engine.graph.NodeKind;
import dev.graft.engine.graph.Target;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Fine-grained tracing: try to trace the whole model; where tracing hits control flow, try the children in order,
 * recursively. The first success claims the whole subtree, so traced blocks are the largest that trace. Traced
 * blocks replace the originals in place (through {@link Module#replaceModule}), and the model's own imperative code
 * keeps running around them.
 *
 * <p>Each module is traced with the inputs it received when the model ran once on the example inputs (recorded by
 * forward pre-hooks), so shapes and optional inputs are those real calls had.
 */
public final class Partitioner {
    private final TraceConfig config;
    private final Map<Module, Object[]> firstInputs = new IdentityHashMap<>();

    private Partitioner(TraceConfig config) {
        this.config = config;
    }

    /** Partitions with the default configuration (standard layers are leaves). */
    public static Partition partition(Module model, Object... exampleInputs) {
        return partition(model, exampleInputs, TraceConfig.defaults());
    }

    public static Partition partition(Module model, Object[] exampleInputs, TraceConfig config) {
        return partitionWithExamples(model, List.<Object[]>of(exampleInputs), config);
    }

    /**
     * Partitions with several example inputs, run one after the other: a module that any of them reaches is traced
     * (with the first inputs it was called with), so every branch of the model's control flow that the examples take
     * gets its blocks. With one example, a branch it does not take stays "not reached" (eager FP32).
     */
    public static Partition partitionWithExamples(Module model, List<Object[]> examples, TraceConfig config) {
        if (examples.isEmpty()) {
            throw new IllegalArgumentException("partition: at least one example input is needed");
        }
        Partitioner p = new Partitioner(config);
        for (Object[] example : examples) {
            p.recordInputs(model, example);
        }
        Module[] newRoot = {model};
        PartitionNode tree = p.claim(model, "", replacement -> newRoot[0] = replacement);
        return new Partition(newRoot[0], tree);
    }

    /** Runs the model once, remembering every module's first inputs. */
    private void recordInputs(Module model, Object[] exampleInputs) {
        List<HookHandle> hooks = new ArrayList<>();
        for (Module m : model.namedModules().values()) {
            hooks.add(m.addForwardPreHook((mod, in) -> {
                firstInputs.putIfAbsent(mod, in.clone());
                return null;
            }));
        }
        try {
            model.callAny(exampleInputs);
        } finally {
            hooks.forEach(HookHandle::remove);
        }
    }

    private interface Replace {
        void with(Module replacement);
    }

    private PartitionNode claim(Module module, String path, Replace replace) {
        String cls = module.getClass().getSimpleName();
        if (config.isNonTraceable(module, path)) {
            return new PartitionNode(path, cls, PartitionNode.Status.NON_TRACEABLE, "configured non-traceable", "",
                    Map.of(), List.of());
        }
        Object[] inputs = firstInputs.get(module);
        if (inputs == null) {
            if (module.children().isEmpty()) {
                return new PartitionNode(path, cls, PartitionNode.Status.NOT_REACHED,
                        "never called with the example inputs", "", Map.of(), List.of());
            }
            List<PartitionNode> children = claimChildren(module, path);
            boolean anyReached = children.stream().anyMatch(c -> c.status() != PartitionNode.Status.NOT_REACHED);
            return anyReached
                    ? new PartitionNode(path, cls, PartitionNode.Status.CONTAINER, "", "", Map.of(), children)
                    : new PartitionNode(path, cls, PartitionNode.Status.NOT_REACHED,
                            "never called with the example inputs", "", Map.of(), children);
        }
        try {
            GraphModule block = Tracer.trace(module, path, inputs, config);
            replace.with(block);
            return new PartitionNode(path, cls, PartitionNode.Status.TRACED, "", "", opCounts(block), List.of());
        } catch (TraceException e) {
            PartitionNode.Status status = module.children().isEmpty() ? PartitionNode.Status.EAGER_LEAF
                    : e instanceof ControlFlowException ? PartitionNode.Status.EAGER_CONTROL_FLOW
                    : PartitionNode.Status.EAGER_UNTRACEABLE;
            // Name the module whose code stopped the trace when it is a descendant (the root of BERT fails in 'bert').
            String where = e.modulePath().equals(path) ? "" : " in '" + e.modulePath() + "'";
            return new PartitionNode(path, cls, status, e.problem() + where, e.sourceLine(), Map.of(),
                    claimChildren(module, path));
        }
    }

    private List<PartitionNode> claimChildren(Module module, String path) {
        List<PartitionNode> out = new ArrayList<>();
        for (Map.Entry<String, Module> e : new ArrayList<>(module.children().entrySet())) {
            String childPath = Tracer.join(path, e.getKey());
            String name = e.getKey();
            out.add(claim(e.getValue(), childPath, replacement -> module.replaceChild(name, replacement)));
        }
        return out;
    }

    /** Node counts of a block's first graph: operators by name, leaf modules by class. */
    static Map<String, Integer> opCounts(GraphModule block) {
        Map<String, Integer> counts = new TreeMap<>();
        for (Node n : block.graph()) {
            String key = switch (n.target()) {
                case Target.Function f -> f.op().name();
                case Target.ModuleCall m -> block.module(m.path()).getClass().getSimpleName();
                default -> null;
            };
            // getitem only picks one tensor of the node before it: not an operator of its own.
            boolean getItem = n.target() instanceof Target.Function f && f.op() == GraphOps.GET_ITEM;
            if (key != null && n.kind() != NodeKind.OUTPUT && !getItem) {
                counts.merge(key, 1, Integer::sum);
            }
        }
        return counts;
    }
}
