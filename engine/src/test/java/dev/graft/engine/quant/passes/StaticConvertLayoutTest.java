package dev.graft.engine.quant.passes;

import dev.graft.engine.Module;
import dev.graft.engine.Submodule;
import dev.graft.engine.graph.Node;
import dev.graft.engine.graph.Target;
import dev.graft.engine.nn.Conv2d;
import dev.graft.engine.quant.nn.QuantizedLeakyReLU;
import dev.graft.engine.quant.nn.QuantizedSigmoid;
import dev.graft.engine.quant.report.QuantizationReport;
import dev.graft.engine.trace.Partition;
import dev.graft.engine.trace.Partitioner;
import dev.graft.ops.F;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A NanoDet-shaped block (conv, leaky_relu, pads, max pool, upsample, split, cat, sigmoid) converts INT8 end to end. */
class StaticConvertLayoutTest {

    static final class Neck extends Module {
        private final Submodule c1 = submodule("c1", new Conv2d(3, 8, 3, 1, 0));
        private final Submodule c2 = submodule("c2", new Conv2d(8, 8, 3, 1, 0));
        private final Submodule head = submodule("head", new Conv2d(16, 6, 1, 1, 0));

        @Override
        protected Tensor forward(Tensor... inputs) {
            Tensor x = F.leakyRelu(c1.call(F.pad(single(inputs), new int[] {1, 1, 1, 1}, 0f)), 0.1f);
            Tensor pooled = F.maxPool2d(F.pad(x, new int[] {1, 1, 1, 1}, Float.NEGATIVE_INFINITY), new int[] {3, 3},
                    new int[] {2, 2}, new int[] {0, 0}, new int[] {1, 1}, false);
            Tensor y = F.leakyRelu(c2.call(F.pad(pooled, new int[] {1, 1, 1, 1}, 0f)), 0.1f);
            Tensor up = F.upsampleBilinear(y, new int[] {x.size(2), x.size(3)}, false);
            Tensor[] parts = F.split(head.call(F.cat(new Tensor[] {up, x}, 1)), new int[] {2, 4}, 1);
            return F.sigmoid(parts[0]).add(parts[1].narrow(1, 0, 2));
        }
    }

    @Test
    void leakyReluSigmoidPadUpsampleAndSplitStayInt8() {
        Random rng = new Random(9);
        Neck model = new Neck();
        model.eval();
        List<Tensor> data = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            data.add(Tensor.randn(rng, 1, 3, 12, 12));
        }
        Tensor want = model.call(data.get(0));
        Partition p = Partitioner.partition(model, data.get(0));
        StaticQuantizer.Prepared prepared = StaticQuantizer.prepare(p, StaticQuantizer.defaultMapping());
        StaticQuantizer.calibrate(prepared, data.stream().map(t -> new Object[] {t}).toList(), (d, t, m) -> { });
        QuantizationReport report = StaticQuantizer.convert(prepared);
        QuantizationReport.Block root = report.blocks().get(0);
        // The input's pad runs before the first quantize; everything after it is INT8.
        assertEquals(Map.of("pad", 1), root.fp32Ops(), report.describe());
        for (String op : List.of("QuantizedLeakyReLU", "QuantizedSigmoid", "quantized_pad",
                "quantized_upsample_bilinear2d", "quantized_max_pool2d", "quantized_cat")) {
            assertTrue(root.int8Ops().containsKey(op), op + " missing:\n" + report.describe());
        }
        for (Node n : p.blocks().get("").graph()) {
            if (n.target() instanceof Target.Function f && f.op().name().equals("quantize_per_tensor")) {
                Node in = (Node) n.args().get(0);
                assertTrue(!(in.target() instanceof Target.Function g && g.op().name().equals("dequantize")),
                        "dequantize -> quantize: " + p.blocks().get("").graph());
            }
        }
        float[] got = model.call(data.get(0)).toFloatArray();
        float[] ref = want.toFloatArray();
        double err = 0;
        double sig = 0;
        for (int i = 0; i < ref.length; i++) {
            err += (got[i] - ref[i]) * (got[i] - ref[i]);
            sig += ref[i] * ref[i];
        }
        assertTrue(10 * Math.log10(sig / err) > 20, "SQNR " + 10 * Math.log10(sig / err) + " dB");
    }
}
