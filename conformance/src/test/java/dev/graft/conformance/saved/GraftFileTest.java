package dev.graft.conformance.saved;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.graft.GraftFile;
import dev.graft.engine.Init;
import dev.graft.engine.io.FormatException;
import dev.graft.engine.quant.passes.StaticQuantizer;
import dev.graft.engine.save.SavedModel;
import dev.graft.engine.trace.Partition;
import dev.graft.engine.trace.Partitioner;
import dev.graft.models.mnist.MnistCnn;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.UnaryOperator;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A .graft file round-trips, and every kind of damage is reported as a FormatException naming what is wrong. */
class GraftFileTest {
    @TempDir
    static Path dir;
    static Path good;
    static Partition partition;
    static Tensor input;

    @BeforeAll
    static void saveAStaticCnn() {
        Init.manualSeed(3);
        MnistCnn cnn = new MnistCnn(0.999f);
        cnn.eval();
        input = Tensor.rand(new Random(4), 0f, 1f, 2, 1, 28, 28);
        partition = Partitioner.partition(cnn, input);
        StaticQuantizer.Prepared p = StaticQuantizer.prepare(partition, StaticQuantizer.defaultMapping());
        List<Object[]> calib = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            calib.add(new Object[] {Tensor.rand(new Random(10 + i), 0f, 1f, 4, 1, 28, 28)});
        }
        StaticQuantizer.calibrate(p, calib, (a, b, c) -> { });
        StaticQuantizer.convert(p);
        good = dir.resolve("cnn.graft");
        GraftFile.write(good, partition, Map.of("approach", "static", "calibration_batches", 3));
    }

    @Test
    void roundTripIsBitIdenticalAndKeepsInfo() {
        SavedModel.Loaded loaded = GraftFile.read(good);
        assertArrayEquals(partition.model().call(input).toFloatArray(), loaded.model().call(input).toFloatArray(), 0f);
        assertEquals("static", loaded.info().get("approach"));
        assertEquals(3, loaded.info().get("calibration_batches"));
        assertEquals(partition.blocks().keySet(), loaded.partition().blocks().keySet());
    }

    @Test
    void truncatedFilesAreRefused() throws Exception {
        byte[] bytes = Files.readAllBytes(good);
        for (int cut : new int[] {0, 3, 100, bytes.length / 2, bytes.length - 1}) {
            Path f = dir.resolve("cut" + cut + ".graft");
            Files.write(f, java.util.Arrays.copyOf(bytes, cut));
            FormatException e = assertThrows(FormatException.class, () -> GraftFile.read(f), "cut at " + cut);
            assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
        }
    }

    /**
     * Every region of a real file: each byte of the headers, the JSON members and the central directory, and every
     * 7th byte of the tensor data (whose every byte is covered the same way: CRC-32, SHA-256, CRC-32C), flipped one
     * at a time. Every damaged copy must be refused with a FormatException naming the file; none may load.
     */
    @Test
    void everyFlippedByteIsRefused() throws Exception {
        byte[] bytes = Files.readAllBytes(good);
        int[] tensorData = tensorDataRange(bytes);
        int tried = 0;
        Path f = dir.resolve("flip.graft");
        for (int at = 0; at < bytes.length; at++) {
            boolean inData = at >= tensorData[0] && at < tensorData[1];
            if (inData && (at - tensorData[0]) % 7 != 0) {
                continue;
            }
            byte[] copy = bytes.clone();
            copy[at] ^= (byte) (1 << (at % 8));
            int where = at;
            FormatException e = assertThrows(FormatException.class, () -> GraftFile.readContents(copy, f),
                    "flipped byte " + where + " loaded");
            assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
            if (inData) {
                assertTrue(e.getMessage().contains("tensor '"), "names the damaged tensor: " + e.getMessage());
            }
            tried++;
        }
        assertTrue(tried > 1000, "flipped " + tried + " bytes");
    }

    /** Where the tensors member's data section lies in the file (after its safetensors header). */
    private static int[] tensorDataRange(byte[] file) throws Exception {
        try (ZipFile zip = new ZipFile(good.toFile())) {
            byte[] tensors = zip.getInputStream(zip.getEntry(GraftFile.TENSORS)).readAllBytes();
            int memberStart = indexOf(file, tensors);
            long header = java.nio.ByteBuffer.wrap(tensors).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong(0);
            return new int[] {memberStart + 8 + (int) header, memberStart + tensors.length};
        }
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            if (java.util.Arrays.equals(haystack, i, i + needle.length, needle, 0, needle.length)) {
                return i;
            }
        }
        throw new AssertionError("member not found in the file");
    }

    @Test
    void aFileOfTheFirstFormatIsRefusedWithAClearMessage() throws Exception {
        ObjectMapper json = new ObjectMapper();
        Map<String, Object> manifest;
        byte[] tensors;
        try (ZipFile zip = new ZipFile(good.toFile())) {
            manifest = json.readValue(zip.getInputStream(zip.getEntry(GraftFile.MANIFEST)), Map.class);
            tensors = zip.getInputStream(zip.getEntry(GraftFile.TENSORS)).readAllBytes();
        }
        manifest.put("version", 1);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(out)) {    // the version 1 layout: two members, deflated JSON
            zip.putNextEntry(new ZipEntry(GraftFile.MANIFEST));
            zip.write(json.writeValueAsBytes(manifest));
            zip.closeEntry();
            zip.putNextEntry(new ZipEntry(GraftFile.TENSORS));
            zip.write(tensors);
            zip.closeEntry();
        }
        Path f = dir.resolve("v1.graft");
        Files.write(f, out.toByteArray());
        FormatException e = assertThrows(FormatException.class, () -> GraftFile.read(f));
        assertTrue(e.getMessage().contains("format version 1") && e.getMessage().contains("quantize the model again"),
                e.getMessage());
    }

    @Test
    void theSameModelGivesTheSameBytes() throws Exception {
        Path a = dir.resolve("same.graft");
        GraftFile.write(a, partition, Map.of("approach", "static", "calibration_batches", 3));
        assertArrayEquals(Files.readAllBytes(good), Files.readAllBytes(a));
    }

    @Test
    void notAZipIsNamedAsSuch() throws Exception {
        Path f = dir.resolve("plain.graft");
        Files.writeString(f, "{\"format\": \"graft-quantized-model\"}");
        FormatException e = assertThrows(FormatException.class, () -> GraftFile.read(f));
        assertTrue(e.getMessage().contains("not a Graft model file"), e.getMessage());
    }

    @Test
    void wrongVersionUnknownOperatorUnknownClassAndMissingTensorAreNamed() throws Exception {
        expect(m -> {
            m.put("version", 99);
            return m;
        }, "version 99 is not supported");
        expect(m -> {
            firstNodeWithTarget(m, "quantize_per_tensor").put("target", "quantize_per_tensr");
            return m;
        }, "unknown operator 'quantize_per_tensr'");
        expect(m -> {
            model(m).put("class", "java.lang.Thread");
            return m;
        }, "is not a Savable Module");
        expect(m -> {
            model(m).put("class", "com.example.Missing");
            return m;
        }, "unknown module class com.example.Missing");
        expect(m -> {
            Map<String, Object> node = firstNodeWithTarget(m, "quantize_per_tensor");
            node.put("args", List.of(Map.of("node", "no_such_node")));
            return m;
        }, "uses node 'no_such_node', which is not defined before it");
        expect(m -> {
            block(m).put("modules", Map.of());
            return m;
        }, "does not exist");
    }

    @Test
    void aTensorMissingFromTheTableIsNamed() throws Exception {
        Path f = rewrite("missing.graft", UnaryOperator.identity(), true);
        FormatException e = assertThrows(FormatException.class, () -> GraftFile.read(f));
        assertTrue(e.getMessage().contains("is missing from the file"), e.getMessage());
    }

    @Test
    void writingIsAtomic() throws Exception {
        Path target = dir.resolve("atomic.graft");
        Files.copy(good, target);
        byte[] before = Files.readAllBytes(target);
        dev.graft.engine.Module notSavable = new dev.graft.engine.Module() {
            private final dev.graft.engine.Submodule fc = submodule("fc", new dev.graft.engine.nn.Linear(2, 2));

            @Override
            protected Tensor forward(Tensor... inputs) {
                Tensor x = fc.call(inputs[0]);
                return x.sum().item() > 0 ? x : x.neg();    // control flow: the root stays eager glue
            }
        };
        Partition p = Partitioner.partition(notSavable, Tensor.ones(1, 2));
        FormatException e = assertThrows(FormatException.class, () -> GraftFile.write(target, p, Map.of()));
        assertTrue(e.getMessage().contains("does not implement Savable"), e.getMessage());
        assertArrayEquals(before, Files.readAllBytes(target), "a failed write leaves the old file untouched");
        try (var files = Files.list(dir)) {
            assertTrue(files.noneMatch(f -> f.getFileName().toString().endsWith(".tmp")), "no temporary file left");
        }
    }

    // ---------------------------------------------------------------- helpers

    private void expect(UnaryOperator<Map<String, Object>> edit, String message) throws Exception {
        Path f = rewrite("edited.graft", edit, false);
        FormatException e = assertThrows(FormatException.class, () -> GraftFile.read(f), message);
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }

    @SuppressWarnings("unchecked")
    private Path rewrite(String name, UnaryOperator<Map<String, Object>> edit, boolean dropATensor) throws Exception {
        ObjectMapper json = new ObjectMapper();
        Map<String, Object> manifest;
        byte[] tensors;
        try (ZipFile zip = new ZipFile(good.toFile())) {
            manifest = json.readValue(zip.getInputStream(zip.getEntry(GraftFile.MANIFEST)), Map.class);
            tensors = zip.getInputStream(zip.getEntry(GraftFile.TENSORS)).readAllBytes();
        }
        manifest = edit.apply(manifest);
        if (dropATensor) {
            Map<String, Tensor> all = new java.util.LinkedHashMap<>(dev.graft.engine.io.Safetensors
                    .parse(tensors, null).tensors());
            String victim = all.keySet().stream().filter(k -> k.startsWith("blocks/")).findFirst().orElseThrow();
            all.remove(victim);
            tensors = dev.graft.engine.io.Safetensors.toBytes(all, Map.of());
        }
        Path f = dir.resolve(name);
        GraftFile.write(f, manifest, dev.graft.engine.io.Safetensors.parse(tensors, null).tensors());
        return f;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> model(Map<String, Object> m) {
        return (Map<String, Object>) m.get("model");
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> block(Map<String, Object> m) {
        return (Map<String, Object>) ((List<Object>) m.get("blocks")).get(0);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> firstNodeWithTarget(Map<String, Object> m, String target) {
        for (Object b : (List<Object>) m.get("blocks")) {
            for (Object g : (List<Object>) ((Map<String, Object>) b).get("graphs")) {
                for (Object n : (List<Object>) ((Map<String, Object>) g).get("nodes")) {
                    Map<String, Object> node = (Map<String, Object>) n;
                    if (target.equals(node.get("target"))) {
                        return node;
                    }
                }
            }
        }
        throw new AssertionError("no node with target " + target);
    }
}
