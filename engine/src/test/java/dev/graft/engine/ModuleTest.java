package dev.graft.engine;

import dev.graft.engine.nn.Identity;
import dev.graft.engine.nn.Linear;
import dev.graft.engine.nn.ModuleList;
import dev.graft.engine.nn.ReLU;
import dev.graft.engine.nn.Sequential;
import dev.graft.ops.DType;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ModuleTest {

    /** A user module written the way the design asks: children held as Submodule handles. */
    static final class Block extends Module {
        final Submodule fc = submodule("fc", new Linear(4, 4, true, new Random(1)));
        final Submodule act = submodule("act", new ReLU());
        final Tensor scale = registerParameter("scale", Tensor.full(2f, 4));
        final Tensor counter = registerBuffer("counter", Tensor.zeros(DType.INT64, 1));

        @Override
        protected Tensor forward(Tensor... inputs) {
            return act.call(fc.call(single(inputs))).mul(scale);
        }
    }

    static final class Net extends Module {
        final Submodule first = submodule("first", new Block());
        final ModuleList rest = registerModule("rest", new ModuleList(new Block(), new Block()));

        @Override
        protected Tensor forward(Tensor... inputs) {
            Tensor x = first.call(single(inputs));
            for (Module m : rest) {
                x = m.call(x);
            }
            return x;
        }
    }

    @Test
    void namedModulesAndParametersUseDottedPathsInRegistrationOrder() {
        Net net = new Net();
        assertEquals(List.of("", "first", "first.fc", "first.act", "rest", "rest.0", "rest.0.fc", "rest.0.act",
                "rest.1", "rest.1.fc", "rest.1.act"), List.copyOf(net.namedModules().keySet()));
        assertEquals(List.of("first.scale", "first.fc.weight", "first.fc.bias", "rest.0.scale", "rest.0.fc.weight",
                "rest.0.fc.bias", "rest.1.scale", "rest.1.fc.weight", "rest.1.fc.bias"),
                List.copyOf(net.namedParameters().keySet()));
        assertEquals(List.of("first.counter", "rest.0.counter", "rest.1.counter"),
                List.copyOf(net.namedBuffers().keySet()));
        assertEquals(3 * (4 + 16 + 4), net.parameterCount());
        assertSame(net.module("rest.1.fc"), ((ModuleList) net.child("rest")).get(1).child("fc"));
        assertTrue(net.namedParameters().values().stream().allMatch(Tensor::requiresGrad));
    }

    @Test
    void stateDictRoundTripCopiesValuesIntoTheSameTensors() {
        Net a = new Net();
        Net b = new Net();
        Tensor bWeight = b.namedParameters().get("first.fc.weight");
        Map<String, Tensor> state = new LinkedHashMap<>();
        a.stateDict().forEach((k, v) -> state.put(k, v.add(1f).to(v.dtype())));
        b.loadStateDict(state);
        assertSame(bWeight, b.namedParameters().get("first.fc.weight"), "parameters keep their identity");
        for (String k : state.keySet()) {
            assertArrayEquals(state.get(k).toFloatArray(), b.stateDict().get(k).toFloatArray(), 0f, k);
        }
        Tensor x = Tensor.randn(new Random(3), 2, 4);
        b.loadStateDict(a.stateDict());
        assertArrayEquals(a.call(x).toFloatArray(), b.call(x).toFloatArray(), 0f);
    }

    @Test
    void loadStateDictReportsEveryProblemAndWritesNothing() {
        Net net = new Net();
        Map<String, Tensor> state = new LinkedHashMap<>(net.stateDict());
        float[] before = net.namedParameters().get("first.scale").toFloatArray();
        state.remove("rest.0.fc.bias");
        state.put("extra.weight", Tensor.zeros(3));
        state.put("first.fc.weight", Tensor.zeros(4, 5));
        state.put("first.scale", Tensor.full(9f, 4));
        StateDictException e = assertThrows(StateDictException.class, () -> net.loadStateDict(state));
        assertEquals(List.of("rest.0.fc.bias"), e.missing());
        assertEquals(List.of("extra.weight"), e.unexpected());
        assertEquals(1, e.mismatched().size());
        assertTrue(e.getMessage().contains("first.fc.weight expects float32[4, 4] but got float32[4, 5]"),
                e.getMessage());
        assertArrayEquals(before, net.namedParameters().get("first.scale").toFloatArray(), 0f);
    }

    @Test
    void nonStrictLoadAllowsMissingAndUnexpectedButNeverWrongShapes() {
        Net net = new Net();
        Map<String, Tensor> partial = new LinkedHashMap<>();
        partial.put("first.scale", Tensor.full(5f, 4));
        partial.put("unknown", Tensor.zeros(1));
        net.loadStateDict(partial, false);
        assertArrayEquals(new float[] {5, 5, 5, 5}, net.namedParameters().get("first.scale").toFloatArray(), 0f);
        partial.put("first.scale", Tensor.zeros(3));
        assertThrows(StateDictException.class, () -> net.loadStateDict(partial, false));
    }

    @Test
    void replacingAChildChangesWhatTheUnchangedParentCodeCalls() {
        Block block = new Block();
        Tensor x = Tensor.randn(new Random(5), 3, 4);
        Tensor before = block.call(x);
        block.replaceChild("act", new Identity());
        Tensor after = block.call(x);
        Tensor expected = ((Linear) block.child("fc")).call(x).mul(block.localParameters().get("scale"));
        assertArrayEquals(expected.toFloatArray(), after.toFloatArray(), 0f);
        assertFalse(java.util.Arrays.equals(before.toFloatArray(), after.toFloatArray()), "ReLU really was removed");

        Net net = new Net();
        net.replaceModule("rest.1", new Identity());
        assertTrue(net.module("rest.1") instanceof Identity);
        assertThrows(ModuleException.class, () -> net.replaceModule("rest.7", new Identity()));
    }

    @Test
    void hooksSeeAndMayReplaceInputsAndOutputsAndCanBeRemoved() {
        ReLU relu = new ReLU();
        Tensor x = Tensor.of(new float[] {-1, 2}, 2);
        HookHandle pre = relu.addForwardPreHook((m, in) -> new Object[] {((Tensor) in[0]).neg()});
        assertArrayEquals(new float[] {1, 0}, relu.call(x).toFloatArray(), 0f);
        int[] calls = {0};
        HookHandle post = relu.addForwardHook((m, in, out) -> {
            calls[0]++;
            return ((Tensor) out).add(10f);
        });
        assertArrayEquals(new float[] {11, 10}, relu.call(x).toFloatArray(), 0f);
        pre.remove();
        post.remove();
        assertArrayEquals(new float[] {0, 2}, relu.call(x).toFloatArray(), 0f);
        assertEquals(1, calls[0]);
    }

    @Test
    void trainAndEvalReachTheWholeTree() {
        Net net = new Net();
        assertTrue(net.module("rest.1.fc").isTraining());
        net.eval();
        assertTrue(net.namedModules().values().stream().noneMatch(Module::isTraining));
        net.train(true);
        assertTrue(net.namedModules().values().stream().allMatch(Module::isTraining));
    }

    @Test
    void registrationRejectsBadAndDuplicateNames() {
        Module m = new Module() {
            {
                registerParameter("w", Tensor.zeros(1));
                assertThrows(ModuleException.class, () -> registerBuffer("w", Tensor.zeros(1)));
                assertThrows(ModuleException.class, () -> registerModule("a.b", new ReLU()));
                assertThrows(ModuleException.class, () -> registerModule("", new ReLU()));
            }
        };
        assertThrows(ModuleException.class, () -> m.child("missing"));
        assertThrows(ModuleException.class, () -> m.call(Tensor.zeros(1)), "no forward defined");
    }

    @Test
    void sequentialChainsAndCallRequiresOneTensor() {
        Sequential s = new Sequential(new Linear(3, 2, false, new Random(2)), new ReLU());
        Tensor x = Tensor.randn(new Random(4), 5, 3);
        Linear l = (Linear) s.get(0);
        Tensor expected = x.matmul(l.weight().t()).clamp(0f, Float.MAX_VALUE);
        assertArrayEquals(expected.toFloatArray(), s.call(x).toFloatArray(), 1e-6f);
        assertThrows(ModuleException.class, () -> s.call(x, x));
        assertTrue(s.describe().contains("(0): Linear(in=3, out=2, bias=false)"), s.describe());
    }

    @Test
    void seededInitIsReproducible() {
        Init.manualSeed(7);
        Linear a = new Linear(8, 3);
        Init.manualSeed(7);
        Linear b = new Linear(8, 3);
        assertArrayEquals(a.weight().toFloatArray(), b.weight().toFloatArray(), 0f);
        assertArrayEquals(a.bias().toFloatArray(), b.bias().toFloatArray(), 0f);
    }
}
