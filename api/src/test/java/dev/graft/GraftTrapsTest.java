package dev.graft;

import dev.graft.engine.Module;
import dev.graft.engine.ModuleException;
import dev.graft.engine.Submodule;
import dev.graft.engine.nn.BatchNorm2d;
import dev.graft.engine.nn.Conv2d;
import dev.graft.engine.nn.LayerNorm;
import dev.graft.engine.nn.Linear;
import dev.graft.engine.nn.ReLU;
import dev.graft.engine.nn.Sequential;
import dev.graft.engine.quant.Approach;
import dev.graft.engine.quant.qat.QatConvBn;
import dev.graft.engine.quant.qat.QatOptions;
import dev.graft.engine.quant.report.QuantizationReport;
import dev.graft.engine.save.Savable;
import dev.graft.engine.save.SavedConfig;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Each way the API used to let a model stay FP32 (or a file fail later) without a word: now an error or a line. */
class GraftTrapsTest {

    /** Calls its child through a Java field: the partition replaces the child, the field keeps the FP32 original. */
    public static final class FieldCaller extends Module {
        private final Linear fc = registerModule("fc", new Linear(8, 4, true, new Random(1)));

        @Override
        protected Tensor forward(Tensor... in) {
            // A data-dependent branch keeps this module eager, so its child is traced (and replaced) on its own.
            return in[0].abs().max().item() > 1e6f ? in[0] : fc.call(in[0]);
        }
    }

    /** Two heads behind a data-dependent choice, and a LayerNorm (weights, no INT8 kernel in dynamic). */
    public static final class TwoHeads extends Module implements Savable {
        private final Submodule norm = submodule("norm", new LayerNorm(8));
        private final Submodule small = submodule("small", new Linear(8, 4, true, new Random(2)));
        private final Submodule large = submodule("large", new Sequential(new Linear(8, 8, true, new Random(3)),
                new ReLU(), new Linear(8, 4, true, new Random(4))));

        @Override
        protected Tensor forward(Tensor... in) {
            Tensor h = norm.call(in[0]);
            return in[0].mean().item() < 1f ? small.call(h) : large.call(h);
        }

        @Override
        public Map<String, Object> saveConfig() {
            return Map.of();
        }

        public static TwoHeads fromConfig(SavedConfig c) {
            return new TwoHeads();
        }
    }

    /** Savable without fromConfig. */
    public static final class NoFactory extends Module implements Savable {
        private final Submodule fc = submodule("fc", new Linear(8, 4, true, new Random(5)));

        @Override
        protected Tensor forward(Tensor... in) {
            return in[0].mean().item() > 1e6f ? in[0] : fc.call(in[0]);
        }

        @Override
        public Map<String, Object> saveConfig() {
            return Map.of();
        }
    }

    /** Savable and complete, but not public. */
    static final class Hidden extends Module implements Savable {
        private final Submodule fc = submodule("fc", new Linear(8, 4, true, new Random(6)));

        @Override
        protected Tensor forward(Tensor... in) {
            return in[0].mean().item() > 1e6f ? in[0] : fc.call(in[0]);
        }

        @Override
        public Map<String, Object> saveConfig() {
            return Map.of();
        }

        public static Hidden fromConfig(SavedConfig c) {
            return new Hidden();
        }
    }

    static Tensor small(int seed) {
        return Tensor.randn(new Random(seed), 2, 8).mul(0.1f).add(-0.5f);
    }

    static Tensor large(int seed) {
        return Tensor.randn(new Random(seed), 2, 8).mul(0.1f).add(3f);
    }

    @Test
    void aChildCalledThroughAJavaFieldIsAnErrorNamingItsPathAndTheFix() {
        Tensor x = small(1);
        ModuleException dynamic = assertThrows(ModuleException.class,
                () -> Graft.quantize(new FieldCaller(), new Object[] {x}, Graft.Config.dynamic()));
        assertTrue(dynamic.getMessage().contains("'fc' (Linear)") && dynamic.getMessage().contains("Submodule")
                && dynamic.getMessage().contains("FieldCaller"), dynamic.getMessage());

        Graft.Prepared prepared = Graft.prepare(new FieldCaller(), new Object[] {x}, Graft.Config.staticDefaults());
        ModuleException calibration = assertThrows(ModuleException.class, () -> prepared.calibrate(new Tensor[] {x}));
        assertTrue(calibration.getMessage().contains("'fc'"), calibration.getMessage());
    }

    @Test
    void everyFp32ModuleWithWeightsIsInTheReportWithItsReason() {
        TwoHeads dyn = new TwoHeads();
        Graft.Quantized q = Graft.quantize(dyn, new Object[] {small(1)}, Graft.Config.dynamic());
        Map<String, String> reasons = reasons(q.report());
        assertTrue(reasons.get("large.0").startsWith("not reached while partitioning"), reasons.toString());
        assertTrue(reasons.get("large.2").startsWith("not reached while partitioning"), reasons.toString());
        assertEquals("no dynamic INT8 kernel for LayerNorm", reasons.get("norm"));
        assertFalse(reasons.containsKey("small"), "small is INT8");
        assertTrue(q.report().describe().contains("not reached while partitioning"), q.report().describe());

        // Static: partitioned on both branches, calibrated on one, LayerNorm kept FP32 by the configuration.
        List<Tensor[]> both = List.of(new Tensor[] {small(2)}, new Tensor[] {large(3)});
        Graft.Prepared p = Graft.prepare(new TwoHeads(), both, Graft.Config.staticDefaults().withMapping(
                dev.graft.engine.quant.passes.StaticQuantizer.defaultMapping().byModuleName("norm", null)));
        p.calibrate(new Tensor[] {small(4)}, new Tensor[] {small(5)});
        Map<String, String> staticReasons = reasons(p.convert().report());
        assertEquals("kept FP32 by the configuration", staticReasons.get("norm"));
        assertTrue(String.valueOf(staticReasons.get("large.2")).startsWith("not reached by calibration"),
                staticReasons.toString());
    }

