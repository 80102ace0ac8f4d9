package dev.graft.conformance;

import org.junit.jupiter.api.Test;
import org.opentest4j.AssertionFailedError;
import org.opentest4j.TestAbortedException;

import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A missing requirement skips a test on a developer's machine and fails it under CI=true (whichever this run is). */
class RequiredTest {
    @Test
    void presentValuesPassThrough() {
        assertEquals("x", Required.present(Optional.of("x"), "x"));
        Required.require(true, "nothing");
    }

    @Test
    void absenceSkipsHereOrFailsOnCi() {
        Class<? extends Throwable> expected = Required.onCi() ? AssertionFailedError.class : TestAbortedException.class;
        Throwable t = assertThrows(expected, () -> Required.require(false, "the thing"));
        assertTrue(t.getMessage().contains("missing: the thing"), t.getMessage());
        assertThrows(expected, () -> Required.present(Optional.empty(), "the other thing"));
    }
}
