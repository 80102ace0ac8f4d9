package dev.graft.conformance.data;

import dev.graft.conformance.Required;
import dev.graft.conformance.SharedData;
import dev.graft.formats.data.ArffDataset;
import dev.graft.formats.data.ArffReader;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The ARFF reader on the real Reuters-21578 Grain test file (Debian weka's copy). */
class ReutersArffTest {

    @Test
    void readsTheSharedReutersFiles() {
        Path file = Required.present(SharedData.dataFile("reuters", "ReutersGrain-test.arff.gz"),
                "the Reuters Grain test file");
        ArffDataset d = ArffReader.read(file);
        assertEquals(604, d.size());
        int[] labels = d.nominalIndices("class-att");
        int positives = 0;
        for (int l : labels) {
            assertTrue(l == 0 || l == 1);
            positives += l;
        }
        assertTrue(positives > 0 && positives < 604);
        assertTrue(d.strings("Text").get(0).startsWith("ASIAN EXPORTERS FEAR DAMAGE"));
        assertTrue(d.strings("Text").get(0).contains("\n"), "escaped newlines are decoded");
    }
}
