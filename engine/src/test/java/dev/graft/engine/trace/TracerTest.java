package dev.graft.engine.trace;

import dev.graft.engine.Module;
import dev.graft.engine.graph.GraphModule;
import dev.graft.engine.graph.Guard;
import dev.graft.engine.graph.Node;
import dev.graft.engine.graph.NodeKind;
import dev.graft.ops.F;
import dev.graft.ops.Tensor;
import dev.graft.testmodels.ControlFlowModels;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TracerTest {
    private final Random rng = new Random(3);

    @Test
    void tracesLeavesAsModuleCallsParametersAsAttributesAndOpsAsFunctions() {
        ControlFlowModels.Clean model = new ControlFlowModels.Clean(6, 1);
        Tensor x = Tensor.randn(rng, 4, 6);
        GraphModule traced = Tracer.trace(model, x);
        String text = traced.graph().toString();
        assertTrue(text.contains("fc = call_module[fc](input) :: [4, 6]"), text);
        assertTrue(text.contains("act = call_module[act](fc)"), text);
        assertTrue(text.contains("scale = get_attr[scale]"), text);
        assertTrue(text.contains("mul = call_function[mul](act, scale)"), text);
        assertTrue(text.contains("_tensor_constant0 = get_attr[_tensor_constant0]"), text);
        assertEquals(model.stateDict().keySet(), traced.stateDict().keySet());
        assertBitIdentical(model.call(x), traced.call(x));
    }

    @Test
    void dataDependentControlFlowIsRefusedWithModulePathAndSourceLine() {
        Module model = new ControlFlowModels.Branchy(5, 2);
        ControlFlowException e = assertThrows(ControlFlowException.class,
                () -> Tracer.trace(model, Tensor.randn(rng, 3, 5)));
        assertEquals("item()", e.operation());
        assertEquals("", e.modulePath());
        assertEquals("ControlFlowModels.java:" + ControlFlowModels.Branchy.BRANCH_LINE + " (Branchy.forward)",
                e.sourceLine());
        assertTrue(e.getMessage().contains("data-dependent control flow: item() on a traced tensor"), e.getMessage());
    }

    /** Control flow in a nested, traced-through module names that module's path. */
    static final class Wrapper extends Module {
        private final dev.graft.engine.Submodule inner = submodule("inner", new ControlFlowModels.Branchy(4, 3));

        @Override
        protected Tensor forward(Tensor... inputs) {
            return inner.call(single(inputs));
        }
    }

    @Test
    void nestedControlFlowNamesTheNestedModule() {
        ControlFlowException e = assertThrows(ControlFlowException.class,
                () -> Tracer.trace(new Wrapper(), "model", new Object[] {Tensor.randn(rng, 2, 4)},
                        TraceConfig.defaults()));
        assertEquals("model.inner", e.modulePath());
    }

    @Test
    void everyKindOfConcreteAccessIsRefused() {
        for (String what : List.of("isTrue", "toFloatArray", "getFloat", "loop")) {
            ControlFlowException e = assertThrows(ControlFlowException.class,
                    () -> Tracer.trace(new ControlFlowModels.AsksForData(what), Tensor.randn(rng, 2, 2)), what);
            assertTrue(e.operation().contains(what.equals("loop") ? "itemLong" : what), e.operation());
            assertTrue(e.sourceLine().startsWith("ControlFlowModels.java:"), e.sourceLine());
            assertTrue(e.sourceLine().endsWith("(AsksForData.forward)"), e.sourceLine());
        }
    }

    @Test
    void readingAnInputShapeGuardsItAndOtherShapesRetrace() {
        GraphModule traced = Tracer.trace(new ControlFlowModels.Reshaper(), Tensor.randn(rng, 2, 3, 4));
        assertEquals(List.of(new Guard(0, 0, 2)), traced.specializations().get(0).guards());
        assertTrue(traced.graph().toString().contains("reshape = call_function[reshape](input, [2, -1])"));
        Tensor other = Tensor.randn(rng, 5, 3, 4);
        assertArrayEquals(new int[] {5, 12}, traced.call(other).shape());
        assertEquals(2, traced.specializations().size());
        assertBitIdentical(new ControlFlowModels.Reshaper().call(other), traced.call(other));
        traced.call(Tensor.randn(rng, 2, 7, 1));
        assertEquals(2, traced.specializations().size(), "dims 1 and 2 are not guarded: the first graph serves");
    }

    /** Reads the size of an intermediate tensor: every input dimension becomes a guard. */
    static final class ReadsIntermediate extends Module {
        @Override
        protected Tensor forward(Tensor... inputs) {
            Tensor h = single(inputs).add(1f);
            return h.reshape(h.size(0) * h.size(1));
        }
    }

    /** Reads a size after a reshape, whose result dimensions the tracer does not trace back to the inputs. */
    static final class ReadsAfterReshape extends Module {
        @Override
        protected Tensor forward(Tensor... inputs) {
            Tensor h = single(inputs).reshape(-1);
            return h.mul((float) h.size(0));
        }
    }

    @Test
    void readingASizeOfUnknownOriginSpecializesOnEveryInputDimension() {
        GraphModule traced = Tracer.trace(new ReadsAfterReshape(), Tensor.randn(rng, 2, 3));
        assertEquals(List.of(new Guard(0, 0, 2), new Guard(0, 1, 3)), traced.specializations().get(0).guards());
        Tensor other = Tensor.randn(rng, 4, 3);
        assertBitIdentical(new ReadsAfterReshape().call(other), traced.call(other));
    }

    @Test
    void readingAnInputDerivedIntermediateSizeGuardsTheInputDimensionsItCameFrom() {
        GraphModule traced = Tracer.trace(new ReadsIntermediate(), Tensor.randn(rng, 2, 3));
        assertEquals(List.of(new Guard(0, 0, 2), new Guard(0, 1, 3)), traced.specializations().get(0).guards());
        assertArrayEquals(new int[] {12}, traced.call(Tensor.randn(rng, 3, 4)).shape());
    }

    static final class Splits extends Module {
        @Override
        protected Tensor forward(Tensor... inputs) {
            Tensor[] parts = F.split(single(inputs), new int[] {1, 2}, 1);
            return F.cat(new Tensor[] {parts[1], parts[0]}, 1);
        }
    }

    @Test
    void multiOutputOperatorsGetItemNodes() {
        GraphModule traced = Tracer.trace(new Splits(), Tensor.randn(rng, 2, 3));
        String text = traced.graph().toString();
        assertTrue(text.contains("getitem = call_function[getitem](split, 0)"), text);
        assertTrue(text.contains("cat = call_function[cat]([getitem_1, getitem], 1)"), text);
        Tensor x = Tensor.randn(rng, 2, 3);
        assertBitIdentical(new Splits().call(x), traced.call(x));
    }

    @Test
    void configurationMakesLeavesAndNonTraceables() {
        ControlFlowModels.Branchy model = new ControlFlowModels.Branchy(4, 5);
        Wrapper wrapper = new Wrapper();
        // With the branchy module configured as a leaf, the wrapper traces and calls it as one module.
        GraphModule traced = Tracer.trace(wrapper, "", new Object[] {Tensor.randn(rng, 2, 4)},
                TraceConfig.defaults().leafName("inner"));
        assertTrue(traced.graph().toString().contains("inner = call_module[inner](input)"));
        GraphModule viaClass = Tracer.trace(new Wrapper(), "", new Object[] {Tensor.randn(rng, 2, 4)},
                TraceConfig.defaults().nonTraceableClass(ControlFlowModels.Branchy.class));
        long calls = viaClass.graph().nodes().stream().filter(n -> n.kind() == NodeKind.CALL_MODULE).count();
        assertEquals(1, calls);
        assertTrue(model.children().size() == 2);
    }

    @Test
    void readingAWidthFixedByAWeightNeedsNoGuardSoOneGraphServesEveryBatch() {
        ControlFlowModels.Clean model = new ControlFlowModels.Clean(3, 9);
        GraphModule traced = Tracer.trace(model, Tensor.randn(rng, 2, 3));
        assertEquals(List.of(), traced.specializations().get(0).guards(),
                "Clean reads h.size(-1) of a Linear's output: its weight fixes it");
        Tensor seven = Tensor.randn(rng, 7, 3);
        assertBitIdentical(model.call(seven), traced.call(seven));
        Tensor two = Tensor.randn(rng, 2, 3);
        assertBitIdentical(model.call(two), traced.call(two));
        assertEquals(1, traced.specializations().size());
        for (Node n : traced.graph()) {
            assertTrue(n.name().matches("[a-z_0-9]+"), n.name());
        }
    }

    static void assertBitIdentical(Tensor expected, Tensor actual) {
        assertArrayEquals(expected.shape(), actual.shape());
        float[] e = expected.toFloatArray();
        float[] a = actual.toFloatArray();
        for (int i = 0; i < e.length; i++) {
            assertEquals(Float.floatToRawIntBits(e[i]), Float.floatToRawIntBits(a[i]), "element " + i);
        }
    }
}
