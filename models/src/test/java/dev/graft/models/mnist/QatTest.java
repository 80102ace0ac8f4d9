package dev.graft.models.mnist;

import dev.graft.engine.Init;
import dev.graft.engine.autograd.Autograd;
import dev.graft.engine.graph.GraphModule;
import dev.graft.engine.graph.Node;
import dev.graft.engine.graph.Target;
import dev.graft.engine.quant.QConfig;
import dev.graft.engine.quant.QConfigMapping;
import dev.graft.engine.quant.passes.StaticQuantizer;
import dev.graft.engine.quant.qat.FakeQuantize;
import dev.graft.engine.quant.qat.QatLayer;
import dev.graft.engine.quant.report.QuantizationReport;
import dev.graft.engine.trace.Partition;
import dev.graft.engine.trace.Partitioner;
import dev.graft.engine.train.Optimizer;
import dev.graft.engine.train.Sgd;
import dev.graft.ops.F;
import dev.graft.ops.QParams;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link StaticQuantizer#prepareQat} on the MNIST CNN (seeded weights, random images): fake-quant modules where
 * static prepare puts observers, QAT layers for every INT8 conv/linear, gradients through the straight-through
 * estimator, the same INT8 model as static convert from the same observer states, one range for training and INT8.
 */
class QatTest {
    private static final long SEED = 7L;

    private static MnistCnn model() {
        Init.manualSeed(SEED);
        MnistCnn m = new MnistCnn();
        m.eval();
        return m;
    }

