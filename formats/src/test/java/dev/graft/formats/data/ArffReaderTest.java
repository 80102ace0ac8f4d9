package dev.graft.formats.data;

import dev.graft.engine.io.FormatException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ArffReaderTest {
    static final String REUTERS_LIKE = """
            % a comment
            @relation 'Reuters-21578 Grain ModApte Test'

            @attribute Text string
            @attribute class-att {0,1}

            @data

            'ASIAN EXPORTERS FEAR DAMAGE Mounting trade\\nfriction, said \\'officials\\' and \\"others\\".',0
            "double quoted, with comma",1
            unquoted,?
            """;

    @Test
    void readsStringAndNominalAttributesWithEscapes() {
        ArffDataset d = ArffReader.parse(REUTERS_LIKE, null);
        assertEquals("Reuters-21578 Grain ModApte Test", d.relation());
        assertEquals(2, d.attributes().size());
        assertEquals(ArffDataset.Type.STRING, d.attributes().get(0).type());
        assertEquals(List.of("0", "1"), d.attributes().get(1).values());
        assertEquals(3, d.size());
        assertEquals("ASIAN EXPORTERS FEAR DAMAGE Mounting trade\nfriction, said 'officials' and \"others\".",
                d.strings("Text").get(0));
        assertEquals("double quoted, with comma", d.strings("Text").get(1));
        assertEquals("unquoted", d.strings("Text").get(2));
        assertArrayEquals(new int[] {0, 1, -1}, d.nominalIndices("class-att"));
        assertEquals("class-att", d.classAttribute());
        assertNull(d.rows().get(2)[1]);
    }

    @Test
    void readsNumericAttributesAndGzip(@TempDir Path dir) throws IOException {
        String text = "@RELATION nums\n@ATTRIBUTE x NUMERIC\n@attribute y real\n@attribute c {a, 'b c'}\n@DATA\n"
                + "1.5, -2e3, 'b c'\n3,4,a % trailing comment\n";
        Path gz = dir.resolve("n.arff.gz");
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(gz))) {
            out.write(text.getBytes(StandardCharsets.UTF_8));
        }
        ArffDataset d = ArffReader.read(gz);
        assertEquals(1.5, d.rows().get(0)[0]);
        assertEquals(-2000.0, d.rows().get(0)[1]);
        assertArrayEquals(new int[] {1, 0}, d.nominalIndices("c"));
        Path plain = dir.resolve("n.arff");
        Files.writeString(plain, text);
        assertEquals(2, ArffReader.read(plain).size());
    }

    @Test
    void errorsNameTheOffsetAndTheProblem() {
        FormatException e = assertThrows(FormatException.class,
                () -> ArffReader.parse("@relation r\n@attribute x numeric\n@data\nabc\n", null));
        assertTrue(e.getMessage().contains("'abc' is not a number"), e.getMessage());
        assertEquals(39, e.offset());
        FormatException e2 = assertThrows(FormatException.class,
                () -> ArffReader.parse("@relation r\n@attribute c {a,b}\n@data\nz\n", null));
        assertTrue(e2.getMessage().contains("not one of [a, b]"), e2.getMessage());
        assertThrows(FormatException.class, () -> ArffReader.parse("@relation r\n@attribute x string\n", null));
        assertThrows(FormatException.class,
                () -> ArffReader.parse("@relation r\n@attribute x string\n@data\n'never closed\n", null));
        assertThrows(FormatException.class,
                () -> ArffReader.parse("@relation r\n@attribute x string\n@attribute y string\n@data\n'a'\n", null));
        assertThrows(FormatException.class,
                () -> ArffReader.parse("@relation r\n@attribute x string\n@data\n{0 'a'}\n", null));
    }
}
