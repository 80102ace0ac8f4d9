package dev.graft.conformance;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.opentest4j.TestAbortedException;

import java.nio.file.Path;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/** A data set the tests cannot find says where they looked and how to get it, in the skip message. */
class SharedDataLookupTest {
    @TempDir
    Path cache;

    @Test
    void aMissSaysWhereItLookedAndHowToFetch() {
        assumeFalse(Required.onCi(), "checks the skip message, which CI=true turns into a failure");
        String fetch = System.getProperty(SharedData.FETCH);
        String dataDir = System.getProperty("graft.data.dir");
        System.clearProperty(SharedData.FETCH);                 // this test must not download anything
        System.setProperty("graft.data.dir", cache.toString());
        try {
            assertEquals(Optional.empty(), SharedData.dataFile("mnist", "no-such-file.gz"));
            TestAbortedException skip = assertThrows(TestAbortedException.class,
                    () -> Required.present(SharedData.dataFile("mnist", "no-such-file.gz"), "the MNIST data set"));
            String m = skip.getMessage();
            assertTrue(m.contains("missing: the MNIST data set") && m.contains("data set mnist")
                    && m.contains(cache.toString()) && m.contains("./graft demo fetches it there")
                    && m.contains("-D" + SharedData.FETCH + "=true"), m);
            assertNull(SharedData.takeLastMiss(), "a miss is reported once");
        } finally {
            restore(SharedData.FETCH, fetch);
            restore("graft.data.dir", dataDir);
        }
    }

    private static void restore(String key, String value) {
        if (value == null) {
            System.clearProperty(key);
        } else {
            System.setProperty(key, value);
        }
    }
}
