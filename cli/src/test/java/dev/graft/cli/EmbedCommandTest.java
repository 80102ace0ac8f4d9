package dev.graft.cli;

import dev.graft.models.bert.MiniLm;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EmbedCommandTest {
    @Test
    void printsNormsAndCosineSimilarities() {
        assertTrue(MiniLm.available(), "the MiniLM jar, a runtime dependency of the cli, is on the class path");
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        int code = new EmbedCommand().run(List.of("Wheat exports fell.", "Grain shipments declined.",
                "My cat sleeps all day."), out, System.err);
        assertEquals(0, code);
        String text = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("embedding norm 1.0000"), text);
        assertTrue(text.contains("cosine similarity"), text);
        // Row [1]: similarity to [2] (grain) above similarity to [3] (cat).
        String row = text.lines()
                .filter(l -> l.strip().startsWith("[1]") && l.contains(".") && !l.contains("tokens"))
                .findFirst().orElseThrow();
        String[] cells = row.strip().split("\\s+");
        assertTrue(Double.parseDouble(cells[2]) > Double.parseDouble(cells[3]) + 0.2, row);
    }

    @Test
    void needsASentence() {
        assertThrows(UsageException.class, () -> new EmbedCommand().run(List.of(), System.out, System.err));
        assertThrows(UsageException.class, () -> new EmbedCommand().run(List.of("--bogus", "x"), System.out,
                System.err));
    }
}
