package dev.graft.models.mnist;

import dev.graft.engine.Init;
import dev.graft.engine.Module;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MnistCnnTest {

    static MnistCnn model(long seed, float threshold) {
        Init.manualSeed(seed);
        MnistCnn m = new MnistCnn(threshold);
        m.eval();
        return m;
    }

    static Tensor digits(int n) {
        return Tensor.rand(new Random(7), 0f, 1f, n, 1, 28, 28);
    }

    @Test
    void fullPathShapes() {
        MnistCnn m = model(1, 2f);
        Tensor logits = m.call(digits(4));
        assertArrayEquals(new int[] {4, 10}, logits.shape());
        assertFalse(m.exitedEarly());
        Map<String, Module> modules = m.namedModules();
        assertTrue(modules.containsKey("residual.conv1"));
        assertTrue(modules.containsKey("exit_head"));
    }

    @Test
    void earlyExitReturnsTheExitHeadsLogits() {
        Tensor x = digits(3);
        MnistCnn m = model(1, 0f); // every softmax max is > 0: the batch leaves at the exit
        Tensor early = m.call(x);
        assertTrue(m.exitedEarly());
        Tensor expected = m.child("exit_head").call(m.child("stem").call(x));
        assertArrayEquals(expected.toFloatArray(), early.toFloatArray());

        m.setExitThreshold(1.01f); // never confident enough: the full path
        Tensor full = m.call(x);
        assertFalse(m.exitedEarly());
        assertArrayEquals(new int[] {3, 10}, full.shape());
        assertNotEquals(early.getFloat(0, 0), full.getFloat(0, 0));
    }

    @Test
    void theExitTestLooksAtTheLeastConfidentSample() {
        Tensor x = digits(5);
        MnistCnn m = model(3, 2f);
        Tensor probs = dev.graft.ops.F.softmax(m.child("exit_head").call(m.child("stem").call(x)), 1);
        float leastConfident = probs.max(1, false).min(0, false).item();
        m.setExitThreshold(leastConfident - 1e-6f);
        m.call(x);
        assertTrue(m.exitedEarly());
        m.setExitThreshold(leastConfident + 1e-6f);
        m.call(x);
        assertFalse(m.exitedEarly());
    }

    @Test
    void stateDictRoundTrip() {
        MnistCnn a = model(1, 2f);
        MnistCnn b = model(2, 2f);
        Tensor x = digits(2);
        Tensor ya = a.call(x);
        assertNotEquals(ya.getFloat(0, 0), b.call(x).getFloat(0, 0));
        Map<String, Tensor> state = new LinkedHashMap<>();
        a.stateDict().forEach((k, v) -> state.put(k, v.dtype() == dev.graft.ops.DType.FLOAT32
                ? Tensor.of(v.toFloatArray(), v.shape()) : Tensor.ofLongs(v.toLongArray(), v.shape()).to(v.dtype())));
        assertTrue(state.containsKey("stem.0.weight") && state.containsKey("residual.conv2.1.running_var"),
                state.keySet().toString());
        b.loadStateDict(state);
        assertArrayEquals(ya.toFloatArray(), b.call(x).toFloatArray());
    }
}
