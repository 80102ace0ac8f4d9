package dev.graft.models.mnist;

import dev.graft.engine.Init;
import dev.graft.engine.autograd.Autograd;
import dev.graft.engine.nn.Conv2d;
import dev.graft.engine.train.Dataset;
import dev.graft.engine.train.LearningRateSchedule;
import dev.graft.engine.train.Optimizer;
import dev.graft.engine.train.Sgd;
import dev.graft.engine.train.Trainer;
import dev.graft.ops.F;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Autograd and the training loop on the MNIST CNN: every parameter gets a gradient, a seed fixes the result. */
class MnistCnnTrainingTest {

    @Test
    void mnistCnnGetsAGradientForEveryParameter() {
        Autograd.install();
        Init.manualSeed(7);
        MnistCnn model = new MnistCnn();
        model.train(true);
        Tensor x = Tensor.rand(new Random(5), 0f, 1f, 4, 1, 28, 28);
        Tensor loss = F.crossEntropy(model.call(x), Tensor.ofLongs(new long[] {1, 7, 3, 0}, 4));
        Autograd.backward(loss);
        model.namedParameters().forEach((name, p) -> {
            if (!name.startsWith("exit_head")) { // the exit logits are not part of this loss
                assertNotNull(p.grad(), name);
                assertArrayEquals(p.shape(), p.grad().shape(), name);
            }
        });
        assertTrue(new Conv2d(1, 1, 1, 1, 0).weight().requiresGrad(), "parameters are leaves requiring gradients");
    }

    /** A few steps of the MNIST CNN on random data; returns the weights. */
    private static Map<String, Tensor> trainFewSteps(long seed) {
        Init.manualSeed(seed);
        MnistCnn model = new MnistCnn();
        Random random = new Random(seed);
        long[] labels = new long[48];
        for (int i = 0; i < labels.length; i++) {
            labels[i] = random.nextInt(10);
        }
        Dataset data = new Dataset(Tensor.rand(random, 0f, 1f, 48, 1, 28, 28), Tensor.ofLongs(labels, 48));
        Sgd sgd = new Sgd(Optimizer.trainable(model), 0.05, 0.9, 1e-4, true);
        List<Double> losses = new ArrayList<>();
        new Trainer(model, sgd, LearningRateSchedule.constant(0.05), Trainer.Objective.crossEntropy(), 16, seed)
                .fit(data, 2, (done, total, message) -> losses.add((double) done));
        assertEquals(6, losses.size(), "one progress call per batch");
        return model.stateDict();
    }

    @Test
    void trainingIsDeterministicForAFixedSeed() {
        Map<String, Tensor> a = trainFewSteps(11);
        Map<String, Tensor> b = trainFewSteps(11);
        Map<String, Tensor> c = trainFewSteps(12);
        boolean anyDifferent = false;
        for (String k : a.keySet()) {
            assertArrayEquals(a.get(k).toFloatArray(), b.get(k).toFloatArray(), 0f, k);
            anyDifferent |= !java.util.Arrays.equals(a.get(k).toFloatArray(), c.get(k).toFloatArray());
        }
        assertTrue(anyDifferent);
    }
}
