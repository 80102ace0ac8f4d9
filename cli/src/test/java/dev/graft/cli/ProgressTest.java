package dev.graft.cli;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Plain (non-terminal) progress: a few lines per task, and a time estimate only once there is a rate. */
class ProgressTest {
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private long now;
    private final Progress progress = new Progress(new PrintStream(bytes, true, StandardCharsets.UTF_8), false,
            () -> now);

    private List<String> lines() {
        return bytes.toString(StandardCharsets.UTF_8).lines().toList();
    }

    @Test
    void aShortTaskIsOneLineWithItsFinalState() {
        for (int i = 1; i <= 19; i++) {
            now += 300_000_000L;     // 0.3 s a step: 5.7 s in all
            progress.progress(i, 19, "Reuters test documents");
        }
        progress.finishLine();
        List<String> lines = lines();
        assertEquals(1, lines.size(), lines.toString());
        assertTrue(lines.get(0).contains("19/19"), lines.get(0));
        assertFalse(lines.get(0).contains("left"), "nothing is left at the end: " + lines.get(0));
    }

    @Test
    void aLongTaskIsAFewLinesNotOnePerTenth() {
        int total = 1000;
        for (int i = 1; i <= total; i++) {
            now += 60_000_000L;      // 60 s in all
            progress.progress(i, total, "embedding documents");
        }
        progress.finishLine();
        List<String> lines = lines();
        assertEquals(3, lines.size(), "at 10 s, 30 s and the end: " + lines);
        assertTrue(lines.getLast().contains("1000/1000"), lines.toString());
    }

    @Test
    void aTwentyMinuteTaskIsSevenLines() {
        for (int i = 1; i <= 1200; i++) {
            now += 1_000_000_000L;
            progress.progress(i, 1200, "epoch 1/1  loss 0.5");
        }
        progress.finishLine();
        assertEquals(7, lines().size(), "at 10, 30, 70, 150, 310, 630 s (1270 s is past the end), then the end: "
                + lines());
    }

    @Test
    void epochsOfOneTrainingAreOneTask() {
        for (int epoch = 1; epoch <= 10; epoch++) {
            for (int seen = 100; seen <= 1000; seen += 100) {
                now += 100_000_000L;  // 1 s an epoch, 10 s in all
                progress.progress(seen, 1000, "epoch " + epoch + "/10  loss 0.1");
            }
        }
        progress.finishLine();
        List<String> lines = lines();
        assertEquals(1, lines.size(), lines.toString());
        assertTrue(lines.get(0).startsWith("epoch 10/10"), lines.toString());
    }

    @Test
    void noEstimateBeforeThereIsARate() {
        now = 1;
        progress.progress(1, 19, "Reuters test documents");   // the first report: no rate yet
        assertFalse(Progress.line("x", 1, 19, 0.0, -1).contains("left"));
        now += Progress.PLAIN_FIRST_NANOS;                     // the first line is due 10 s after the first report
        progress.progress(2, 19, "Reuters test documents");
        List<String> lines = lines();
        assertEquals(1, lines.size(), lines.toString());
        assertTrue(lines.get(0).contains("about 170 s left"), lines.get(0));   // 10 s a step, 17 steps
    }

    @Test
    void anotherTaskEndsThePreviousOne() {
        now += 1_000_000_000L;
        progress.progress(4, 4, "calibration batch 4");
        now += 1_000_000_000L;
        progress.progress(1, 10, "photos");
        now += 1_000_000_000L;
        progress.progress(10, 10, "photos");
        progress.finishLine();
        List<String> lines = lines();
        assertEquals(2, lines.size(), lines.toString());
        assertTrue(lines.get(0).startsWith("calibration batch 4 ") && lines.get(1).startsWith("photos "),
                lines.toString());
    }
}
