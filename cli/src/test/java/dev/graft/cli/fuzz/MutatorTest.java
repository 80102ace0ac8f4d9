package dev.graft.cli.fuzz;

import dev.graft.engine.io.Json;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The mutator itself must never fail: an input it cannot make would stop a long fuzz run (it did, at input 70,273). */
class MutatorTest {
    private static final byte[] MANIFEST = ("{\"modelTopology\": {\"node\": [{\"name\": \"x\", \"op\": \"Placeholder\","
            + " \"attr\": {\"shape\": {\"shape\": {\"dim\": [{\"size\": \"1\"}, {\"size\": \"3\"}]}}}},"
            + " {\"name\": \"y\", \"op\": \"Relu\", \"input\": [\"x\"]}]}, \"weightsManifest\": [{\"paths\":"
            + " [\"w.bin\"], \"weights\": [{\"name\": \"w\", \"shape\": [3, 3], \"dtype\": \"float32\"}]}]}")
            .getBytes(StandardCharsets.UTF_8);

    /**
     * Several JSON edits of one input may each nest a value 1,200 deep; two such nestings used to overflow the
     * fuzzer's own walk over the tree. Run on a thread with a small stack so that a deep walk shows.
     */
    @Test
    void jsonEditsOfOneInputNeverOverflowTheStack() throws Exception {
        Object seed = Json.parse(MANIFEST);
        AtomicReference<Throwable> failed = new AtomicReference<>();
        int[] deep = {0};
        Thread t = new Thread(null, () -> {
            try {
                for (int i = 0; i < 3000; i++) {
                    Mutator.Mutant m = Mutator.json(seed, new Random(Fuzzer.mix(i)));
                    if (m.description().contains(" deep")) {
                        deep[0]++;
                    }
                }
            } catch (Throwable e) {
                failed.set(e);
            }
        }, "mutator", 512 << 10);
        t.start();
        t.join();
        assertNull(failed.get(), () -> "the mutator failed: " + failed.get());
        assertTrue(deep[0] > 100, "deep nestings are still made: " + deep[0]);
    }
}
