package dev.graft.models.mnist;

import dev.graft.engine.Init;
import dev.graft.engine.autograd.Autograd;
import dev.graft.engine.graph.GraphModule;
import dev.graft.engine.nn.BatchNorm2d;
import dev.graft.engine.nn.Conv2d;
import dev.graft.engine.nn.Identity;
import dev.graft.engine.quant.QDType;
import dev.graft.engine.quant.QScheme;
import dev.graft.engine.quant.QuantSpec;
import dev.graft.engine.quant.nn.ConvBn2d;
import dev.graft.engine.quant.nn.QuantizedConv2d;
import dev.graft.engine.quant.nn.QuantizedLeaf;
import dev.graft.engine.quant.observe.MovingAveragePerChannelMinMaxObserver;
import dev.graft.engine.quant.observe.Observer;
import dev.graft.engine.quant.passes.StaticQuantizer;
import dev.graft.engine.quant.qat.FakeQuantize;
import dev.graft.engine.quant.qat.QatConvBn;
import dev.graft.engine.quant.qat.QatLayer;
import dev.graft.engine.quant.qat.QatOptions;
import dev.graft.engine.quant.report.QuantizationReport;
import dev.graft.engine.trace.Partition;
import dev.graft.engine.trace.Partitioner;
import dev.graft.engine.train.Optimizer;
import dev.graft.engine.train.Sgd;
import dev.graft.ops.F;
import dev.graft.ops.InPlace;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link StaticQuantizer#prepareQat} with {@link QatOptions#convBn}: conv-bn kept unfused as {@link QatConvBn}
 * (PyTorch's QAT ConvBn2d), BN on batch statistics until the freeze step, gradients to the conv weight, gamma and
 * beta (checked against finite differences), and convert producing bit-for-bit the INT8 model PTQ makes from the same
 * final weights, statistics and observer states.
 */
class QatConvBnTest {
    private static MnistCnn model() {
        Init.manualSeed(7L);
        MnistCnn m = new MnistCnn();
        m.eval();
        return m;
    }

    private static Tensor images(long seed, int batch) {
        return Tensor.rand(new Random(seed), 0f, 1f, batch, 1, 28, 28);
    }

    private static Tensor labels(int batch) {
        long[] y = new long[batch];
        for (int i = 0; i < batch; i++) {
            y[i] = i % 10;
        }
        return Tensor.ofLongs(y, batch);
    }

    @Test
    void convBnStaysUnfusedWithItsParametersOnce() {
        Partition p = Partitioner.partition(model(), images(1, 2));
        StaticQuantizer.Prepared qat = StaticQuantizer.prepareQat(p, StaticQuantizer.qatMapping(), QatOptions.convBn(5));
        GraphModule stem = p.blocks().get("stem");
        QatConvBn first = assertInstanceOf(QatConvBn.class, stem.module("0"));
        assertTrue(first.hasReLU());
        assertInstanceOf(Identity.class, stem.module("1"), "the BN path no longer holds the BN");
        QatConvBn second = assertInstanceOf(QatConvBn.class, p.blocks().get("residual").module("conv2.0"));
        assertFalse(second.hasReLU());
        assertInstanceOf(QatLayer.class, p.blocks().get("head").module("1"));
        assertEquals(Map.of("0", "Conv2d-BatchNorm2d-ReLU"), qat.fused().get("stem"));
        Set<Tensor> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Tensor t : Optimizer.trainable(p.model())) {
            assertTrue(seen.add(t), "a parameter listed twice would be stepped twice");
        }
        assertTrue(seen.contains(first.bn().weight()) && seen.contains(first.bn().bias()));
    }

    @Test
    void batchStatisticsUntilTheFreezeStepThenRunningStatistics() {
        Autograd.install();
        Partition p = Partitioner.partition(model(), images(1, 2));
        StaticQuantizer.Prepared qat = StaticQuantizer.prepareQat(p, StaticQuantizer.qatMapping(), QatOptions.convBn(2));
        QatConvBn stem = (QatConvBn) p.blocks().get("stem").module("0");
        Sgd sgd = new Sgd(Optimizer.trainable(p.model()), 0.01, 0.9, 0, false);
        p.model().train(true);
        float[] mean0 = stem.bn().runningMean().toFloatArray();
        for (int step = 0; step < 3; step++) {
            float[] before = stem.bn().runningMean().toFloatArray();
            sgd.zeroGrad();
            Autograd.backward(F.crossEntropy(p.model().call(images(10 + step, 8)), labels(8)));
            float[] after = stem.bn().runningMean().toFloatArray();
            if (step < 2) {
                assertFalse(java.util.Arrays.equals(before, after), "step " + step + " updates the running mean");
                assertNotNull(stem.bn().weight().grad(), "gamma gradient");
                assertTrue(stem.bn().weight().grad().abs().sum().item() > 0);
                assertTrue(stem.bn().bias().grad().abs().sum().item() > 0, "beta gradient");
                assertTrue(stem.conv().weight().grad().abs().sum().item() > 0, "conv weight gradient (STE)");
            } else {
                assertArrayEquals(before, after, "frozen after 2 steps");
                assertTrue(stem.conv().weight().grad().abs().sum().item() > 0, "frozen: the conv still trains");
            }
            sgd.step();
        }
        assertTrue(stem.isBnFrozen());
        assertEquals(2, stem.steps());
        assertFalse(java.util.Arrays.equals(mean0, stem.bn().runningMean().toFloatArray()));
        assertTrue(qat.fakeQuantizes().get("stem").get("0.weight_fake_quant").observedCount() > 0);
    }

    /** d sum(R * y) / d(conv weight, conv bias, gamma, beta), fake-quant off, BN on batch statistics. */
    @Test
    void gradientsMatchFiniteDifferences() {
        Autograd.install();
        Init.manualSeed(3L);
        Conv2d conv = new Conv2d(2, 3, 3, 1, 1);
        BatchNorm2d bn = new BatchNorm2d(3, 1e-5f, 0f); // momentum 0: the running statistics (and k) stay put
        InPlace.copy(bn.runningVar(), Tensor.wrap(new float[] {0.5f, 2f, 1.5f}, 3));
        InPlace.copy(bn.weight(), Tensor.wrap(new float[] {1.2f, 0.7f, -0.9f}, 3));
        InPlace.copy(bn.bias(), Tensor.wrap(new float[] {0.1f, -0.3f, 0.2f}, 3));
        FakeQuantize fq = new FakeQuantize(new MovingAveragePerChannelMinMaxObserver(
                QuantSpec.of(QDType.QINT8, QScheme.PER_CHANNEL_SYMMETRIC, false)));
        fq.enableFakeQuant(false);
        QatConvBn m = new QatConvBn(conv, bn, false, fq, Long.MAX_VALUE);
        m.train(true);
        Random rng = new Random(5);
        Tensor x = Tensor.rand(rng, -1f, 1f, 4, 2, 5, 5);
        Tensor r = Tensor.rand(rng, -1f, 1f, 4, 3, 5, 5);
        Autograd.backward(m.call(x).mul(r).sum());
        for (Tensor param : List.of(conv.weight(), conv.bias(), bn.weight(), bn.bias())) {
            float[] analytic = param.grad().toFloatArray();
            float[] values = param.toFloatArray();
            for (int j = 0; j < values.length; j += Math.max(1, values.length / 9)) {
                double numeric = (loss(m, x, r, param, values, j, 1e-2f) - loss(m, x, r, param, values, j, -1e-2f))
                        / 2e-2;
                assertEquals(numeric, analytic[j], 5e-3 * (1 + Math.abs(numeric)),
                        "parameter " + java.util.Arrays.toString(param.shape()) + " element " + j);
            }
        }
    }

    private static double loss(QatConvBn m, Tensor x, Tensor r, Tensor param, float[] values, int j, float delta) {
        float[] v = values.clone();
        v[j] += delta;
        InPlace.copy(param, Tensor.wrap(v, param.shape()));
        double sum = 0;
        try (var g = Autograd.noGrad()) {
            float[] y = m.call(x).mul(r).toFloatArray();
            for (float f : y) {
                sum += f;
            }
        }
        InPlace.copy(param, Tensor.wrap(values, param.shape()));
        return sum;
    }

    @Test
    void convertEqualsPtqFromTheSameWeightsStatisticsAndObserverStates() {
        Autograd.install();
        MnistCnn trained = model();
        Map<String, Tensor> state = trained.stateDict(); // the live tensors: they follow training
        Partition qatPartition = Partitioner.partition(trained, images(1, 2));
        StaticQuantizer.Prepared qat = StaticQuantizer.prepareQat(qatPartition, StaticQuantizer.qatMapping(),
                QatOptions.convBn(3));
        float[] var0 = state.get("stem.1.running_var").toFloatArray();
        Sgd sgd = new Sgd(Optimizer.trainable(trained), 0.05, 0.9, 0, false);
        trained.train(true);
        for (int step = 0; step < 5; step++) {
            sgd.zeroGrad();
            Autograd.backward(F.crossEntropy(trained.call(images(20 + step, 16)), labels(16)));
            sgd.step();
        }
        trained.eval();
        assertFalse(java.util.Arrays.equals(var0, state.get("stem.1.running_var").toFloatArray()), "BN trained");

        MnistCnn reference = model();
        reference.loadStateDict(state);
        reference.eval();
        Partition ptqPartition = Partitioner.partition(reference, images(1, 2));
        StaticQuantizer.Prepared ptq = StaticQuantizer.prepare(ptqPartition, StaticQuantizer.qatMapping());
        // The same observer states on both sides: every activation observer sees one identical tensor; the QAT weight
        // observers start over, so convert's one observation of the folded weight equals PTQ's fresh weight observer.
        Map<String, Map<String, Observer>> ptqObservers = ptq.observers();
        assertEquals(ptqObservers.keySet(), qat.observers().keySet());
        ptqObservers.forEach((block, observers) -> {
            assertEquals(observers.keySet(), qat.observers().get(block).keySet(), block);
            observers.forEach((name, o) -> {
                Tensor seen = Tensor.rand(new Random((block + name).hashCode()), -2f, 6f, 4, 32);
                o.reset();
                o.observe(seen);
                Observer twin = qat.observers().get(block).get(name);
                twin.reset();
                twin.observe(seen);
            });
        });
        qat.fakeQuantizes().values().forEach(fqs -> fqs.forEach((name, fq) -> {
            if (name.endsWith(".weight_fake_quant")) {
                fq.observer().reset();
            }
        }));
        QuantizationReport ptqReport = StaticQuantizer.convert(ptq);
        QuantizationReport qatReport = StaticQuantizer.convert(qat);
        for (String block : ptqPartition.blocks().keySet()) {
            assertEquals(ptqPartition.blocks().get(block).graph().toString(),
                    qatPartition.blocks().get(block).graph().toString(), block);
        }
        int convs = 0;
        for (String path : List.of("stem.0", "block2.0.0", "residual.conv1.0", "residual.conv2.0")) {
            String block = path.substring(0, path.indexOf('.'));
            String leaf = path.substring(path.indexOf('.') + 1);
            QuantizedConv2d a = int8Conv(ptqPartition.blocks().get(block), leaf);
            QuantizedConv2d b = int8Conv(qatPartition.blocks().get(block), leaf);
            assertArrayEquals(a.weight().toFloatArray(), b.weight().toFloatArray(), path + " int8 weight");
            assertArrayEquals(a.bias().toFloatArray(), b.bias().toFloatArray(), path + " bias");
            convs++;
        }
        assertEquals(4, convs);
        for (QuantizationReport.Block b : ptqReport.blocks()) {
            QuantizationReport.Block q = qatReport.blocks().stream().filter(x -> x.path().equals(b.path()))
                    .findFirst().orElseThrow();
            assertEquals(b.int8Ops(), q.int8Ops(), b.path());
        }
        Tensor x = images(99, 32);
        assertArrayEquals(reference.call(x).toFloatArray(), trained.call(x).toFloatArray(), "bit-identical INT8 models");
    }

    private static QuantizedConv2d int8Conv(GraphModule block, String path) {
        QuantizedLeaf leaf = assertInstanceOf(QuantizedLeaf.class, block.module(path), path);
        return assertInstanceOf(QuantizedConv2d.class, leaf.int8(), path);
    }
}