    private static Map<String, String> reasons(QuantizationReport r) {
        Map<String, String> out = new java.util.LinkedHashMap<>();
        r.fp32Modules().forEach(m -> out.put(m.path(), m.reason()));
        return out;
    }

    @Test
    void convertWithoutCalibrationAndStaticOneStepWithoutDataAreErrors() {
        Graft.Prepared p = Graft.prepare(new TwoHeads(), new Object[] {small(1)}, Graft.Config.staticDefaults());
        IllegalStateException e = assertThrows(IllegalStateException.class, p::convert);
        assertTrue(e.getMessage().contains("calibrate"), e.getMessage());

        IllegalArgumentException one = assertThrows(IllegalArgumentException.class,
                () -> Graft.quantize(new TwoHeads(), new Object[] {small(1)}, Graft.Config.staticDefaults()));
        assertTrue(one.getMessage().contains("calibration batches"), one.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> Graft.quantize(new TwoHeads(), List.<Tensor[]>of(), Graft.Config.staticDefaults()));
    }

    @Test
    void calibrationTakesPlainTensorArraysAndTheOneStepStaticFormUsesThem() {
        List<Tensor[]> batches = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            batches.add(new Tensor[] {i % 2 == 0 ? small(10 + i) : large(10 + i)});
        }
        Graft.Quantized q = Graft.quantize(new TwoHeads(), batches, Graft.Config.staticDefaults());
        assertEquals(Approach.STATIC, q.approach());
        assertTrue(q.report().blocks().stream().mapToInt(QuantizationReport.Block::int8Count).sum() > 0);
        assertFalse(reasons(q.report()).containsKey("large.0"), "both branches were partitioned and calibrated");
    }

    @Test
    void savableMistakesFailWhenSavingAndNoFileIsLeft(@TempDir Path dir) {
        for (Module m : List.of(new NoFactory(), new Hidden())) {
            Graft.Quantized q = Graft.quantize(m, new Object[] {small(1)}, Graft.Config.dynamic());
            Path file = dir.resolve(m.getClass().getSimpleName() + ".graft");
            RuntimeException e = assertThrows(RuntimeException.class, () -> q.save(file));
            assertTrue(e.getMessage().contains(m instanceof NoFactory ? "fromConfig" : "is not public"),
                    e.getMessage());
            assertFalse(Files.exists(file), "nothing written");
        }
    }

    @Test
    void theReportedModelSizeIsWhatTheSavedFileHolds(@TempDir Path dir) throws Exception {
        TwoHeads model = new TwoHeads();
        Graft.Quantized q = Graft.quantize(model, List.<Tensor[]>of(new Tensor[] {small(1)},
                new Tensor[] {large(2)}), Graft.Config.dynamic());
        Path file = dir.resolve("two-heads.graft");
        q.save(file);
        long tensorBytes = GraftFile.readContents(file).tensors().values().stream()
                .mapToLong(t -> (long) t.numel() * t.dtype().byteSize()).sum();
        assertEquals(tensorBytes, q.report().modelBytes(), q.report().describe());
    }

    @Test
    void fp32ModelsSaveThroughGraftAndLoadBitIdentically(@TempDir Path dir) {
        TwoHeads model = new TwoHeads();
        Tensor x = small(7);
        float[] expected = model.call(x).toFloatArray();
        Path file = dir.resolve("fp32.graft");
        Graft.save(Graft.partition(model, x), file);
        Graft.Quantized loaded = Graft.load(file);
        assertEquals(Approach.FP32, loaded.approach());
        assertArrayEquals(expected, loaded.model().call(x).toFloatArray(), 0f);
    }

    @Test
    void qatOptionsPassThroughTheConfig() {
        Sequential cnn = new Sequential(new Conv2d(1, 4, 3, 1, 1), new BatchNorm2d(4), new ReLU());
        cnn.eval();
        Object[] x = {Tensor.randn(new Random(8), 2, 1, 6, 6)};
        Graft.Prepared folded = Graft.prepare(cnn, x, Graft.Config.qat());
        assertFalse(folded.model().namedModules().values().stream().anyMatch(m -> m instanceof QatConvBn));
        Sequential cnn2 = new Sequential(new Conv2d(1, 4, 3, 1, 1), new BatchNorm2d(4), new ReLU());
        cnn2.eval();
        Graft.Prepared unfused = Graft.prepare(cnn2, x, Graft.Config.qat(QatOptions.convBn(5)));
        assertTrue(unfused.model().namedModules().values().stream().anyMatch(m -> m instanceof QatConvBn),
                "conv-bn kept unfused as QatOptions.convBn asks");
        assertEquals(QatOptions.convBn(5), Graft.Config.qat().withQatOptions(QatOptions.convBn(5)).qatOptions());
    }

    @Test
    void threadsAreAGraftSettingThatRefusesToDoNothing() {
        int running = Graft.threads();
        Graft.setThreads(running);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Graft.setThreads(running + 1));
        assertTrue(e.getMessage().contains("already runs with " + running), e.getMessage());
        System.setProperty("graft.threads", Integer.toString(running));
        assertThrows(IllegalArgumentException.class, () -> Graft.setThreads(0));
    }
}
