package dev.graft.spark;

import dev.graft.Graft;
import dev.graft.engine.io.FormatException;
import dev.graft.formats.text.BertTokenizer;
import dev.graft.models.bert.MiniLm;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.zip.CRC32C;

/**
 * What one JVM (a Spark executor, or the driver in local mode) has loaded: Graft models and tokenizers, each read
 * once however many tasks ask for it, keyed by the file's real path and a CRC32C of its bytes. A file rewritten in
 * place gets a new checksum and so a new entry (the old one is dropped); the same bytes under two names share
 * nothing, which keeps the key honest about what was read.
 *
 * <p>Thread-safe: tasks running in parallel on one executor that ask for the same file wait for the one load in
 * progress ({@link CompletableFuture} per key) rather than loading it twice. A load that fails is forgotten, so a
 * later task tries again (after the file was fixed); every task waiting on it gets the same error.
 *
 * <p>The checksum costs one read of the file per task (MiniLM, 23 MB as dynamic INT8: tens of milliseconds from the page
 * cache, against seconds for building the model); the model itself is built once per JVM. Loaded Graft models are
 * safe to call from many threads at once ({@code Graft.Quantized#model()}).
 */
public final class ModelCache {

    /** Which file, which bytes, and how they are read (a model and a tokenizer could share nothing else). */
    private record Key(Path file, long crc32c, String kind) {
    }

    private static final Map<Key, CompletableFuture<Object>> ENTRIES = new ConcurrentHashMap<>();
    /** Loads actually done (not lookups): what the cache test counts. */
    private static final java.util.concurrent.atomic.AtomicLong LOADS = new java.util.concurrent.atomic.AtomicLong();

    private ModelCache() {
    }

    /** The Graft model saved in {@code file} ({@link Graft#load}), loaded once per JVM and checksum. */
    public static Graft.Quantized model(String file) {
        return (Graft.Quantized) get(file, "graft", Graft::load);
    }

    /**
     * A BERT WordPiece tokenizer ({@code tokenizer.json}); {@code null} or empty means all-MiniLM-L6-v2's, read from
     * the class path.
     */
    public static BertTokenizer tokenizer(String file) {
        if (file == null || file.isEmpty()) {
            return (BertTokenizer) load(new Key(Path.of("classpath:minilm"), 0, "tokenizer"), MiniLm::tokenizer,
                    false);
        }
        return (BertTokenizer) get(file, "tokenizer", BertTokenizer::fromJson);
    }

    /** How many files this JVM actually read into models or tokenizers since it started (or {@link #clear()}). */
    public static long loads() {
        return LOADS.get();
    }

    /** Forgets everything (tests; or to free an executor's memory between jobs). */
    public static void clear() {
        ENTRIES.clear();
        LOADS.set(0);
    }

    private static Object get(String name, String kind, Function<Path, Object> loader) {
        Path given = Path.of(name);
        Path file;
        long crc;
        try {
            file = given.toRealPath();
            crc = crc32c(file);
        } catch (IOException e) {
            // Graft's own reader would say the same ("no such file"); say it here, with the executor's name.
            throw new ModelFileException(new FormatException(given, -1, "no such file (or unreadable: "
                    + e.getMessage() + ")"));
        }
        Key key = new Key(file, crc, kind);
        // A rewritten file: drop what was loaded from its old bytes.
        ENTRIES.keySet().removeIf(k -> k.file().equals(file) && k.kind().equals(kind) && k.crc32c() != crc);
        return load(key, () -> loader.apply(file), true);
    }

    /**
     * The entry for {@code key}, loading it on this thread when no other has; a failed load is forgotten.
     * {@code file}: a file read, which {@link #loads()} counts (the class path's tokenizer is not).
     */
    private static Object load(Key key, Supplier<Object> loader, boolean file) {
        CompletableFuture<Object> mine = new CompletableFuture<>();
        CompletableFuture<Object> entry = ENTRIES.putIfAbsent(key, mine);
        if (entry == null) {
            entry = mine;
            try {
                mine.complete(loader.get());
                if (file) {
                    LOADS.incrementAndGet();
                }
            } catch (RuntimeException | Error e) {
                ENTRIES.remove(key, mine);
                mine.completeExceptionally(e);
            }
        }
        try {
            return entry.join();
        } catch (CompletionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof FormatException f) {
                throw new ModelFileException(f);
            }
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            throw (Error) cause;
        }
    }

    static long crc32c(Path file) throws IOException {
        CRC32C crc = new CRC32C();
        byte[] buffer = new byte[1 << 20];
        try (InputStream in = Files.newInputStream(file)) {
            for (int n; (n = in.read(buffer)) > 0; ) {
                crc.update(buffer, 0, n);
            }
        }
        return crc.getValue();
    }
}
