package dev.graft.conformance.saved;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.graft.GraftFile;
import dev.graft.engine.Init;
import dev.graft.engine.io.Json;
import dev.graft.engine.quant.passes.StaticQuantizer;
import dev.graft.engine.trace.Partition;
import dev.graft.engine.trace.Partitioner;
import dev.graft.models.mnist.MnistCnn;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Graft's own JSON ({@link Json}, which the core uses so the api needs no Jackson) against Jackson, which wrote the
 * {@code .graft} manifests and safetensors headers before: the same bytes out, the same values in.
 */
class JsonJacksonParityTest {
    private static final ObjectMapper COMPACT = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
    private static final ObjectMapper PRETTY = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    @Test
    void randomDocumentsWriteTheSameBytesAndReadBackTheSameValues() throws Exception {
        Random r = new Random(11);
        for (int i = 0; i < 500; i++) {
            Object v = value(r, 0);
            assertEquals(COMPACT.writeValueAsString(v), Json.toString(v), "text #" + i);
            assertArrayEquals(COMPACT.writeValueAsBytes(v), Json.toBytes(v), "compact #" + i);
            byte[] pretty = PRETTY.writeValueAsBytes(v);
            assertArrayEquals(pretty, Json.toPrettyBytes(v), "pretty #" + i + ":\n" + new String(pretty));
            assertEquals(COMPACT.readValue(pretty, Object.class), Json.parse(pretty), "read #" + i);
        }
    }

    @Test
    void aSavedModelsManifestIsWhatJacksonWouldHaveWritten(@TempDir Path dir) throws Exception {
        Init.manualSeed(3);
        MnistCnn cnn = new MnistCnn(0.999f);
        cnn.eval();
        Tensor x = Tensor.rand(new Random(4), 0f, 1f, 2, 1, 28, 28);
        Partition p = Partitioner.partition(cnn, x);
        StaticQuantizer.Prepared prepared = StaticQuantizer.prepare(p, StaticQuantizer.defaultMapping());
        StaticQuantizer.calibrate(prepared, List.<Object[]>of(new Object[] {x}), (a, b, c) -> { });
        StaticQuantizer.convert(prepared);
        Path f = dir.resolve("cnn.graft");
        GraftFile.write(f, p, Map.of("approach", "static"));
        GraftFile.Contents c = GraftFile.readContents(f);
        byte[] ours = Json.toPrettyBytes(c.manifest());
        assertArrayEquals(PRETTY.writeValueAsBytes(c.manifest()), ours);
        assertEquals(ours.length, c.manifestBytes(), "the file holds exactly these bytes");
    }

    @Test
    void refusesWhatJacksonRefuses() {
        for (String bad : new String[] {"{\"a\":1,\"a\":2}", "[1,]", "{\"a\" 1}", "01", "[1 2]", "\"\u0001\"", "nul",
                "{\"a\":1}}", "[\"\\x\"]", "-", "1.", "1e"}) {
            assertThrows(Json.ParseException.class, () -> Json.parse(bad), bad);
        }
    }

    private static Object value(Random r, int depth) {
        int kind = depth > 3 ? r.nextInt(6) : r.nextInt(8);
        return switch (kind) {
            case 0 -> null;
            case 1 -> r.nextBoolean();
            case 2 -> r.nextInt(3) == 0 ? r.nextInt() : r.nextInt(100) - 50;
            case 3 -> r.nextBoolean() ? r.nextLong() : Integer.MAX_VALUE + 1L + r.nextInt(9);
            case 4, 5 -> string(r);
            case 6 -> {
                List<Object> l = new ArrayList<>();
                for (int i = r.nextInt(4); i > 0; i--) {
                    l.add(value(r, depth + 1));
                }
                yield l;
            }
            default -> {
                Map<String, Object> m = new LinkedHashMap<>();
                for (int i = r.nextInt(4); i > 0; i--) {
                    m.put(string(r), value(r, depth + 1));
                }
                yield m;
            }
        };
    }

    private static String string(Random r) {
        String alphabet = "ab_ .:/\\\"\n\t\r\b\f\u0001\u001f\u007f\u00e9\u20ac\ud83d\ude00{}[],";
        StringBuilder sb = new StringBuilder();
        for (int i = r.nextInt(6); i > 0; i--) {
            int at = r.nextInt(alphabet.length());
            char c = alphabet.charAt(at);
            if (Character.isHighSurrogate(c)) {
                sb.append(c).append(alphabet.charAt(at + 1));
            } else if (!Character.isLowSurrogate(c)) {
                sb.append(c);
            }
        }
        return sb.toString();
    }
}
