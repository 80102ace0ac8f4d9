package dev.graft.engine.train;

import dev.graft.engine.autograd.Autograd;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Optimizer updates against values computed by hand (PyTorch's formulas), schedules, and the training loop. */
class OptimizerTest {

    private static Tensor param(float... v) {
        return Tensor.of(v, v.length).setRequiresGrad(true);
    }

    private static void grad(Tensor p, float... g) {
        p.setGrad(Tensor.of(g, g.length));
    }

    @Test
    void sgdWithMomentumAndWeightDecay() {
        Tensor p = param(1f, -2f);
        Sgd sgd = new Sgd(List.of(p), 0.1, 0.9, 0.01, false);
        grad(p, 0.5f, 1f);
        sgd.step();
        // d = g + 0.01 p = (0.51, 0.98); buf = d; p -= 0.1 d
        assertArrayEquals(new float[] {0.949f, -2.098f}, p.toFloatArray(), 1e-6f);
        grad(p, 0.5f, 1f);
        sgd.step();
        // d = (0.5 + 0.00949, 1 - 0.02098); buf = 0.9 buf + d; p -= 0.1 buf
        double d0 = 0.5 + 0.01 * 0.949;
        double d1 = 1 - 0.01 * 2.098;
        double b0 = 0.9 * 0.51 + d0;
        double b1 = 0.9 * 0.98 + d1;
        assertArrayEquals(new float[] {(float) (0.949 - 0.1 * b0), (float) (-2.098 - 0.1 * b1)}, p.toFloatArray(),
                1e-6f);
    }

    @Test
    void sgdNesterov() {
        Tensor p = param(1f);
        Sgd sgd = new Sgd(List.of(p), 0.1, 0.9, 0, true);
        grad(p, 1f);
        sgd.step(); // buf = 1; update = 1 + 0.9 * 1 = 1.9
        assertArrayEquals(new float[] {0.81f}, p.toFloatArray(), 1e-6f);
        grad(p, 1f);
        sgd.step(); // buf = 0.9 + 1 = 1.9; update = 1 + 0.9 * 1.9 = 2.71
        assertArrayEquals(new float[] {0.81f - 0.271f}, p.toFloatArray(), 1e-6f);
    }

    @Test
    void plainSgdAndZeroGradAndParametersWithoutGradient() {
        Tensor p = param(3f);
        Tensor untouched = param(5f);
        Sgd sgd = new Sgd(List.of(p, untouched), 0.5);
        grad(p, 2f);
        sgd.step();
        assertArrayEquals(new float[] {2f}, p.toFloatArray());
        assertArrayEquals(new float[] {5f}, untouched.toFloatArray());
        sgd.zeroGrad();
        assertNull(p.grad());
        assertEquals(1, sgd.steps());
    }

    @Test
    void adamWMatchesTheClosedForm() {
        Tensor p = param(1f, -1f);
        AdamW adam = new AdamW(List.of(p), 0.01, 0.9, 0.999, 1e-8, 0.1);
        grad(p, 0.2f, -0.4f);
        adam.step();
        // First step: m_hat = g, v_hat = g^2, so the step is lr * g/(|g| + eps) = lr * sign(g), after decay.
        assertArrayEquals(new float[] {(float) (1 * (1 - 0.001) - 0.01), (float) (-1 * (1 - 0.001) + 0.01)},
                p.toFloatArray(), 1e-6f);
        grad(p, 0.1f, -0.4f);
        adam.step();
        double p0 = 1 * (1 - 0.001) - 0.01;
        double m = 0.9 * 0.1 * 0.2 + 0.1 * 0.1;
        double v = 0.999 * 0.001 * 0.04 + 0.001 * 0.01;
        double expected = p0 * (1 - 0.001) - 0.01 * (m / (1 - 0.81)) / (Math.sqrt(v / (1 - 0.999 * 0.999)) + 1e-8);
        assertEquals(expected, p.toFloatArray()[0], 1e-6);
    }

    @Test
    void schedules() {
        LearningRateSchedule step = LearningRateSchedule.step(0.1, 10, 0.5);
        assertEquals(0.1, step.learningRate(9), 1e-12);
        assertEquals(0.05, step.learningRate(10), 1e-12);
        assertEquals(0.025, step.learningRate(25), 1e-12);
        LearningRateSchedule cosine = LearningRateSchedule.cosine(1.0, 100, 0.0);
        assertEquals(1.0, cosine.learningRate(0), 1e-12);
        assertEquals(0.5, cosine.learningRate(50), 1e-12);
        assertEquals(0.0, cosine.learningRate(100), 1e-12);
        assertEquals(0.0, cosine.learningRate(150), 1e-12);
        LearningRateSchedule warm = LearningRateSchedule.constant(0.4).withWarmup(4);
        assertEquals(0.1, warm.learningRate(0), 1e-12);
        assertEquals(0.4, warm.learningRate(3), 1e-12);
        assertEquals(0.4, warm.learningRate(100), 1e-12);
        LearningRateSchedule warmCosine = LearningRateSchedule.cosine(1.0, 10, 0).withWarmup(5);
        assertEquals(1.0, warmCosine.learningRate(5), 1e-12);
        assertEquals(0.5, warmCosine.learningRate(10), 1e-12);
    }

    @Test
    void trainerFitsALinearlySeparableProblemAndReportsProgress() {
        Autograd.install();
        Random random = new Random(3);
        int n = 200;
        float[] x = new float[n * 2];
        long[] y = new long[n];
        for (int i = 0; i < n; i++) {
            x[2 * i] = random.nextFloat() * 2 - 1;
            x[2 * i + 1] = random.nextFloat() * 2 - 1;
            y[i] = x[2 * i] + 0.5f * x[2 * i + 1] > 0 ? 1 : 0;
        }
        Dataset data = new Dataset(Tensor.of(x, n, 2), Tensor.ofLongs(y, n));
        var head = new dev.graft.engine.nn.Linear(2, 2, true, new Random(1));
        List<String> messages = new ArrayList<>();
        var trainer = new Trainer(head, new AdamW(Optimizer.trainable(head), 0.05),
                LearningRateSchedule.cosine(0.05, 70, 0).withWarmup(5), Trainer.Objective.crossEntropy(), 20, 1);
        List<Trainer.EpochResult> results = trainer.fit(data, 7, (d, t, m) -> messages.add(m));
        assertTrue(results.get(6).loss() < results.get(0).loss());
        assertTrue(Trainer.accuracy(head, data, 64) > 0.95, "accuracy " + Trainer.accuracy(head, data, 64));
        assertTrue(messages.get(messages.size() - 1).matches(".*loss .*accuracy .*samples/s.*"), messages.get(0));
    }
}
