package dev.graft.engine.trace;

import dev.graft.engine.Module;
import dev.graft.engine.graph.GraphModule;
import dev.graft.ops.Tensor;
import dev.graft.testmodels.ControlFlowModels;
import dev.graft.testmodels.RandomTree;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static dev.graft.engine.trace.PartitionNode.Status.EAGER_CONTROL_FLOW;
import static dev.graft.engine.trace.PartitionNode.Status.NOT_REACHED;
import static dev.graft.engine.trace.PartitionNode.Status.TRACED;
import static dev.graft.engine.trace.TracerTest.assertBitIdentical;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PartitionerTest {
    private final Random rng = new Random(8);

    @Test
    void aCleanModelTracesWhole() {
        ControlFlowModels.Clean model = new ControlFlowModels.Clean(4, 1);
        Partition p = Partitioner.partition(model, Tensor.randn(rng, 2, 4));
        assertEquals(TRACED, p.tree().status());
        assertInstanceOf(GraphModule.class, p.model());
        assertEquals(Map.of("Linear", 1, "ReLU", 1, "mul", 1, "add", 1), p.tree().opCounts());
    }

    @Test
    void branchingRootStaysEagerAndItsChildrenAreClaimedInPlace() {
        ControlFlowModels.Branchy model = new ControlFlowModels.Branchy(4, 2);
        ControlFlowModels.Branchy reference = new ControlFlowModels.Branchy(4, 2);
        Tensor example = Tensor.randn(rng, 3, 4).add(3f); // takes the b branch
        Partition p = Partitioner.partition(model, example);
        assertSame(model, p.model(), "the eager root is the original object");
        assertEquals(EAGER_CONTROL_FLOW, p.tree().status());
        assertEquals("ControlFlowModels.java:" + ControlFlowModels.Branchy.BRANCH_LINE + " (Branchy.forward)",
                p.tree().sourceLine());
        assertEquals(List.of("a", "b"), p.tree().children().stream().map(PartitionNode::path).toList());
        assertTrue(p.tree().children().stream().allMatch(c -> c.status() == TRACED));
        assertInstanceOf(GraphModule.class, model.child("a"));
        for (float shift : new float[] {3f, -3f, 0f}) {
            for (int batch : new int[] {1, 3, 5}) {
                Tensor x = Tensor.randn(rng, batch, 4).add(shift);
                assertBitIdentical(reference.call(x), model.call(x));
            }
        }
        String text = p.describe();
        assertTrue(text.startsWith("<root> (Branchy): eager: control flow — data-dependent control flow: item()"),
                text);
        assertTrue(text.contains("\n  a (Clean): traced, 4 ops {"), text);
    }

    @Test
    void aBranchTheExampleNeverTookIsReportedAndStillRunsEagerly() {
        ControlFlowModels.Branchy model = new ControlFlowModels.Branchy(4, 2);
        ControlFlowModels.Branchy reference = new ControlFlowModels.Branchy(4, 2);
        Partition p = Partitioner.partition(model, Tensor.randn(rng, 3, 4).sub(3f)); // skips b
        PartitionNode b = p.tree().children().get(1);
        assertEquals(NOT_REACHED, b.status());
        Tensor x = Tensor.randn(rng, 3, 4).add(3f);
        assertBitIdentical(reference.call(x), model.call(x));
    }

    @Test
    void earlyExitOverAModuleListClaimsEachLayer() {
        ControlFlowModels.EarlyExit model = new ControlFlowModels.EarlyExit(5, 4, 2.5f, 11);
        ControlFlowModels.EarlyExit reference = new ControlFlowModels.EarlyExit(5, 4, 2.5f, 11);
        Tensor example = Tensor.randn(rng, 2, 5).mul(0.1f);
        Partition p = Partitioner.partition(model, example);
        assertEquals(EAGER_CONTROL_FLOW, p.tree().status());
        PartitionNode layers = p.tree().children().get(0);
        assertEquals("layers", layers.path());
        for (PartitionNode layer : layers.children()) {
            assertTrue(layer.status() == TRACED || layer.status() == NOT_REACHED, layer.toString());
        }
        for (int i = 0; i < 6; i++) {
            Tensor x = Tensor.randn(rng, 1 + i, 5).mul(i);
            assertBitIdentical(reference.call(x), model.call(x));
        }
    }

    @Test
    void nonTraceableModulesStayEagerWithEverythingBelow() {
        ControlFlowModels.Branchy model = new ControlFlowModels.Branchy(4, 2);
        Partition p = Partitioner.partition(model, new Object[] {Tensor.randn(rng, 3, 4)},
                TraceConfig.defaults().nonTraceableName("a"));
        assertEquals(PartitionNode.Status.NON_TRACEABLE, p.tree().children().get(0).status());
        assertInstanceOf(ControlFlowModels.Clean.class, model.child("a"));
    }

    // ---------------------------------------------------------------- properties over random trees

    @Provide
    Arbitrary<RandomTree.Shape> shapes() {
        return shape(3);
    }

    private Arbitrary<RandomTree.Shape> shape(int depth) {
        Arbitrary<Boolean> flow = Arbitraries.integers().between(0, 3).map(i -> i == 0);
        if (depth == 0) {
            return flow.map(f -> new RandomTree.Shape(f, List.of()));
        }
        return Arbitraries.lazy(() -> shape(depth - 1)).list().ofMaxSize(3)
                .flatMap(kids -> flow.map(f -> new RandomTree.Shape(f, kids)));
    }

    @Property(tries = 40)
    void partitionIsMaximalAndReassemblyIsBitIdentical(@ForAll("shapes") RandomTree.Shape shape,
                                                        @ForAll("seeds") long seed) {
        RandomTree model = new RandomTree(shape, 3, new Random(seed));
        RandomTree reference = new RandomTree(shape, 3, new Random(seed));
        Random data = new Random(seed + 1);
        Partition p = Partitioner.partition(model, Tensor.randn(data, 2, 3));
        checkMaximal(p.tree(), shape, false);
        Module reassembled = p.model();
        for (int batch : new int[] {2, 1, 4}) {
            for (float scale : new float[] {1f, 4f}) {
                Tensor x = Tensor.randn(data, batch, 3).mul(scale).add(data.nextFloat() - 0.5f);
                assertBitIdentical(reference.call(x), reassembled.call(x));
            }
        }
    }

    @Provide
    Arbitrary<Long> seeds() {
        return Arbitraries.longs().between(0, 1_000_000);
    }

    /**
     * Traced exactly where the subtree is clean and the parent is not (maximality: no traced block has a traceable
     * parent); where the subtree is not clean, eager with control flow, and the children examined.
     */
    private static void checkMaximal(PartitionNode node, RandomTree.Shape shape, boolean parentTraced) {
        if (shape.cleanSubtree()) {
            assertEquals(TRACED, node.status(), node.path());
            return;
        }
        assertEquals(EAGER_CONTROL_FLOW, node.status(), node.path());
        List<PartitionNode> kids = new ArrayList<>(node.children());
        assertEquals("own", last(kids.get(0).path()));
        assertEquals(TRACED, kids.get(0).status(), "a Linear leaf under an eager module is its own block");
        for (int i = 0; i < shape.children().size(); i++) {
            checkMaximal(kids.get(i + 1), shape.children().get(i), parentTraced);
        }
        assertTrue(Tuple.of(node).size() == 1);
    }

    private static String last(String path) {
        return path.substring(path.lastIndexOf('.') + 1);
    }
}
