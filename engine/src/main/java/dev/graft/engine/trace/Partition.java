package dev.graft.engine.trace;

import dev.graft.engine.Module;
import dev.graft.engine.graph.GraphModule;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The result of {@link Partitioner#partition}: the reassembled model (the original object with traced blocks
 * grafted in place, or a graph module when the whole model traced) and the partition tree.
 */
public record Partition(Module model, PartitionNode tree) {

    /** The traced blocks by path. */
    public Map<String, GraphModule> blocks() {
        Map<String, GraphModule> out = new LinkedHashMap<>();
        for (PartitionNode n : tree.flatten()) {
            if (n.status() == PartitionNode.Status.TRACED) {
                out.put(n.path(), (GraphModule) model.module(n.path()));
            }
        }
        return out;
    }

    /** Partition nodes with the given status. */
    public List<PartitionNode> withStatus(PartitionNode.Status status) {
        return tree.flatten().stream().filter(n -> n.status() == status).toList();
    }

    /** The tree as indented text: one module per line with its status, reason and the block's op counts. */
    public String describe() {
        StringBuilder sb = new StringBuilder();
        describe(sb, tree, 0);
        return sb.toString();
    }

    private static void describe(StringBuilder sb, PartitionNode n, int depth) {
        sb.append("  ".repeat(depth)).append(n.path().isEmpty() ? "<root>" : lastPart(n.path())).append(" (")
                .append(n.moduleClass()).append("): ").append(n.status().label());
        if (n.status() == PartitionNode.Status.TRACED) {
            sb.append(", ").append(n.computeNodes()).append(" ops ").append(formatCounts(n.opCounts()));
        } else if (!n.reason().isEmpty()) {
            sb.append(" — ").append(n.reason());
            if (!n.sourceLine().isEmpty()) {
                sb.append(" at ").append(n.sourceLine());
            }
        }
        sb.append('\n');
        for (PartitionNode c : n.children()) {
            describe(sb, c, depth + 1);
        }
    }

    static String formatCounts(Map<String, Integer> counts) {
        StringBuilder sb = new StringBuilder("{");
        counts.entrySet().stream()
                .sorted(Map.Entry.<String, Integer>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()))
                .forEach(e -> sb.append(sb.length() > 1 ? ", " : "").append(e.getKey()).append(" x").append(e.getValue()));
        return sb.append('}').toString();
    }

    private static String lastPart(String path) {
        return path.substring(path.lastIndexOf('.') + 1);
    }
}
