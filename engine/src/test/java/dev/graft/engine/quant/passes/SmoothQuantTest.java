package dev.graft.engine.quant.passes;

import dev.graft.engine.Module;
import dev.graft.engine.ProgressListener;
import dev.graft.engine.Submodule;
import dev.graft.engine.graph.GraphModule;
import dev.graft.engine.graph.Target;
import dev.graft.engine.nn.GELU;
import dev.graft.engine.nn.LayerNorm;
import dev.graft.engine.nn.Linear;
import dev.graft.engine.quant.QConfig;
import dev.graft.engine.quant.QConfigMapping;
import dev.graft.engine.quant.QDType;
import dev.graft.engine.quant.QScheme;
import dev.graft.engine.quant.QuantSpec;
import dev.graft.engine.quant.nn.ChannelScale;
import dev.graft.engine.quant.observe.MinMaxObserver;
import dev.graft.engine.quant.observe.PerChannelMinMaxObserver;
import dev.graft.engine.trace.Partition;
import dev.graft.engine.trace.Partitioner;
import dev.graft.ops.MathOps;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SmoothQuantTest {

    /**
     * A post-LN transformer layer in miniature: LayerNorm read by two Linears and a residual add (so its factors
     * cannot be folded into it), a second LayerNorm read only by the FFN's first Linear (folded), and GELU feeding the
     * FFN's output Linear (a ChannelScale). The first LayerNorm's weight makes channel 3 an outlier, as BERT's
     * residual stream has a few.
     */
    static final class TinyLayer extends Module {
        private final Submodule ln = submodule("ln", new LayerNorm(8));
        private final Submodule query = submodule("query", new Linear(8, 8));
        private final Submodule key = submodule("key", new Linear(8, 8));
        private final Submodule ln2 = submodule("ln2", new LayerNorm(8));
        private final Submodule up = submodule("up", new Linear(8, 16));
        private final Submodule act = submodule("act", new GELU());
        private final Submodule down = submodule("down", new Linear(16, 8));

        TinyLayer() {
            float[] w = new float[8];
            java.util.Arrays.fill(w, 1f);
            w[3] = 40f;
            module("ln").loadStateDict(Map.of("weight", Tensor.of(w, 8)), false);
        }

        @Override
        protected Tensor forward(Tensor... inputs) {
            Tensor h = ln.call(single(inputs));
            Tensor r = h.add(query.call(h).mul(key.call(h)).mul(0.05f));
            Tensor u = act.call(up.call(ln2.call(r)));
            return down.call(u).add(r);
        }
    }

    /**
     * LayerNorm with an outlier channel, read by two Linears whose outputs are summed (the add FP32); the Linears'
     * weights for that channel are small, so their outputs depend on the other channels, which a per-tensor scale
     * sized for the outlier quantizes to a few levels.
     */
    static final class Projection extends Module {
        private final Submodule ln = submodule("ln", new LayerNorm(8));
        private final Submodule query = submodule("query", new Linear(8, 8));
        private final Submodule key = submodule("key", new Linear(8, 8));

        Projection() {
            float[] w = new float[8];
            java.util.Arrays.fill(w, 1f);
            w[3] = 40f;
            module("ln").loadStateDict(Map.of("weight", Tensor.of(w, 8)), false);
            for (String layer : List.of("query", "key")) {
                float[] weight = module(layer).stateDict().get("weight").toFloatArray();
                for (int i = 3; i < weight.length; i += 8) {
                    weight[i] *= 0.02f;
                }
                module(layer).loadStateDict(Map.of("weight", Tensor.of(weight, 8, 8)), false);
            }
        }

        @Override
        protected Tensor forward(Tensor... inputs) {
            Tensor h = ln.call(single(inputs));
            return query.call(h).add(key.call(h));
        }
    }

    private static List<Object[]> batches(Random rng, int count, int rows) {
        List<Object[]> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            out.add(new Object[] {Tensor.randn(rng, 2, rows, 8)});
        }
        return out;
    }

    private static double maxRelativeError(Tensor want, Tensor got) {
        float[] a = want.toFloatArray();
        float[] b = got.toFloatArray();
        double scale = 0;
        double err = 0;
        for (int i = 0; i < a.length; i++) {
            scale = Math.max(scale, Math.abs(a[i]));
            err = Math.max(err, Math.abs(a[i] - b[i]));
        }
        return err / scale;
    }

    private static double sqnrDb(Tensor want, Tensor got) {
        float[] a = want.toFloatArray();
        float[] b = got.toFloatArray();
        double s = 0;
        double n = 0;
        for (int i = 0; i < a.length; i++) {
            s += (double) a[i] * a[i];
            n += (double) (a[i] - b[i]) * (a[i] - b[i]);
        }
        return 10 * Math.log10(s / n);
    }

    @Test
    void smoothedModelComputesTheSameFp32Function() {
        Random rng = new Random(11);
        TinyLayer model = new TinyLayer();
        model.eval();
        List<Object[]> calibration = batches(rng, 3, 5);
        Tensor probe = Tensor.randn(rng, 3, 5, 8);
        Tensor longer = Tensor.randn(rng, 2, 9, 8);
        Tensor want = model.call(probe);
        Tensor wantLonger = model.call(longer);

        Partition p = Partitioner.partition(model, calibration.get(0));
        SmoothQuant.Statistics stats = SmoothQuant.observe(p, calibration, ProgressListener.NONE);
        assertEquals(List.of("query", "key", "up", "down"), List.copyOf(stats.absMax().keySet()));
        float[] seen = stats.absMax().get("query");
        assertTrue(seen[3] > 10 * seen[0] && seen[3] > 10 * seen[7], "the outlier channel is seen: "
                + java.util.Arrays.toString(seen));
        SmoothQuant.Result r = SmoothQuant.apply(p, stats, 0.5, path -> true);

        assertEquals(4, r.linears());
        assertEquals(3, r.groups().size(), r.groups().toString());
        assertEquals(List.of("query", "key"), r.groups().get(0).linears(), "one factor vector for a shared input");
        assertTrue(r.groups().get(0).foldedInto().startsWith("ChannelScale"), "ln is also read by the residual add");
        assertEquals("ln2", r.groups().get(1).foldedInto(), "ln2 is read by up alone: folded into it");
        assertTrue(r.groups().get(2).foldedInto().startsWith("ChannelScale"), "GELU's output cannot be folded");
        assertTrue(r.groups().get(0).maxFactor() > 3 * r.groups().get(0).minFactor(), r.groups().get(0).toString());

        Module smoothed = p.model();
        assertTrue(maxRelativeError(want, smoothed.call(probe)) < 1e-5, "same FP32 function");
        assertTrue(maxRelativeError(wantLonger, smoothed.call(longer)) < 1e-5, "a re-traced length too");
        GraphModule block = (GraphModule) smoothed;
        long scales = block.graph().nodes().stream()
                .filter(n -> n.target() instanceof Target.ModuleCall mc && block.module(mc.path()) instanceof ChannelScale)
                .count();
        assertEquals(2, scales);
        assertEquals(2, SmoothQuant.scalesOf(block).size());
        assertThrows(IllegalStateException.class, () -> SmoothQuant.apply(p, stats, 0.5, path -> true));
    }

    @Test
    void smoothingLowersTheInt8ErrorOfOutlierChannels() {
        Random rng = new Random(12);
        List<Object[]> calibration = batches(rng, 4, 6);
        Tensor probe = Tensor.randn(rng, 4, 6, 8);
        Projection reference = new Projection();
        reference.eval();
        Map<String, Tensor> weights = reference.stateDict();
        Tensor want = reference.call(probe);
        double[] sqnr = new double[2];
        for (int smooth = 0; smooth < 2; smooth++) {
            Projection model = new Projection();
            model.loadStateDict(weights);
            model.eval();
            Partition p = Partitioner.partition(model, calibration.get(0));
            if (smooth == 1) {
                SmoothQuant.apply(p, SmoothQuant.observe(p, calibration, ProgressListener.NONE), 0.5, path -> true);
            }
            StaticQuantizer.Prepared prepared = StaticQuantizer.prepare(p, linearsOnly());
            StaticQuantizer.calibrate(prepared, calibration, ProgressListener.NONE);
            StaticQuantizer.convert(prepared);
            sqnr[smooth] = sqnrDb(want, p.model().call(probe));
            if (smooth == 1) {
                GraphModule block = (GraphModule) p.model();
                long quantizedLinears = block.graph().nodes().stream().filter(n -> n.target() instanceof Target.ModuleCall mc
                        && block.module(mc.path()) instanceof dev.graft.engine.quant.nn.QuantizedLeaf).count();
                assertEquals(2, quantizedLinears, block.graph().toString());
            }
        }
        assertTrue(sqnr[1] > sqnr[0] + 3, "SQNR without smoothing " + sqnr[0] + " dB, with " + sqnr[1] + " dB");
    }

    @Test
    void alphaOutsideTheUnitIntervalIsRefused() {
        TinyLayer model = new TinyLayer();
        model.eval();
        Partition p = Partitioner.partition(model, new Object[] {Tensor.randn(new Random(1), 1, 2, 8)});
        SmoothQuant.Statistics stats = SmoothQuant.observe(p, List.<Object[]>of(), ProgressListener.NONE);
        assertThrows(IllegalArgumentException.class, () -> SmoothQuant.apply(p, stats, 1.5, x -> true));
        assertThrows(IllegalArgumentException.class, () -> SmoothQuant.apply(p, stats, Double.NaN, x -> true));
    }

    /** Min/max activations, every Linear INT8; LayerNorm, the adds and the muls FP32. */
    static QConfigMapping linearsOnly() {
        QConfig minMax = new QConfig(
                () -> new MinMaxObserver(QuantSpec.of(QDType.QUINT8, QScheme.PER_TENSOR_AFFINE, false)),
                () -> new PerChannelMinMaxObserver(QuantSpec.of(QDType.QINT8, QScheme.PER_CHANNEL_SYMMETRIC, false)));
        return new QConfigMapping().global(minMax).byOperator(MathOps.ADD, null).byOperator(MathOps.MUL, null)
                .byModuleClass(LayerNorm.class, null).byModuleClass(GELU.class, null);
    }
}
