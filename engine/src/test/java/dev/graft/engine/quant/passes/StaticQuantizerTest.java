package dev.graft.engine.quant.passes;

import dev.graft.engine.Module;
import dev.graft.engine.Submodule;
import dev.graft.engine.graph.GraphModule;
import dev.graft.engine.graph.Node;
import dev.graft.engine.graph.Target;
import dev.graft.engine.nn.BatchNorm2d;
import dev.graft.engine.nn.Conv2d;
import dev.graft.engine.nn.Linear;
import dev.graft.engine.nn.ReLU;
import dev.graft.engine.nn.Sequential;
import dev.graft.engine.quant.nn.FusedReLU;
import dev.graft.engine.quant.nn.QuantizedLeaf;
import dev.graft.engine.quant.report.QuantizationReport;
import dev.graft.engine.trace.Partition;
import dev.graft.engine.trace.Partitioner;
import dev.graft.ops.F;
import dev.graft.ops.InPlace;
import dev.graft.ops.QuantOps;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StaticQuantizerTest {
    private final Random rng = new Random(5);

    /** relu(l2(relu(l1(x))) + skip(x)), reshaped by its batch size (a guard: new batch sizes re-trace). */
    static final class Chain extends Module {
        private final Submodule l1 = submodule("l1", new Linear(8, 16));
        private final Submodule act = submodule("act", new ReLU());
        private final Submodule l2 = submodule("l2", new Linear(16, 8));
        private final Submodule skip = submodule("skip", new Linear(8, 8));

        @Override
        protected Tensor forward(Tensor... inputs) {
            Tensor x = single(inputs);
            Tensor h = l2.call(act.call(l1.call(x)));
            Tensor y = F.relu(h.add(skip.call(x)));
            return y.reshape(x.size(0), 2, 4);
        }
    }

    /**
     * Each row goes through {@code pos} or {@code neg} by the sign of its mean (data-dependent, so the root stays
     * eager): an example batch with rows of both signs reaches, and so traces, both blocks.
     */
    static final class Branch extends Module {
        private final Submodule pos = submodule("pos", new Chain());
        private final Submodule neg = submodule("neg", new Chain());

        @Override
        protected Tensor forward(Tensor... inputs) {
            Tensor x = single(inputs);
            Tensor[] rows = new Tensor[x.size(0)];
            for (int i = 0; i < rows.length; i++) {
                Tensor row = x.narrow(0, i, 1);
                rows[i] = row.mean().item() > 0 ? pos.call(row) : neg.call(row);
            }
            return F.cat(rows, 0);
        }
    }

    private List<Object[]> batches(int count, int batch, float shift) {
        List<Object[]> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            out.add(new Object[] {Tensor.randn(rng, batch, 8).add(shift)});
        }
        return out;
    }

    @Test
    void aLinearReluAddChainRunsInt8WithoutRequantizingBetweenInt8Ops() {
        Chain model = new Chain();
        Chain reference = new Chain();
        reference.loadStateDict(model.stateDict());
        Partition p = Partitioner.partition(model, Tensor.randn(rng, 4, 8));
        StaticQuantizer.Prepared prepared = StaticQuantizer.prepare(p, StaticQuantizer.defaultMapping());
        assertEquals("Linear-ReLU", prepared.fused().get("").get("l1"));
        long[] seen = {0};
        StaticQuantizer.calibrate(prepared, batches(8, 4, 0f), (done, total, msg) -> seen[0] = done);
        assertEquals(8, seen[0]);
        QuantizationReport report = StaticQuantizer.convert(prepared);
        System.out.print(report.describe());
        GraphModule block = (GraphModule) p.model();
        assertNoDequantizeQuantizePairs(block);
        assertInstanceOf(QuantizedLeaf.class, block.module("l1"));
        assertEquals(0, report.blocks().get(0).fp32Count(), report.describe());
        assertEquals(2, report.blocks().get(0).conversions(), "one quantize in, one dequantize out");
        assertTrue(report.notReached().isEmpty());
        Tensor x = Tensor.randn(rng, 4, 8);
        assertClose(reference.call(x), p.model().call(x), 0.98);
    }

    @Test
    void aBlockCalibrationNeverReachedStaysFp32AndIsReported() {
        dev.graft.engine.Init.manualSeed(17);
        Branch model = new Branch();
        dev.graft.engine.Init.manualSeed(17);
        Branch reference = new Branch();
        Tensor bothSigns = F.cat(new Tensor[] {Tensor.randn(rng, 2, 8).add(3f), Tensor.randn(rng, 2, 8).sub(3f)}, 0);
        Partition p = Partitioner.partition(model, bothSigns);
        assertEquals(java.util.Set.of("pos", "neg"), p.blocks().keySet(), p.describe());

        StaticQuantizer.Prepared prepared = StaticQuantizer.prepare(p, StaticQuantizer.defaultMapping());
        StaticQuantizer.calibrate(prepared, batches(4, 4, 3f), (d, t, m) -> { }); // positive rows only
        QuantizationReport report = StaticQuantizer.convert(prepared);

        GraphModule pos = (GraphModule) model.child("pos");
        GraphModule neg = (GraphModule) model.child("neg");
        assertInstanceOf(QuantizedLeaf.class, pos.module("l1"));
        assertInstanceOf(FusedReLU.class, neg.module("l1"), "never calibrated: stays FP32");
        assertFalse(report.notReached().isEmpty(), report.describe());
        assertTrue(report.notReached().stream().allMatch(s -> s.startsWith("neg.")), report.notReached().toString());
        // The FP32 block computes exactly what the original FP32 module does.
        Tensor negative = Tensor.randn(rng, 3, 8).sub(3f);
        float[] want = reference.call(negative).toFloatArray();
        float[] got = model.call(negative).toFloatArray();
        assertEquals(want.length, got.length);
        for (int i = 0; i < want.length; i++) {
            assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(got[i]), "element " + i);
        }
    }

    @Test
    void aNewBatchSizeAfterConvertIsTracedAndConvertedToo() {
        Chain model = new Chain();
        Partition p = Partitioner.partition(model, Tensor.randn(rng, 4, 8));
        StaticQuantizer.Prepared prepared = StaticQuantizer.prepare(p, StaticQuantizer.defaultMapping());
        StaticQuantizer.calibrate(prepared, batches(4, 4, 0f), (d, t, m) -> { });
        StaticQuantizer.convert(prepared);
        GraphModule block = (GraphModule) p.model();
        Tensor out = p.model().call(Tensor.randn(rng, 3, 8));
        assertEquals(3, out.size(0));
        assertEquals(2, block.specializations().size());
        for (GraphModule.Specialization s : block.specializations()) {
            long quantizes = s.graph().nodes().stream().filter(n -> isOp(n, QuantOps.QUANTIZE_PER_TENSOR)).count();
            assertEquals(1, quantizes, s.graph().toString());
            assertTrue(s.graph().nodes().stream().noneMatch(n -> n.name().startsWith("observer_")), s.graph().toString());
        }
        assertNoDequantizeQuantizePairs(block);
    }

    @Test
    void convBatchNormReluFoldsToTheSameValues() {
        Sequential model = new Sequential(new Conv2d(3, 6, 3, 1, 1), new BatchNorm2d(6), new ReLU());
        BatchNorm2d bn = (BatchNorm2d) model.module("1");
        InPlace.copy(bn.runningMean(), Tensor.randn(rng, 6));
        InPlace.copy(bn.runningVar(), Tensor.rand(rng, 0.5f, 2f, 6));
        InPlace.copy(bn.weight(), Tensor.randn(rng, 6));
        InPlace.copy(bn.bias(), Tensor.randn(rng, 6));
        model.eval();
        Tensor x = Tensor.randn(rng, 2, 3, 8, 8);
        Tensor want = model.call(x);
        Partition p = Partitioner.partition(model, x);
        StaticQuantizer.Prepared prepared = StaticQuantizer.prepare(p, StaticQuantizer.defaultMapping());
        assertEquals("Conv2d-BatchNorm2d-ReLU", prepared.fused().get("").get("0"));
        GraphModule block = (GraphModule) p.model();
        assertInstanceOf(FusedReLU.class, block.module("0"));
        assertTrue(block.graph().nodes().stream().noneMatch(n -> n.target() instanceof Target.ModuleCall mc
                && mc.path().equals("1")), block.graph().toString());
        float[] a = want.toFloatArray();
        float[] b = p.model().call(x).toFloatArray();
        for (int i = 0; i < a.length; i++) {
            assertEquals(a[i], b[i], 1e-5f, "element " + i);
        }
        StaticQuantizer.calibrate(prepared, List.<Object[]>of(new Object[] {x}), (d, t, m) -> { });
        QuantizationReport report = StaticQuantizer.convert(prepared);
        assertEquals(0, report.blocks().get(0).fp32Count(), report.describe());
        assertClose(want, p.model().call(x), 0.99);
    }

    static boolean isOp(Node n, dev.graft.ops.Op op) {
        return n.target() instanceof Target.Function f && f.op() == op;
    }

    /** No quantize reads a dequantize: adjacent INT8 operators hand quint8 values over directly. */
    static void assertNoDequantizeQuantizePairs(GraphModule block) {
        for (GraphModule.Specialization s : block.specializations()) {
            for (Node n : s.graph()) {
                if (isOp(n, QuantOps.QUANTIZE_PER_TENSOR)) {
                    Node in = (Node) n.args().get(0);
                    assertFalse(isOp(in, QuantOps.DEQUANTIZE), "dequantize -> quantize at " + n.name() + "\n"
                            + s.graph());
                }
            }
        }
    }

    static void assertClose(Tensor want, Tensor got, double minCosine) {
        float[] a = want.toFloatArray();
        float[] b = got.toFloatArray();
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        double cos = dot / Math.sqrt(na * nb + 1e-30);
        assertTrue(cos >= minCosine, "cosine " + cos);
    }
}
