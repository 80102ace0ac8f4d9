package dev.graft.engine.fuse;

import dev.graft.engine.graph.GraphModule;
import dev.graft.engine.trace.Partition;

import java.util.ArrayList;
import java.util.List;

/**
 * The rewrites that make a traced block faster without changing what it computes, run last in every block's
 * pipeline: after a quantizer's passes for INT8 blocks, alone for FP32 blocks ({@link #apply}). They are graph
 * passes like the quantizers', so {@code graft inspect --graphs} shows their nodes and a saved model keeps them.
 * <ul>
 *   <li>{@link AttentionFusion}: matmul -> scale -> mask -> softmax -> matmul as one {@code attention} node
 *       (same bits, no score tensor, no permuted copies).</li>
 * </ul>
 * They are for inference: a fused node has no backward rule, and a dropout removed from the attention pattern
 * (only one that does nothing at the time of the rewrite: eval mode or p = 0) is not brought back by
 * {@code train()}. Quantize or optimize a model in eval mode, after training.
 */
public final class InferenceFusions {
    private InferenceFusions() {
    }

    /** {@code -Dgraft.fusions=false} turns the rewrites off (to compare, or to bisect a numerical question). */
    public static final String PROPERTY = "graft.fusions";

    /** The passes, in the order they run (none when {@link #PROPERTY} is {@code false}). */
    public static List<GraphModule.GraphPass> passes() {
        if (!Boolean.parseBoolean(System.getProperty(PROPERTY, "true"))) {
            return List.of();
        }
        return List.of(new AttentionFusion(), new LayerFusion());
    }

    /** Appends the passes to the block's pipeline (once) and rebuilds its graphs; loaded blocks are left as saved. */
    public static void appendTo(GraphModule block) {
        if (!block.canRetrace()) {
            return;
        }
        List<GraphModule.GraphPass> pipeline = new ArrayList<>(block.pipeline());
        for (GraphModule.GraphPass p : passes()) {
            if (pipeline.stream().noneMatch(q -> q.getClass() == p.getClass())) {
                pipeline.add(p);
            }
        }
        block.setPipeline(pipeline);
    }

    /** {@link #appendTo} on every traced block of a partition (an FP32 model made ready for inference). */
    public static Partition apply(Partition partition) {
        partition.blocks().values().forEach(InferenceFusions::appendTo);
        return partition;
    }
}
