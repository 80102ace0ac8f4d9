package dev.graft.engine.io;

import dev.graft.ops.DType;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

class SafetensorsTest {

    static Map<String, Tensor> sample() {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("conv.weight", Tensor.of(new float[] {1.5f, -2f, 0f, Float.MIN_VALUE, 3e30f, -0f}, 2, 3));
        m.put("ids", Tensor.ofInts(new int[] {7, -1, Integer.MAX_VALUE}, 3));
        m.put("big", Tensor.ofLongs(new long[] {Long.MIN_VALUE, 42}, 2));
        m.put("q", Tensor.ofBytes(DType.INT8, new byte[] {-128, 127}, 2));
        m.put("pixels", Tensor.ofBytes(DType.UINT8, new byte[] {(byte) 255, 0, 9}, 1, 3));
        m.put("mask", Tensor.ofBools(new boolean[] {true, false}, 2));
        m.put("scalar", Tensor.scalar(0.25f));
        m.put("empty", Tensor.zeros(0, 4));
        return m;
    }

    static void assertSame(Map<String, Tensor> expected, Map<String, Tensor> actual) {
        assertEquals(expected.keySet(), actual.keySet());
        for (String k : expected.keySet()) {
            Tensor e = expected.get(k);
            Tensor a = actual.get(k);
            assertEquals(e.dtype(), a.dtype(), k);
            assertArrayEquals(e.shape(), a.shape(), k);
            if (e.dtype() == DType.FLOAT32) {
                assertArrayEquals(e.toFloatArray(), a.toFloatArray(), k);
            } else {
                assertArrayEquals(e.toLongArray(), a.toLongArray(), k);
            }
        }
    }

    @Test
    void roundTripsEveryDtypeAndMetadata(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("model.safetensors");
        Safetensors.write(file, sample(), Map.of("format", "pt", "graft", "1"));
        Safetensors.Contents c = Safetensors.readContents(file);
        assertSame(sample(), c.tensors());
        assertEquals(Map.of("format", "pt", "graft", "1"), c.metadata());
        byte[] bytes = Files.readAllBytes(file);
        long headerLength = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, headerLength % 8, "header padded to 8 bytes");
        try (var files = Files.list(dir)) {
            assertEquals(List.of(file), files.toList(), "no temporary file left behind");
        }
    }

    @Test
    void readsAFileWrittenByHand() {
        // As the Python library writes it: F16 and BF16 too, which read as float32.
        String header = "{\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]},"
                + "\"b\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[4,6]},\"__metadata__\":{\"k\":\"v\"}}";
        ByteBuffer data = ByteBuffer.allocate(6).order(ByteOrder.LITTLE_ENDIAN);
        data.putShort(Float.floatToFloat16(1.5f)).putShort(Float.floatToFloat16(-2f));
        data.putShort((short) (Float.floatToIntBits(3.0f) >>> 16));
        byte[] bytes = file(header, data.array());
        Safetensors.Contents c = Safetensors.parse(bytes, null);
        assertArrayEquals(new float[] {1.5f, -2f}, c.tensors().get("a").toFloatArray());
        assertArrayEquals(new float[] {3f}, c.tensors().get("b").toFloatArray());
        assertEquals(Map.of("k", "v"), c.metadata());
        // The data order, not the header order, decides the map order.
        assertEquals(List.of("a", "b"), List.copyOf(c.tensors().keySet()));
    }

    @Test
    void everyTruncationIsAFormatException() {
        byte[] bytes = Safetensors.toBytes(sample(), Map.of("m", "x"));
        for (int len = 0; len < bytes.length; len++) {
            byte[] prefix = Arrays.copyOf(bytes, len);
            try {
                Safetensors.parse(prefix, Path.of("t.safetensors"));
                fail("a " + len + "-byte prefix of " + bytes.length + " was accepted");
            } catch (FormatException expected) {
                // the only acceptable outcome
            } catch (RuntimeException other) {
                throw new AssertionError("prefix of " + len + " bytes gave " + other, other);
            }
        }
    }

    @Test
    void everySingleByteCorruptionOfTheHeaderIsAFormatExceptionOrReadsCleanly() {
        byte[] bytes = Safetensors.toBytes(sample(), Map.of());
        int headerEnd = 8 + (int) ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
        for (int i = 0; i < headerEnd; i++) {
            for (int flip : new int[] {0x01, 0x20, 0x80}) {
                byte[] bad = bytes.clone();
                bad[i] ^= (byte) flip;
                try {
                    Safetensors.parse(bad, null);
                } catch (FormatException expected) {
                    // fine
                } catch (RuntimeException other) {
                    throw new AssertionError("flipping 0x" + Integer.toHexString(flip) + " at byte " + i + " gave "
                            + other, other);
                }
            }
        }
    }

    @Test
    void refusesInconsistentHeaders() {
        byte[] eight = new byte[8];
        assertBad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", eight, "needs 8 bytes");
        assertBad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[2,6]}}", eight, "overlap");
        assertBad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", eight, "hole");
        assertBad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", eight, "trailing");
        assertBad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[4], "truncated");
        assertBad("{\"a\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}", eight, "unsupported dtype");
        assertBad("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", eight, "non-negative");
        assertBad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", eight, "end before");
        assertBad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", eight, "data_offsets");
        assertBad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", eight, "Duplicate");
        assertBad("{\"a\":", eight, "malformed JSON");
        assertBad("[1, 2]", eight, "starting with '{'");
        assertBad("{\"__metadata__\":{\"k\":3}}", new byte[0], "must be a string");
        assertBad("{\"m\":{\"dtype\":\"BOOL\",\"shape\":[1],\"data_offsets\":[0,1]}}", new byte[] {2},
                "neither 0 nor 1");
        byte[] huge = new byte[16];
        ByteBuffer.wrap(huge).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 40);
        FormatException e = assertThrows(FormatException.class, () -> Safetensors.parse(huge, null));
        assertTrue(e.getMessage().contains("header length"), e.getMessage());
    }

    private static void assertBad(String header, byte[] data, String expected) {
        FormatException e = assertThrows(FormatException.class, () -> Safetensors.parse(file(header, data), null));
        assertTrue(e.getMessage().contains(expected), "expected '" + expected + "' in: " + e.getMessage());
    }

    static byte[] file(String header, byte[] data) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        return b.array();
    }

    @Test
    void aFailedWriteLeavesTheOldFileAlone(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("keep.safetensors");
        Safetensors.write(file, Map.of("x", Tensor.of(new float[] {1f}, 1)));
        byte[] before = Files.readAllBytes(file);
        Tensor quantized = Tensor.of(new float[] {0.5f}, 1).quantize(0.1f, 0, DType.INT8);
        assertThrows(IllegalArgumentException.class, () -> Safetensors.write(file, Map.of("q", quantized)));
        assertArrayEquals(before, Files.readAllBytes(file));
        try (var files = Files.list(dir)) {
            assertEquals(1, files.count());
        }
    }

    @Test
    void missingFileIsAFormatException(@TempDir Path dir) {
        FormatException e = assertThrows(FormatException.class, () -> Safetensors.read(dir.resolve("nope")));
        assertTrue(e.getMessage().contains("not found"));
    }
}
