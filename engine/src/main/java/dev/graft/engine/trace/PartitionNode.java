package dev.graft.engine.trace;

import java.util.List;
import java.util.Map;

/**
 * One module in a partition tree: where it is, what the partitioner decided and why.
 *
 * @param path         dotted module path from the partitioned model ("" for the root)
 * @param moduleClass  simple class name of the original module
 * @param status       the decision
 * @param reason       why it is not traced (the trace error's problem), or "" for traced blocks
 * @param sourceLine   the user's line that stopped the trace, or ""
 * @param opCounts     for traced blocks: node counts by operator or module class ("linear", "Linear", ...)
 * @param children     the children the partitioner looked at (empty for traced blocks and leaves)
 */
public record PartitionNode(String path, String moduleClass, Status status, String reason, String sourceLine,
                            Map<String, Integer> opCounts, List<PartitionNode> children) {

    /** What became of a module. */
    public enum Status {
        /** Traced as one block; replaced by a graph module. */
        TRACED("traced"),
        /** Its own code has data-dependent control flow: stays eager, its children were tried. */
        EAGER_CONTROL_FLOW("eager: control flow"),
        /** Could not be traced for another reason (a non-tensor output, say): stays eager, children tried. */
        EAGER_UNTRACEABLE("eager: untraceable"),
        /** A leaf (no children) that could not be traced: stays eager. */
        EAGER_LEAF("eager leaf"),
        /** Configured never to be traced: stays eager with everything below it. */
        NON_TRACEABLE("non-traceable (configured)"),
        /** Never called itself but holds children that were (a ModuleList): only its children are claimed. */
        CONTAINER("container"),
        /** Never called while the example inputs ran: stays eager (nothing to trace it with). */
        NOT_REACHED("not reached");

        private final String label;

        Status(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }
    }

    public PartitionNode {
        // Sorted, so a tree prints and saves the same way every run (Map.copyOf would not keep an order).
        opCounts = java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(opCounts));
        children = List.copyOf(children);
    }

    /** This node and every node below it, depth first. */
    public List<PartitionNode> flatten() {
        List<PartitionNode> out = new java.util.ArrayList<>();
        flattenInto(out);
        return out;
    }

    private void flattenInto(List<PartitionNode> out) {
        out.add(this);
        for (PartitionNode c : children) {
            c.flattenInto(out);
        }
    }

    /** Total nodes that compute (call_function + call_module) in this block. */
    public int computeNodes() {
        return opCounts.values().stream().mapToInt(Integer::intValue).sum();
    }
}
