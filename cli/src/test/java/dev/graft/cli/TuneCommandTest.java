package dev.graft.cli;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code graft tune}'s arguments: the tolerance forms and the usage errors, before any model is loaded. */
class TuneCommandTest {
    @Test
    void toleranceIsAPercentOrAFraction() {
        assertEquals(0.01, TuneCommand.tolerance("1%"), 1e-15);
        assertEquals(0.005, TuneCommand.tolerance(" 0.5% "), 1e-15);
        assertEquals(0.002, TuneCommand.tolerance("0.002"), 1e-15);
        assertEquals(0.0, TuneCommand.tolerance("0"), 0);
        for (String bad : List.of("-1%", "abc", "%", "NaN", "Infinity", "1%%")) {
            String m = assertThrows(UsageException.class, () -> TuneCommand.tolerance(bad)).getMessage();
            assertEquals("--tolerance takes a number >= 0, optionally with %, got '" + bad + "'", m);
        }
    }

    @Test
    void badArgumentsAreUsageErrors() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream ps = new PrintStream(out);
        TuneCommand c = new TuneCommand();
        assertTrue(assertThrows(UsageException.class, () -> c.run(List.of("cnn"), ps, ps)).getMessage()
                .contains("--tolerance"));
        assertTrue(assertThrows(UsageException.class, () -> c.run(List.of("cnn", "--tolerance", "1%", "--budget",
                "0"), ps, ps)).getMessage().startsWith("--budget takes a whole number"));
        assertTrue(assertThrows(UsageException.class, () -> c.run(List.of("no-such-model", "--tolerance", "1%"), ps,
                ps)).getMessage().startsWith("unknown model 'no-such-model'"));
        assertTrue(c.usage().contains("--tolerance"));
    }
}
