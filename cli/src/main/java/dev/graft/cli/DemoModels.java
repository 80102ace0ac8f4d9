package dev.graft.cli;

import dev.graft.engine.trace.Partition;
import dev.graft.engine.trace.PartitionNode;
import dev.graft.engine.trace.PartitionPicture;
import dev.graft.engine.trace.Partitioner;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;

/** The demo's first part: fine-grained partitions of the three reference models, checked and drawn. */
final class DemoModels {
    private DemoModels() {
    }

    /** Partitions each model, checks the reassembled model against the original, draws the partition. */
    static void partitions(PrintStream out, Path outDir) throws IOException {
        for (String name : ReferenceModels.NAMES) {
            ReferenceModels.Example ex = ReferenceModels.load(name);
            Object before = ex.model().callAny(ex.inputs());
            Partition p = Partitioner.partition(ex.model(), ex.inputs());
            Object after = p.model().callAny(ex.inputs());
            PartitionNode root = p.tree();
            out.printf("%n%s: %s%n", name, ex.description());
            out.printf("  %d traced blocks, %d eager modules with control flow; root: %s%n",
                    p.withStatus(PartitionNode.Status.TRACED).size(),
                    p.withStatus(PartitionNode.Status.EAGER_CONTROL_FLOW).size(),
                    root.status() == PartitionNode.Status.TRACED ? "traced whole"
                            : root.reason() + " at " + root.sourceLine());
            for (PartitionNode n : p.withStatus(PartitionNode.Status.TRACED)) {
                if (n.computeNodes() >= 5) {
                    out.printf("    traced %-28s %3d ops%n", n.path(), n.computeNodes());
                }
            }
            out.println("  reassembled vs original: " + (PartitionCommand.bitIdentical(before, after)
                    ? "bit-identical" : "DIFFERENT"));
            Path svg = outDir.resolve("partition-" + name + ".svg");
            PartitionCommand.writeAtomically(svg, PartitionPicture.svg("Fine-grained partition: "
                    + ex.description(), p));
            out.println("  picture: " + svg);
        }
    }
}
