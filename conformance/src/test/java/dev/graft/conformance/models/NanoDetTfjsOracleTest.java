package dev.graft.conformance.models;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.graft.conformance.Required;
import dev.graft.formats.tfjs.TfjsGraphModule;
import dev.graft.models.BundledAssets;
import dev.graft.models.nanodet.NanoDetFiles;
import dev.graft.models.nanodet.NanoDetImages;
import dev.graft.models.nanodet.NanoDetPreprocess;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The FP32 oracle for the TensorFlow.js import: the NanoDet graph run by npm {@code @tensorflow/tfjs} (pure
 * JavaScript CPU backend) on the same preprocessed dog.jpg; Graft's head outputs must agree within 1e-3 (measured:
 * about 1e-5). One run of the oracle is recorded in {@code src/test/resources/tfjs/nanodet-dog-heads.json} (500
 * samples and the sums of each output, with how it was made), so the check runs everywhere; the live comparison of
 * every element runs the oracle itself (tag {@code tfjs-oracle}, left out by default: it needs node and the 300 MB
 * package, see {@code conformance/tfjs-oracle/README.md}; {@code ./graft test -Dgraft.test.excluded=} runs it).
 */
class NanoDetTfjsOracleTest {
    static final double TOLERANCE = 1e-3;

    /** Graft's six head outputs on the bundled dog.jpg, by output name. */
    private record Heads(List<String> names, Tensor[] outputs) {
    }

    private static Tensor input() throws Exception {
        return new NanoDetPreprocess().call(NanoDetImages.letterbox(NanoDetFiles.bundledPhoto(), 416).tensor());
    }

    private static Heads graftHeads(Tensor input) throws Exception {
        TfjsGraphModule graph = new TfjsGraphModule(NanoDetFiles.bundledGraph());
        return new Heads(graph.outputNames(), graph.run(input));
    }

    @Test
    void headOutputsMatchTheRecordedTensorFlowJsRun() throws Exception {
        JsonNode recorded;
        try (InputStream in = NanoDetTfjsOracleTest.class.getResourceAsStream("/tfjs/nanodet-dog-heads.json")) {
            recorded = new ObjectMapper().readTree(in).get("outputs");
        }
        Heads heads = graftHeads(input());
        assertEquals(recorded.size(), heads.outputs().length, "one recorded entry per head output");
        List<String> report = new ArrayList<>();
        for (int i = 0; i < heads.outputs().length; i++) {
            String name = heads.names().get(i);
            JsonNode r = recorded.get(name);
            assertTrue(r != null, "no recorded output " + name);
            int[] shape = new int[r.get("shape").size()];
            for (int d = 0; d < shape.length; d++) {
                shape[d] = r.get("shape").get(d).asInt();
            }
            assertArrayEquals(shape, heads.outputs()[i].shape(), name);
            float[] actual = heads.outputs()[i].toFloatArray();
            int stride = r.get("stride").asInt();
            JsonNode samples = r.get("samples");
            assertEquals((actual.length + stride - 1) / stride, samples.size(), name + " samples");
            double max = 0;
            for (int k = 0; k < samples.size(); k++) {
                max = Math.max(max, Math.abs((float) samples.get(k).asDouble() - actual[k * stride]));
            }
            double sum = 0;
            double sumAbs = 0;
            for (float v : actual) {
                sum += v;
                sumAbs += Math.abs(v);
            }
            assertTrue(max <= TOLERANCE, name + ": sampled max|diff| " + max);
            // Each element within TOLERANCE bounds the sums' difference by TOLERANCE per element.
            assertTrue(Math.abs(sum - r.get("sum").asDouble()) <= TOLERANCE * actual.length, name + " sum " + sum);
            assertTrue(Math.abs(sumAbs - r.get("sum_abs").asDouble()) <= TOLERANCE * actual.length,
                    name + " sum of |x| " + sumAbs);
            report.add(name + " sampled max|diff| " + max);
        }
        System.out.println("NanoDet vs recorded tfjs: " + report);
    }

    @Test
    @Tag("tfjs-oracle")
    void headOutputsMatchTensorFlowJsLive(@TempDir Path dir) throws Exception {
        Path script = Path.of("tfjs-oracle/oracle.js").toAbsolutePath();
        Path modules = tfjsModules();
        Required.require(Files.isRegularFile(script), "the oracle script " + script);
        Required.require(modules != null, "@tensorflow/tfjs (see conformance/tfjs-oracle/README.md)");
        Required.require(nodeWorks(), "node on the PATH");
        Path json = dir.resolve("nanodet.json");
        for (String asset : new String[] {"nanodet.json", "nanodet.bin"}) {
            try (InputStream in = BundledAssets.open(asset)) {
                Files.copy(in, dir.resolve(asset));
            }
        }
        Tensor input = input();
        Path inputFile = dir.resolve("input.f32");
        writeF32(inputFile, input.toFloatArray());
        Path outDir = dir.resolve("out");
        ProcessBuilder pb = new ProcessBuilder("node", script.toString(), json.toString(), inputFile.toString(),
                outDir.toString());
        pb.environment().put("NODE_PATH", modules.toString());
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String log = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "node timed out");
        assertEquals(0, p.exitValue(), log);

        Heads heads = graftHeads(input);
        double worst = 0;
        List<String> report = new ArrayList<>();
        for (int i = 0; i < heads.outputs().length; i++) {
            String name = heads.names().get(i);
            float[] expected = readF32(outDir.resolve(name + ".f32"));
            float[] actual = heads.outputs()[i].toFloatArray();
            assertEquals(expected.length, actual.length, name);
            double max = 0;
            for (int k = 0; k < expected.length; k++) {
                max = Math.max(max, Math.abs(expected[k] - actual[k]));
            }
            report.add(name + " max|diff| " + max);
            worst = Math.max(worst, max);
        }
        System.out.println("NanoDet vs tfjs: " + report);
        assertTrue(worst <= TOLERANCE, report.toString());
        assertArrayEquals(new int[] {1, 2704, 80}, heads.outputs()[heads.names().indexOf("Identity")].shape());
    }

    private static Path tfjsModules() {
        List<Path> candidates = new ArrayList<>();
        String env = System.getenv("GRAFT_TFJS_DIR");
        String prop = System.getProperty("graft.tfjs.dir");
        for (String s : new String[] {prop, env}) {
            if (s != null && !s.isBlank()) {
                candidates.add(Path.of(s).resolve("node_modules"));
            }
        }
        candidates.add(Path.of("tfjs-oracle/node_modules"));
        for (Path c : candidates) {
            if (Files.isRegularFile(c.resolve("@tensorflow/tfjs/package.json"))) {
                return c.toAbsolutePath();
            }
        }
        return null;
    }

    private static boolean nodeWorks() {
        try {
            Process p = new ProcessBuilder("node", "--version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(20, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (Exception e) {
            return false;
        }
    }

    private static void writeF32(Path file, float[] v) throws Exception {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(v);
        Files.write(file, b.array());
    }

    private static float[] readF32(Path file) throws Exception {
        FloatBuffer fb = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        float[] out = new float[fb.remaining()];
        fb.get(out);
        return out;
    }
}
