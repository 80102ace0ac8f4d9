package dev.graft.formats.data;

import dev.graft.engine.io.FormatException;
import dev.graft.ops.DType;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

class IdxReaderTest {

    /** A u8 [3, 2, 2] file: three 2x2 "images" with values 0..11. */
    static byte[] images() {
        ByteBuffer b = ByteBuffer.allocate(4 + 12 + 12);
        b.put((byte) 0).put((byte) 0).put((byte) 0x08).put((byte) 3).putInt(3).putInt(2).putInt(2);
        for (int i = 0; i < 12; i++) {
            b.put((byte) (i * 20));
        }
        return b.array();
    }

    static byte[] gzip(byte[] plain) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(plain);
        }
        return out.toByteArray();
    }

    @Test
    void readsPlainAndGzip() throws IOException {
        for (byte[] bytes : new byte[][] {images(), gzip(images())}) {
            Tensor t = IdxReader.read(new ByteArrayInputStream(bytes), null, Integer.MAX_VALUE);
            assertEquals(DType.UINT8, t.dtype());
            assertArrayEquals(new int[] {3, 2, 2}, t.shape());
            assertEquals(11 * 20, t.getLong(2, 1, 1));
        }
    }

    @Test
    void readsOnlyTheFirstItems() throws IOException {
        Tensor t = IdxReader.read(new ByteArrayInputStream(gzip(images())), null, 2);
        assertArrayEquals(new int[] {2, 2, 2}, t.shape());
        assertEquals(7 * 20, t.getLong(1, 1, 1));
    }

    @Test
    void readsWiderTypesBigEndian() {
        ByteBuffer b = ByteBuffer.allocate(4 + 4 + 8 + 2 * 4);
        b.put((byte) 0).put((byte) 0).put((byte) 0x0D).put((byte) 1).putInt(2).putFloat(1.5f).putFloat(-3f);
        Tensor f = IdxReader.read(new ByteArrayInputStream(Arrays.copyOf(b.array(), 16)), null, 10);
        assertArrayEquals(new float[] {1.5f, -3f}, f.toFloatArray());
        ByteBuffer c = ByteBuffer.allocate(4 + 4 + 4);
        c.put((byte) 0).put((byte) 0).put((byte) 0x0B).put((byte) 1).putInt(2);
        c.putShort((short) -2).putShort((short) 300);
        Tensor s = IdxReader.read(new ByteArrayInputStream(c.array()), null, 10);
        assertEquals(DType.INT32, s.dtype());
        assertArrayEquals(new long[] {-2, 300}, s.toLongArray());
    }

    @Test
    void everyTruncationIsAFormatException() throws IOException {
        for (byte[] whole : new byte[][] {images(), gzip(images())}) {
            for (int len = 0; len < whole.length; len++) {
                byte[] prefix = Arrays.copyOf(whole, len);
                try {
                    IdxReader.read(new ByteArrayInputStream(prefix), Path.of("x.idx"), Integer.MAX_VALUE);
                    fail("a " + len + "-byte prefix was accepted");
                } catch (FormatException expected) {
                    // the only acceptable outcome
                } catch (RuntimeException other) {
                    throw new AssertionError("prefix of " + len + " bytes gave " + other, other);
                }
            }
        }
    }

    @Test
    void badMagicAndTypeAreNamed() {
        byte[] bad = images();
        bad[1] = 7;
        FormatException e = assertThrows(FormatException.class,
                () -> IdxReader.read(new ByteArrayInputStream(bad), null, 10));
        assertTrue(e.getMessage().contains("magic"), e.getMessage());
        byte[] type = images();
        type[2] = 0x42;
        e = assertThrows(FormatException.class, () -> IdxReader.read(new ByteArrayInputStream(type), null, 10));
        assertTrue(e.getMessage().contains("type byte 0x42"), e.getMessage());
    }

    @Test
    void truncatedDataNamesTheOffset(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("short-idx3-ubyte.gz");
        Files.write(file, gzip(Arrays.copyOf(images(), 20)));
        FormatException e = assertThrows(FormatException.class, () -> IdxReader.read(file));
        assertTrue(e.getMessage().contains("truncated") && e.getMessage().contains("at byte 20"), e.getMessage());
        assertEquals(20, e.offset());
    }

    @Test
    void mnistHelpersScaleAndWiden(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("images.gz");
        Files.write(file, gzip(images()));
        Tensor x = IdxReader.readImages(file, 2);
        assertArrayEquals(new int[] {2, 1, 2, 2}, x.shape());
        assertEquals(60f / 255f, x.getFloat(0, 0, 1, 1), 1e-6);
        assertThrows(FormatException.class, () -> IdxReader.readLabels(file, 2));
    }
}