    private static List<Object[]> batches(int count, int batch) {
        Random rng = new Random(11);
        List<Object[]> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            out.add(new Object[] {Tensor.rand(rng, 0f, 1f, batch, 1, 28, 28)});
        }
        return out;
    }

    @Test
    void prepareQatPutsFakeQuantizeWhereStaticPreparePutsObservers() {
        Tensor example = (Tensor) batches(1, 2).get(0)[0];
        StaticQuantizer.Prepared ptq = StaticQuantizer.prepare(Partitioner.partition(model(), example),
                StaticQuantizer.qatMapping());
        Partition p = Partitioner.partition(model(), example);
        StaticQuantizer.Prepared qat = StaticQuantizer.prepareQat(p, StaticQuantizer.qatMapping());
        assertTrue(qat.isQat());
        assertEquals(ptq.fused(), qat.fused());
        for (Map.Entry<String, GraphModule> e : p.blocks().entrySet()) {
            String block = e.getKey();
            Set<String> observed = new TreeSet<>(ptq.observers().get(block).keySet());
            Map<String, FakeQuantize> fqs = qat.fakeQuantizes().get(block);
            Set<String> activationFqs = new TreeSet<>(fqs.keySet());
            activationFqs.removeIf(n -> n.endsWith(".weight_fake_quant"));
            assertEquals(observed, activationFqs, block);
            assertEquals(observed, new TreeSet<>(qat.observers().get(block).keySet()), block);
            for (Node n : e.getValue().graph()) {
                if (n.target() instanceof Target.ModuleCall mc && mc.path().startsWith("observer_")) {
                    FakeQuantize fq = assertInstanceOf(FakeQuantize.class, e.getValue().module(mc.path()));
                    assertTrue(fq.observer() == qat.observers().get(block).get(mc.path()), mc.path());
                }
            }
        }
        GraphModule stem = p.blocks().get("stem");
        assertInstanceOf(QatLayer.class, stem.module("0"), "conv-bn-relu folded, then a QAT layer");
        assertTrue(((QatLayer) stem.module("0")).hasReLU());
        GraphModule residual = p.blocks().get("residual");
        assertInstanceOf(QatLayer.class, residual.module("conv1.0"));
        assertInstanceOf(QatLayer.class, residual.module("conv2.0"));
        assertInstanceOf(QatLayer.class, p.blocks().get("head").module("1"));
    }

    @Test
    void gradientsReachTheFloatWeightsThroughFakeQuant() {
        Autograd.install();
        Partition p = Partitioner.partition(model(), (Tensor) batches(1, 2).get(0)[0]);
        StaticQuantizer.Prepared qat = StaticQuantizer.prepareQat(p, StaticQuantizer.qatMapping());
        Tensor x = (Tensor) batches(1, 8).get(0)[0];
        Tensor y = Tensor.ofLongs(new long[] {0, 1, 2, 3, 4, 5, 6, 7}, 8);
        Sgd sgd = new Sgd(Optimizer.trainable(p.model()), 0.01, 0.9, 0, false);
        sgd.zeroGrad();
        Autograd.backward(F.crossEntropy(p.model().call(x), y));
        QatLayer head = (QatLayer) p.blocks().get("head").module("1");
        QatLayer stem = (QatLayer) p.blocks().get("stem").module("0");
        assertNotNull(head.weight().grad(), "head weight gradient");
        assertNotNull(stem.weight().grad(), "stem (folded conv) weight gradient: through every fake-quant");
        assertTrue(stem.weight().grad().abs().sum().item() > 0);
        sgd.step();
        assertTrue(qat.fakeQuantizes().get("stem").values().stream().allMatch(fq -> fq.observedCount() > 0));
    }

    @Test
    void convertAfterQatPrepareEqualsStaticConvertFromTheSameObserverStates() {
        List<Object[]> calibration = batches(3, 16);
        Tensor example = (Tensor) calibration.get(0)[0];
        Partition ptqPartition = Partitioner.partition(model(), example.narrow(0, 0, 2));
        StaticQuantizer.Prepared ptq = StaticQuantizer.prepare(ptqPartition, StaticQuantizer.qatMapping());
        Partition qatPartition = Partitioner.partition(model(), example.narrow(0, 0, 2));
        StaticQuantizer.Prepared qat = StaticQuantizer.prepareQat(qatPartition, StaticQuantizer.qatMapping());
        // Observers on, fake-quant off: the QAT model observes exactly what static calibration observes.
        qat.enableFakeQuant(false);
        StaticQuantizer.calibrate(ptq, calibration, (d, t, m) -> { });
        StaticQuantizer.calibrate(qat, calibration, (d, t, m) -> { });
        QuantizationReport ptqReport = StaticQuantizer.convert(ptq);
        QuantizationReport qatReport = StaticQuantizer.convert(qat);
        assertEquals(ptqReport.describe(), qatReport.describe());
        for (String block : ptqPartition.blocks().keySet()) {
            assertEquals(ptqPartition.blocks().get(block).graph().toString(),
                    qatPartition.blocks().get(block).graph().toString(), block);
        }
        Tensor x = (Tensor) batches(1, 32).get(0)[0];
        assertArrayEquals(ptqPartition.model().call(x).toFloatArray(), qatPartition.model().call(x).toFloatArray(),
                "bit-identical INT8 models");
    }

    @Test
    void theQatForwardAndTheConvertedModelUseOneRange() {
        List<Object[]> data = batches(4, 16);
        Partition p = Partitioner.partition(model(), ((Tensor) data.get(0)[0]).narrow(0, 0, 2));
        StaticQuantizer.Prepared qat = StaticQuantizer.prepareQat(p, StaticQuantizer.qatMapping());
        StaticQuantizer.calibrate(qat, data, (d, t, m) -> { });
        qat.enableObservers(false);
        Tensor x = (Tensor) batches(1, 16).get(0)[0];
        Tensor fakeQuantized;
        try (var g = Autograd.noGrad()) {
            fakeQuantized = p.model().call(x);
        }
        Map<String, QParams> trained = new java.util.HashMap<>();
        qat.fakeQuantizes().forEach((block, fqs) -> fqs.forEach((name, fq) -> {
            QParams q = fq.calculateQParams();
            assertEquals(fq.spec().dtype().min(), fq.spec().quantMin(), block + "." + name);
            assertEquals(fq.spec().dtype().max(), fq.spec().quantMax(), block + "." + name);
            trained.put(block + "." + name, q);
        }));
        StaticQuantizer.convert(qat);
        // Every quantize the converted model does uses a fake-quant's scale and zero point, on uint8 [0, 255].
        int checked = 0;
        for (Map.Entry<String, GraphModule> e : p.blocks().entrySet()) {
            for (Node n : e.getValue().graph()) {
                if (n.target() instanceof Target.Function f && f.op().name().equals("quantize_per_tensor")) {
                    float scale = ((Number) n.args().get(1)).floatValue();
                    int zp = (Integer) n.args().get(2);
                    assertTrue(trained.values().stream().anyMatch(q -> q instanceof QParams.PerTensor t
                            && t.scale() == scale && t.zeroPoint() == zp), e.getKey() + ": " + n);
                    assertEquals(dev.graft.ops.DType.UINT8, n.args().get(3));
                    checked++;
                }
            }
        }
        assertTrue(checked >= 4, "quantize nodes checked: " + checked);
        Tensor int8 = p.model().call(x);
        long[] a = fakeQuantized.argmax(1, false).toLongArray();
        long[] b = int8.argmax(1, false).toLongArray();
        int agree = 0;
        for (int i = 0; i < a.length; i++) {
            agree += a[i] == b[i] ? 1 : 0;
        }
        assertTrue(agree >= a.length - 1, "top-1 agreement QAT forward vs INT8: " + agree + "/" + a.length);
    }

    @Test
    void aReducedRangeActivationFakeQuantIsRefused() {
        Partition p = Partitioner.partition(model(), (Tensor) batches(1, 2).get(0)[0]);
        QConfigMapping pytorchDefault = new QConfigMapping().global(QConfig.qatDefault());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> StaticQuantizer.prepareQat(p, pytorchDefault));
        assertTrue(e.getMessage().contains("[0, 127]"), e.getMessage());
    }
}
