package dev.graft;

import dev.graft.engine.Module;
import dev.graft.engine.Submodule;
import dev.graft.engine.nn.Linear;
import dev.graft.engine.nn.ReLU;
import dev.graft.engine.nn.Sequential;
import dev.graft.engine.quant.Approach;
import dev.graft.engine.save.Savable;
import dev.graft.engine.save.SavedConfig;
import dev.graft.engine.trace.PartitionNode;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The embedding API on its own module: quantize a model with Java control flow, save it, load it, run it. */
class GraftTest {

    /** A data-dependent choice between two heads: the root stays Java, the encoder and both heads trace. */
    public static final class Router extends Module implements Savable {
        private final Submodule encoder = submodule("encoder",
                new Sequential(new Linear(16, 32, true, new Random(1)), new ReLU()));
        private final Submodule small = submodule("small", new Linear(32, 4, true, new Random(2)));
        private final Submodule large = submodule("large", new Sequential(new Linear(32, 32, true, new Random(3)),
                new ReLU(), new Linear(32, 4, true, new Random(4))));

        @Override
        protected Tensor forward(Tensor... in) {
            Tensor h = encoder.call(in[0]);
            return h.mean().item() < 0.3f ? small.call(h) : large.call(h);
        }

        @Override
        public Map<String, Object> saveConfig() {
            return Map.of();
        }

        public static Router fromConfig(SavedConfig c) {
            return new Router();
        }
    }

    @Test
    void staticInt8WithControlFlowSavesAndLoadsBitIdentically(@TempDir Path dir) {
        Random rng = new Random(7);
        List<Object[]> batches = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            // Half the batches take each branch.
            batches.add(new Object[] {Tensor.randn(rng, 4, 16).mul(i % 2 == 0 ? 0.1f : 3f)});
        }
        Router model = new Router();
        model.eval();
        Graft.Prepared prepared = Graft.prepare(model, batches, Graft.Config.staticDefaults());
        prepared.calibrate(batches);
        Graft.Quantized q = prepared.convert();
        assertEquals(Approach.STATIC, q.approach());
        assertEquals(PartitionNode.Status.EAGER_CONTROL_FLOW, q.partition().tree().status());
        assertEquals(3, q.partition().blocks().size(), q.partition().describe());
        assertTrue(q.report().blocks().stream().allMatch(b -> b.int8Count() > 0), q.report().describe());

        Path file = dir.resolve("router.graft");
        q.save(file);
        Graft.Quantized loaded = Graft.load(file);
        assertEquals(Approach.STATIC, loaded.approach());
        for (Object[] b : batches) {
            assertArrayEquals(bits(q.model().call((Tensor) b[0])), bits(loaded.model().call((Tensor) b[0])));
        }
    }

    @Test
    void dynamicIsOneStepAndFp32IsNotAnApproach() {
        Router model = new Router();
        model.eval();
        Tensor x = Tensor.randn(new Random(3), 2, 16);
        Graft.Quantized q = Graft.quantize(model, new Object[] {x}, Graft.Config.dynamic());
        assertEquals(Approach.DYNAMIC, q.approach());
        assertEquals(4, q.model().call(x).size(1));
        assertThrows(IllegalArgumentException.class,
                () -> new Graft.Config(Approach.FP32, Graft.Config.dynamic().mapping()));
    }

    @Test
    void dynamicQuantizesActivationsPerTokenAndPerTensorOnRequest(@TempDir Path dir) {
        // Three rows, the middle one 50x larger: per tensor its range sets the grid of the other two rows too.
        float[] v = Tensor.randn(new Random(5), 3, 16).toFloatArray();
        for (int i = 16; i < 32; i++) {
            v[i] *= 50f;
        }
        Tensor x = Tensor.of(v, 3, 16);
        Router reference = new Router();
        reference.eval();
        float[] fp32 = reference.call(x).toFloatArray();
        double[] smallRowsError = new double[2];
        for (boolean perToken : new boolean[] {true, false}) {
            Router model = new Router();
            model.eval();
            Graft.Quantized q = Graft.quantize(model, new Object[] {x},
                    perToken ? Graft.Config.dynamic() : Graft.Config.dynamicPerTensor());
            List<dev.graft.engine.quant.nn.DynamicQuantizedLinear> layers = q.model().namedModules().values().stream()
                    .filter(m -> m instanceof dev.graft.engine.quant.nn.DynamicQuantizedLinear)
                    .map(m -> (dev.graft.engine.quant.nn.DynamicQuantizedLinear) m).distinct().toList();
            assertTrue(!layers.isEmpty());
            assertTrue(layers.stream().allMatch(l -> l.perToken() == perToken), layers.toString());
            Path file = dir.resolve("router-" + perToken + ".graft");
            q.save(file);
            float[] y = q.model().call(x).toFloatArray();
            assertArrayEquals(bits(q.model().call(x)), bits(Graft.load(file).model().call(x)), "per token " + perToken);
            for (int i = 0; i < y.length; i++) {
                smallRowsError[perToken ? 0 : 1] += i / 4 == 1 ? 0 : Math.abs(y[i] - fp32[i]);
            }
        }
        assertTrue(smallRowsError[0] * 4 < smallRowsError[1], "per token " + smallRowsError[0] + " vs per tensor "
                + smallRowsError[1] + " on the rows beside the large one");
    }

    private static int[] bits(Tensor t) {
        float[] v = t.toFloatArray();
        int[] out = new int[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = Float.floatToRawIntBits(v[i]);
        }
        return out;
    }
}
