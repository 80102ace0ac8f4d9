package dev.graft.cli;

import dev.graft.engine.trace.Partition;
import dev.graft.engine.trace.PartitionNode;
import dev.graft.engine.trace.Partitioner;
import dev.graft.models.bert.MiniLm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The demo's counts are the lengths of the lists they head: part 1's "N traced blocks" and "M modules left eager"
 * headings against the blocks and modules listed under them, and both against the results table's
 * "blocks traced / eager" column for the same partition.
 */
class DemoCountsTest {
    private static final Pattern HEADING = Pattern.compile("  (\\d+) (traced blocks?|modules?) .*:");
    private static final Pattern RUN = Pattern.compile(".* ops each \\((\\d+) blocks\\)");

    /** Heading count and listed count for each heading of a summary. */
    private record Counted(String what, int heading, int listed) {
    }

    private static List<Counted> parse(List<String> lines) {
        List<Counted> out = new ArrayList<>();
        String what = null;
        int heading = 0;
        int listed = 0;
        for (String line : lines) {
            Matcher h = HEADING.matcher(line);
            if (h.matches()) {
                if (what != null) {
                    out.add(new Counted(what, heading, listed));
                }
                what = h.group(2);
                heading = Integer.parseInt(h.group(1));
                listed = 0;
            } else {
                assertTrue(line.startsWith("    "), "an item line under a heading: '" + line + "'");
                Matcher run = RUN.matcher(line);
                listed += run.matches() ? Integer.parseInt(run.group(1)) : 1;
            }
        }
        if (what != null) {
            out.add(new Counted(what, heading, listed));
        }
        return out;
    }

    private static void check(Partition p) {
        List<String> lines = DemoModels.summary(p);
        List<Counted> counted = parse(lines);
        assertEquals(2, counted.size(), String.join("\n", lines));
        for (Counted c : counted) {
            assertEquals(c.heading(), c.listed(), c.what() + ": the heading counts what it lists\n"
                    + String.join("\n", lines));
        }
        assertEquals(counted.get(0).heading() + " / " + counted.get(1).heading(), Workloads.blocks(p),
                "the same counts as the results table's blocks column");
        assertEquals(p.withStatus(PartitionNode.Status.TRACED).size(), counted.get(0).heading());
    }

    @ParameterizedTest
    @ValueSource(strings = {"cnn", "nanodet"})
    void referenceModelsCountWhatTheyList(String name) throws Exception {
        ReferenceModels.Example ex = ReferenceModels.load(name);
        check(Partitioner.partition(ex.model(), ex.inputs()));
    }

    /** MiniLM has runs of numbered layers (one line each run) and small traced blocks the old list left out. */
    @Test
    void miniLmCountsWhatItLists() throws Exception {
        assumeTrue(MiniLm.available(), "the model jar " + MiniLm.MAVEN_COORDINATE + " on the class path");
        ReferenceModels.Example ex = ReferenceModels.load("minilm");
        Partition p = Partitioner.partition(ex.model(), ex.inputs());
        check(p);
        assertTrue(DemoModels.summary(p).stream().anyMatch(l -> l.contains("bert.encoder.layer.0-5")),
                String.join("\n", DemoModels.summary(p)));
    }

    @Test
    void singularAndPlural() {
        assertEquals("1 module", DemoModels.plural(1, "module", "modules"));
        assertEquals("2 modules", DemoModels.plural(2, "module", "modules"));
    }
}
