package dev.graft.spark;

import dev.graft.Graft;
import dev.graft.models.bert.BertModel;
import dev.graft.models.bert.SentenceClassifier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The per-JVM cache without Spark: many threads, one load; new bytes, a new load; a damaged file, one error each. */
class ModelCacheTest {
    private static final int THREADS = 6;

    /** Runs {@code task} on {@link #THREADS} threads released at the same moment; their results in order. */
    private static <T> List<Future<T>> atOnce(Callable<T> task) throws Exception {
        CyclicBarrier start = new CyclicBarrier(THREADS);
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            List<Future<T>> out = new ArrayList<>();
            for (int i = 0; i < THREADS; i++) {
                out.add(pool.submit(() -> {
                    start.await();
                    return task.call();
                }));
            }
            for (Future<T> f : out) {
                try {
                    f.get();
                } catch (ExecutionException e) {
                    // inspected by the caller
                }
            }
            return out;
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void threadsAskingForOneFileAtOnceShareOneLoad(@TempDir Path dir) throws Exception {
        Path file = TinyModels.encoder(dir.resolve("encoder.graft"));
        ModelCache.clear();
        List<Future<Graft.Quantized>> got = atOnce(() -> ModelCache.model(file.toString()));
        Graft.Quantized first = got.get(0).get();
        for (Future<Graft.Quantized> f : got) {
            assertSame(first, f.get(), "every thread gets the one loaded model");
        }
        assertEquals(1, ModelCache.loads(), THREADS + " threads at once, one file: one load");
        // Another name for the same file (a relative path through a symlink) is the same entry.
        Path link = Files.createSymbolicLink(dir.resolve("link.graft"), file);
        assertSame(first, ModelCache.model(link.toString()));
        assertEquals(1, ModelCache.loads());
    }

    @Test
    void aFileRewrittenInPlaceIsReadAgain(@TempDir Path dir) throws Exception {
        Path file = TinyModels.encoder(dir.resolve("model.graft"));
        ModelCache.clear();
        Graft.Quantized before = ModelCache.model(file.toString());
        assertInstanceOf(BertModel.class, before.model());
        Path other = TinyModels.classifier(dir.resolve("classifier.graft"));
        Files.move(other, file, StandardCopyOption.REPLACE_EXISTING);
        Graft.Quantized after = ModelCache.model(file.toString());
        assertNotSame(before, after);
        assertInstanceOf(SentenceClassifier.class, after.model(), "the new bytes, not the old entry");
        assertEquals(2, ModelCache.loads());
        assertSame(after, ModelCache.model(file.toString()));
        assertEquals(2, ModelCache.loads());
    }

    @Test
    void aDamagedFileGivesEveryWaitingThreadGraftsErrorAndIsReadAgainOnceFixed(@TempDir Path dir)
            throws Exception {
        Path good = TinyModels.encoder(dir.resolve("good.graft"));
        Path file = dir.resolve("model.graft");
        byte[] bytes = Files.readAllBytes(good);
        Files.write(file, java.util.Arrays.copyOf(bytes, bytes.length / 3));
        ModelCache.clear();
        List<Future<Graft.Quantized>> got = atOnce(() -> ModelCache.model(file.toString()));
        for (Future<Graft.Quantized> f : got) {
            ExecutionException e = assertThrows(ExecutionException.class, f::get);
            ModelFileException m = assertInstanceOf(ModelFileException.class, e.getCause());
            assertEquals(file.toRealPath(), m.file());
            assertTrue(m.getMessage().contains("(on " + m.host() + ")"), m.getMessage());
        }
        assertEquals(0, ModelCache.loads(), "nothing was loaded");
        Files.write(file, bytes);
        assertInstanceOf(BertModel.class, ModelCache.model(file.toString()).model());
        assertEquals(1, ModelCache.loads());
    }
}
