package dev.graft.cli;

import dev.graft.GraftFile;
import dev.graft.engine.Module;
import dev.graft.engine.quant.QConfig;
import dev.graft.engine.quant.QConfigMapping;
import dev.graft.engine.quant.passes.DynamicQuantizer;
import dev.graft.engine.quant.passes.StaticQuantizer;
import dev.graft.engine.save.SavedModel;
import dev.graft.engine.trace.Partition;
import dev.graft.engine.trace.Partitioner;
import dev.graft.formats.text.BertTokenizer;
import dev.graft.models.bert.MiniLm;
import dev.graft.models.nanodet.NanoDetDetector;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Save and load round-trips the three reference models bit-identically, as the end-to-end issue asks. */
class SavedModelRoundTripTest {
    @TempDir
    Path dir;

    private Partition quantize(ReferenceModels.Example ex, String approach) throws Exception {
        Partition p = Partitioner.partition(ex.model(), ex.inputs());
        if (approach.equals("dynamic")) {
            DynamicQuantizer.quantize(p, new QConfigMapping().global(QConfig.dynamicDefault()), false);
        } else {
            QConfigMapping m = ex.name().equals("minilm") ? MiniLm.staticMapping("bert") : StaticQuantizer.defaultMapping();
            StaticQuantizer.Prepared prepared = StaticQuantizer.prepare(p, m);
            StaticQuantizer.calibrate(prepared, List.<Object[]>of(ex.inputs()), (a, b, c) -> { });
            StaticQuantizer.convert(prepared);
        }
        return p;
    }

    private SavedModel.Loaded roundTrip(Partition p, String name) throws Exception {
        Path file = dir.resolve(name + ".graft");
        GraftFile.write(file, p, Map.of("approach", name));
        assertTrue(Files.size(file) > 1000, "file written");
        SavedModel.Loaded loaded = GraftFile.read(file);
        assertEquals(p.describe(), loaded.partition().describe(), "partition tree survives");
        return loaded;
    }

    private static void assertSameOutputs(Module a, Module b, Object[] inputs, String what) {
        Object x = a.callAny(inputs);
        Object y = b.callAny(inputs);
        assertArrayEquals(((Tensor) x).toFloatArray(), ((Tensor) y).toFloatArray(), 0f, what);
    }

    @Test
    void miniLmDynamicAndStaticAtEveryLength() throws Exception {
        for (String approach : List.of("dynamic", "static")) {
            ReferenceModels.Example ex = ReferenceModels.minilm();
            Partition p = quantize(ex, approach);
            SavedModel.Loaded loaded = roundTrip(p, "minilm-" + approach);
            assertSameOutputs(p.model(), loaded.model(), ex.inputs(), approach + " example inputs");
            BertTokenizer.Batch other = MiniLm.tokenizer().encodeBatch(List.of("Wheat.", "Grain exports to the Soviet"
                    + " Union rose sharply this year, the agriculture department said on Tuesday."), 64);
            assertSameOutputs(p.model(), loaded.model(), new Object[] {other.inputIds(), other.attentionMask(),
                    other.tokenTypeIds()}, approach + " other batch and length");
        }
    }

    @Test
    void cnnStatic() throws Exception {
        ReferenceModels.Example ex = ReferenceModels.cnn();
        Partition p = quantize(ex, "static");
        SavedModel.Loaded loaded = roundTrip(p, "cnn");
        assertSameOutputs(p.model(), loaded.model(), ex.inputs(), "cnn");
        Tensor one = ((Tensor) ex.inputs()[0]).narrow(0, 1, 1);
        assertSameOutputs(p.model(), loaded.model(), new Object[] {one}, "cnn batch 1");
    }

    @Test
    void nanoDetStatic() throws Exception {
        ReferenceModels.Example ex = ReferenceModels.nanodet();
        Partition p = quantize(ex, "static");
        SavedModel.Loaded loaded = roundTrip(p, "nanodet");
        Object a = p.model().callAny(ex.inputs());
        Object b = loaded.model().callAny(ex.inputs());
        assertEquals(a.toString(), b.toString(), "same detections");
        NanoDetDetector da = (NanoDetDetector) p.model();
        NanoDetDetector db = (NanoDetDetector) loaded.model();
        Tensor[] ra = da.rawOutputs((Tensor) ex.inputs()[0]);
        Tensor[] rb = db.rawOutputs((Tensor) ex.inputs()[0]);
        for (int i = 0; i < ra.length; i++) {
            assertArrayEquals(ra[i].toFloatArray(), rb[i].toFloatArray(), 0f, "raw output " + i);
        }
    }
}
