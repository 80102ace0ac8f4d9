package dev.graft;

import dev.graft.engine.Module;
import dev.graft.engine.graph.GraphModule;
import dev.graft.engine.quant.Approach;
import dev.graft.engine.quant.report.QuantizationReport;
import dev.graft.engine.trace.Partition;
import dev.graft.engine.trace.PartitionNode;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Why each module with weights that still computes in FP32 does: the one question a quantization report must answer
 * for every such module, so no layer stays FP32 without a word. The reasons, in the order they are decided:
 * not reached while partitioning, eager outside the traced blocks, kept FP32 by the configuration, not reached by
 * calibration, no INT8 kernel for the module in this approach.
 */
final class Fp32Reasons {
    private Fp32Reasons() {
    }

    /**
     * @param calibrated the modules that ran during calibration (static and QAT), or null (dynamic: nothing to reach)
     */
    static QuantizationReport attach(QuantizationReport report, Partition partition, Graft.Config config,
                                     Set<Module> calibrated) {
        List<PartitionNode> nodes = partition.tree().flatten();
        Set<Module> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        List<QuantizationReport.Fp32Module> out = new ArrayList<>();
        for (Map.Entry<String, Module> e : partition.model().namedModules().entrySet()) {
            Module m = e.getValue();
            if (!seen.add(m) || m.localParameters().isEmpty() || QuantizationReport.runsInt8(m)
                    || QuantizationReport.isQuantized(m)) {
                continue;
            }
            if (m instanceof GraphModule gm && m.localParameters().values().stream()
                    .noneMatch(gm.liveTensors()::contains)) {
                continue; // weights kept from the traced module, replaced by a quantized one: they never run
            }
            // A leaf traced on its own is a graph module holding the leaf's weights: name what it was traced from.
            String cls = m instanceof GraphModule gm ? gm.sourceName() : m.getClass().getSimpleName();
            out.add(new QuantizationReport.Fp32Module(e.getKey(), cls,
                    reason(e.getKey(), m, cls, covering(nodes, e.getKey()), config, calibrated)));
        }
        return report.withFp32Modules(out);
    }

    private static String reason(String path, Module m, String cls, PartitionNode node, Graft.Config config,
                                 Set<Module> calibrated) {
        if (node == null) {
            return "not in the partition tree";
        }
        switch (node.status()) {
            case NOT_REACHED -> {
                return "not reached while partitioning: no example input ran it (pass examples that take its branch)";
            }
            case TRACED -> {
            }
            default -> {
                String why = node.reason().isEmpty() ? node.status().label() : node.reason();
                return "eager, outside the traced blocks (" + why + ")";
            }
        }
        if (config.mapping().qconfigFor(path, m) == null) {
            return "kept FP32 by the configuration";
        }
        if (calibrated != null && !calibrated.contains(m)) {
            return "not reached by calibration: no calibration batch ran it";
        }
        String approach = config.approach() == Approach.DYNAMIC ? "dynamic" : "static";
        return "no " + approach + " INT8 kernel for " + cls;
    }

    /** The deepest partition node at or above {@code path}. */
    private static PartitionNode covering(List<PartitionNode> nodes, String path) {
        PartitionNode best = null;
        for (PartitionNode n : nodes) {
            boolean covers = n.path().isEmpty() || n.path().equals(path) || path.startsWith(n.path() + ".");
            if (covers && (best == null || n.path().length() > best.path().length())) {
                best = n;
            }
        }
        return best;
    }
}
