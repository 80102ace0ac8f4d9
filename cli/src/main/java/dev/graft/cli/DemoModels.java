package dev.graft.cli;

import dev.graft.engine.trace.Partition;
import dev.graft.engine.trace.PartitionNode;
import dev.graft.engine.trace.PartitionPicture;
import dev.graft.engine.trace.Partitioner;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

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
            out.printf("%n%s: %s%n", name, ex.description());
            summary(p).forEach(out::println);
            out.println("  reassembled vs original: " + (PartitionCommand.bitIdentical(before, after)
                    ? "bit-identical" : "DIFFERENT"));
            Path svg = outDir.resolve("partition-" + name + ".svg");
            PartitionCommand.writeAtomically(svg, PartitionPicture.svg("Fine-grained partition: "
                    + ex.description(), p));
            out.println("  picture: " + svg);
        }
    }

    /** Statuses the results table's "eager" column counts: modules whose own code runs eagerly. */
    static final List<PartitionNode.Status> EAGER = List.of(PartitionNode.Status.EAGER_CONTROL_FLOW,
            PartitionNode.Status.EAGER_UNTRACEABLE, PartitionNode.Status.EAGER_LEAF,
            PartitionNode.Status.NON_TRACEABLE);

    private static final Pattern INDEXED = Pattern.compile("(.*\\.)(\\d+)");

    /**
     * The partition in a few lines: every traced block (runs of numbered siblings with the same operator count on
     * one line, "layer.0-5  29 ops each (6 blocks)"), then every module left eager with its reason. Each
     * heading's count is the number of blocks or modules listed under it, the same counts as the results table's
     * "blocks traced / eager" column.
     */
    static List<String> summary(Partition p) {
        List<String> lines = new ArrayList<>();
        List<PartitionNode> traced = p.withStatus(PartitionNode.Status.TRACED);
        lines.add("  " + plural(traced.size(), "traced block", "traced blocks") + " (INT8 candidates):");
        for (int i = 0; i < traced.size(); ) {
            PartitionNode first = traced.get(i);
            int j = i + 1;
            Matcher m = INDEXED.matcher(first.path());
            if (m.matches()) {
                int index = Integer.parseInt(m.group(2));
                while (j < traced.size() && traced.get(j).path().equals(m.group(1) + (index + j - i))
                        && traced.get(j).computeNodes() == first.computeNodes()) {
                    j++;
                }
            }
            if (j - i > 1) {
                String run = m.group(1) + m.group(2) + "-" + (Integer.parseInt(m.group(2)) + j - i - 1);
                lines.add(String.format(Locale.ROOT, "    %-34s %3d ops each (%d blocks)", run,
                        first.computeNodes(), j - i));
            } else {
                lines.add(String.format(Locale.ROOT, "    %-34s %3d ops", first.path(), first.computeNodes()));
            }
            i = j;
        }
        List<PartitionNode> eager = new ArrayList<>();
        for (PartitionNode n : p.tree().flatten()) {
            if (EAGER.contains(n.status())) {
                eager.add(n);
            }
        }
        lines.add("  " + plural(eager.size(), "module", "modules") + " left eager (run as Java code), and why:");
        for (PartitionNode n : eager) {
            String why = n.reason().isEmpty() ? n.status().label() : n.reason();
            int cut = why.indexOf(" at ");     // the reason's own location is the source line printed next
            if (cut > 0 && !n.sourceLine().isEmpty()) {
                why = why.substring(0, cut);
            }
            lines.add(String.format(Locale.ROOT, "    %-34s %s%s", n.path().isEmpty() ? "<model>" : n.path(), why,
                    n.sourceLine().isEmpty() ? "" : " at " + n.sourceLine()));
        }
        return lines;
    }

    static String plural(int n, String one, String many) {
        return n + " " + (n == 1 ? one : many);
    }
}
