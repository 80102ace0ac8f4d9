package dev.graft.cli;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The results table's latency loop: every call timed in the same rounds, in rotating order; median and spread. */
class ResultsTimingTest {
    @Test
    void medianAndHalfTheInterquartileRange() {
        ResultsTable.Timing t = ResultsTable.timing(new double[] {5, 1, 4, 2, 3});
        assertEquals(3.0, t.medianMs(), 1e-12);
        assertEquals(1.0, t.spreadMs(), 1e-12);   // quartiles 2 and 4
        assertEquals(5, t.calls());
        assertEquals("3.00 ± 1.00", t.text());
        assertEquals(2.5, ResultsTable.timing(new double[] {1, 2, 3, 4}).medianMs(), 1e-12);
    }

    @Test
    void everyCallRunsOncePerRoundAndNoneAlwaysFirst() {
        List<Integer> order = new ArrayList<>();
        List<Runnable> calls = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            int id = i;
            calls.add(() -> order.add(id));
        }
        ResultsTable.Timing[] t = ResultsTable.timeInterleaved(calls, 0, 0, 12, 12);
        assertEquals(3, t.length);
        for (ResultsTable.Timing x : t) {
            assertEquals(12, x.calls());
        }
        List<Integer> timed = order.subList(order.size() - 36, order.size());   // after the warm-up rounds
        for (int round = 0; round < 12; round++) {
            List<Integer> r = timed.subList(3 * round, 3 * round + 3);
            assertEquals(3, r.stream().distinct().count(), "each call once in round " + round + ": " + r);
            assertEquals(round % 3, r.get(0), "the first call rotates");
        }
    }

    @Test
    void aSlowerCallHasTheLargerMedian() {
        Runnable fast = () -> { };
        Runnable slow = () -> LockSupport.parkNanos(2_000_000L);
        ResultsTable.Timing[] t = ResultsTable.timeInterleaved(List.of(fast, slow), 0, 50_000_000L, 10, 100);
        assertTrue(t[1].medianMs() >= 1.5 && t[1].medianMs() > 10 * t[0].medianMs(),
                t[0].text() + " vs " + t[1].text());
        assertTrue(t[0].calls() >= 10 && t[0].calls() == t[1].calls());
    }
}
