package dev.graft.engine.quant.passes;

import dev.graft.engine.Module;
import dev.graft.engine.Submodule;
import dev.graft.engine.graph.GraphModule;
import dev.graft.engine.nn.Linear;
import dev.graft.engine.nn.ReLU;
import dev.graft.engine.quant.nn.QuantizedLeaf;
import dev.graft.engine.quant.nn.QuantizedLinear;
import dev.graft.engine.trace.Partition;
import dev.graft.engine.trace.Partitioner;
import dev.graft.ops.QParams;
import dev.graft.ops.Tensor;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

/**
 * A converted block's output equals the PyTorch fbgemm formula (../shared/golden/README.md) computed in plain Java
 * from the integers, bit for bit: quantize the input, int32-accumulate {@code (x_q - x_zp) * w_q}, requantize
 * with {@code rint((acc + bias/(sx*sw)) * (sx*sw/so)) + zo} clamped (ReLU fused: clamped at {@code zo}), feed the
 * quint8 result to the next layer unchanged, dequantize at the block's end.
 */
class StaticBlockGoldenPropertyTest {

    /** l2(relu(l1(x))): one traced block; l1 and relu fuse. */
    static final class TwoLayers extends Module {
        private final Submodule l1;
        private final Submodule act = submodule("act", new ReLU());
        private final Submodule l2;

        TwoLayers(int k, int h, int n, Random rng) {
            l1 = submodule("l1", new Linear(k, h, true, rng));
            l2 = submodule("l2", new Linear(h, n, true, rng));
        }

        @Override
        protected Tensor forward(Tensor... inputs) {
            return l2.call(act.call(l1.call(single(inputs))));
        }
    }

    @Property(tries = 30)
    void convertedBlockEqualsTheGoldenFormula(@ForAll @IntRange(min = 1, max = 6) int m,
                                              @ForAll @IntRange(min = 1, max = 37) int k,
                                              @ForAll @IntRange(min = 1, max = 23) int h,
                                              @ForAll @IntRange(min = 1, max = 19) int n,
                                              @ForAll long seed) {
        Random rng = new Random(seed);
        TwoLayers model = new TwoLayers(k, h, n, rng);
        Partition p = Partitioner.partition(model, Tensor.randn(rng, m, k));
        StaticQuantizer.Prepared prepared = StaticQuantizer.prepare(p, StaticQuantizer.defaultMapping());
        List<Object[]> calibration = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            calibration.add(new Object[] {Tensor.randn(rng, m, k).mul(2f)});
        }
        StaticQuantizer.calibrate(prepared, calibration, (d, t, msg) -> { });
        StaticQuantizer.convert(prepared);
        GraphModule block = (GraphModule) p.model();

        QuantizedLeaf leaf1 = assertInstanceOf(QuantizedLeaf.class, block.module("l1"));
        QuantizedLeaf leaf2 = assertInstanceOf(QuantizedLeaf.class, block.module("l2"));
        QuantizedLinear q1 = assertInstanceOf(QuantizedLinear.class, leaf1.int8());
        QuantizedLinear q2 = assertInstanceOf(QuantizedLinear.class, leaf2.int8());
        // Adjacent INT8 layers: l2 reads l1's output qparams, no requantization between them.
        assertEquals(q1.outputScale(), leaf2.inputScale());
        assertEquals(q1.outputZeroPoint(), leaf2.inputZeroPoint());

        Tensor x = Tensor.randn(rng, m, k).mul(3f); // wider than calibration: clamping is exercised too
        float[] got = ((Tensor) block.call(x)).toFloatArray();

        int[] xq = quantize(x.toFloatArray(), leaf1.inputScale(), leaf1.inputZeroPoint());
        int[] hq = layer(xq, m, k, leaf1.inputScale(), leaf1.inputZeroPoint(), q1, true);
        int[] yq = layer(hq, m, h, q1.outputScale(), q1.outputZeroPoint(), q2, false);
        assertEquals(m * n, got.length);
        for (int i = 0; i < got.length; i++) {
            float want = q2.outputScale() * (float) (yq[i] - q2.outputZeroPoint());
            assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(got[i]), "element " + i);
        }
    }

    /** quint8: {@code clamp(zp + rint(x * (1f / scale)), 0, 255)}. */
    private static int[] quantize(float[] x, float scale, int zp) {
        int[] q = new int[x.length];
        float inv = 1f / scale;
        for (int i = 0; i < x.length; i++) {
            float r = (float) Math.rint(x[i] * inv) + zp;
            q[i] = (int) Math.max(0, Math.min(255, r));
        }
        return q;
    }

    /** One quantized linear layer by the fbgemm formula: int32 accumulation, then the output stage. */
    private static int[] layer(int[] xq, int rows, int in, float sx, int zx, QuantizedLinear q, boolean relu) {
        Tensor w = q.weight();
        // One scale per output channel; a single-channel weight is stored per tensor.
        QParams qp = w.qparams();
        byte[] wb = w.toByteArray();
        float[] bias = q.bias() == null ? null : q.bias().toFloatArray();
        int out = w.size(0);
        float so = q.outputScale();
        int zo = q.outputZeroPoint();
        assertEquals(relu, q.relu());
        int[] y = new int[rows * out];
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < out; j++) {
                int acc = 0;
                for (int p = 0; p < in; p++) {
                    acc += (xq[r * in + p] - zx) * (wb[j * in + p] - zeroPoint(qp, j));
                }
                float atw = sx * scale(qp, j);
                float mult = atw / so;
                float raw = bias == null ? (float) acc : (float) acc + bias[j] / atw;
                long v = (long) Math.rint(raw * mult) + zo;
                y[r * out + j] = (int) Math.max(relu ? zo : 0, Math.min(255, v));
            }
        }
        return y;
    }

    private static float scale(QParams q, int channel) {
        return q instanceof QParams.PerChannel pc ? pc.scale(channel) : ((QParams.PerTensor) q).scale();
    }

    private static int zeroPoint(QParams q, int channel) {
        return q instanceof QParams.PerChannel pc ? pc.zeroPoint(channel) : ((QParams.PerTensor) q).zeroPoint();
    }
}
