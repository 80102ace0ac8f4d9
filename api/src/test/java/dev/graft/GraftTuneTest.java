package dev.graft;

import dev.graft.engine.Module;
import dev.graft.engine.Submodule;
import dev.graft.engine.nn.Linear;
import dev.graft.engine.nn.ReLU;
import dev.graft.engine.quant.tune.Recipe;
import dev.graft.engine.quant.tune.Tuner;
import dev.graft.engine.save.Savable;
import dev.graft.engine.save.SavedConfig;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link Graft#tune}: the order of its strategies, its budget, and a recipe that re-applies without tuning. */
class GraftTuneTest {

    /** Two Linears with a ReLU between: the whole model traces as one block. */
    public static final class Mlp extends Module implements Savable {
        private final Submodule first = submodule("first", new Linear(8, 16, true, new Random(1)));
        private final Submodule act = submodule("act", new ReLU());
        private final Submodule second = submodule("second", new Linear(16, 4, true, new Random(2)));

        @Override
        protected Tensor forward(Tensor... in) {
            return second.call(act.call(first.call(in[0])));
        }

        @Override
        public Map<String, Object> saveConfig() {
            return Map.of();
        }

        public static Mlp fromConfig(SavedConfig c) {
            return new Mlp();
        }
    }

    private static List<Object[]> batches(long seed, int count) {
        Random rng = new Random(seed);
        List<Object[]> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            out.add(new Object[] {Tensor.randn(rng, 16, 8)});
        }
        return out;
    }

    /** Minus the mean squared difference to the FP32 model's outputs on held-out inputs: 0 only when FP32. */
    private static Tuner.Evaluator closeness(List<Object[]> test) {
        Mlp reference = new Mlp();
        reference.eval();
        List<float[]> want = test.stream().map(b -> reference.call((Tensor) b[0]).toFloatArray()).toList();
        return m -> {
            double sum = 0;
            long n = 0;
            for (int i = 0; i < test.size(); i++) {
                float[] got = m.call((Tensor) test.get(i)[0]).toFloatArray();
                for (int j = 0; j < got.length; j++) {
                    double d = got[j] - want.get(i)[j];
                    sum += d * d;
                    n++;
                }
            }
            return -sum / n;
        };
    }

    @Test
    void aCriterionOnlyFp32MeetsWalksEveryStrategyThenKeepsTheFewestFallbacks(@TempDir Path dir) {
        List<Object[]> calibration = batches(3, 4);
        List<Object[]> test = batches(4, 4);
        Graft.Tuned tuned = Graft.tune(Mlp::new, calibration, closeness(test), Tuner.Criterion.absoluteLoss(0),
                new Tuner.Budget(30, Duration.ofMinutes(5)), (done, total, what) -> { });
        Tuner.Result r = tuned.result();
        System.out.print(r.table());
        List<String> changes = r.trajectory().stream().map(Tuner.Trial::change).toList();
        assertTrue(changes.get(0).startsWith("default recipe"), changes.toString());
        assertTrue(changes.get(1).startsWith("SmoothQuant alpha"), changes.toString());
        assertTrue(changes.stream().anyMatch(c -> c.equals("percentile observers")), changes.toString());
        assertTrue(changes.stream().anyMatch(c -> c.equals("per-tensor weights")), changes.toString());
        assertTrue(changes.stream().anyMatch(c -> c.startsWith("fall back ")), changes.toString());
        assertTrue(r.met(), r.table());
        assertEquals(0.0, Math.abs(r.chosen().score()), "only the FP32 model has no error");
        assertEquals(List.of("first", "second"), r.recipe().fp32(), "both Linears fell back");
        assertTrue(r.trajectory().getLast().change().startsWith("re-quantize"), "then tried back in INT8");
        assertFalse(r.trajectory().getLast().meets());
    }

    @Test
    void theBudgetStopsTuningAndTheBestScoreIsKept() {
        List<Object[]> calibration = batches(5, 2);
        Graft.Tuned tuned = Graft.tune(Mlp::new, calibration, closeness(batches(6, 2)),
                Tuner.Criterion.absoluteLoss(0), new Tuner.Budget(3, Duration.ofMinutes(5)), (d, t, w) -> { });
        Tuner.Result r = tuned.result();
        assertEquals(3, r.trajectory().size());
        assertFalse(r.met());
        double best = r.trajectory().stream().mapToDouble(Tuner.Trial::score).max().orElseThrow();
        assertEquals(best, r.chosen().score());
        assertThrows(IllegalArgumentException.class, () -> new Tuner.Budget(0, Duration.ofMinutes(1)));
        assertThrows(IllegalArgumentException.class, () -> Tuner.Criterion.relativeLoss(Double.NaN));
    }

    @Test
    void theRecipeIsSavedInTheFileAndReappliesWithoutTuning(@TempDir Path dir) {
        List<Object[]> calibration = batches(7, 3);
        Graft.Tuned tuned = Graft.tune(Mlp::new, calibration, closeness(batches(8, 2)),
                Tuner.Criterion.absoluteLoss(1.0), Tuner.Budget.defaults(), (d, t, w) -> { });
        assertTrue(tuned.result().met());
        assertEquals(1, tuned.result().trajectory().size(), "the default recipe met a loose criterion at once");
        Path file = dir.resolve("tuned.graft");
        tuned.save(file);
        Recipe saved = Graft.recipeOf(file);
        assertEquals(tuned.recipe(), saved);

        Tensor probe = Tensor.randn(new Random(9), 5, 8);
        float[] want = tuned.model().call(probe).toFloatArray();
        assertArrayEquals(want, Graft.load(file).model().call(probe).toFloatArray(), "the saved model, bit for bit");
        Graft.Quantized again = Graft.quantize(new Mlp(), calibration, saved);
        assertArrayEquals(want, again.model().call(probe).toFloatArray(), "the recipe re-applied, bit for bit");
    }
}
