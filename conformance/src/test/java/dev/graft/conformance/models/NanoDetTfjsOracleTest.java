package dev.graft.conformance.models;

import dev.graft.models.nanodet.NanoDetImages;
import dev.graft.conformance.SharedData;
import dev.graft.formats.image.Images;
import dev.graft.formats.tfjs.TfjsGraph;
import dev.graft.formats.tfjs.TfjsGraphModule;
import dev.graft.models.nanodet.NanoDetPreprocess;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The FP32 oracle for the TensorFlow.js import: the same NanoDet graph run by npm {@code @tensorflow/tfjs} (pure
 * JavaScript CPU backend) on the same preprocessed dog.jpg; every head output must agree within 1e-3. Skips unless
 * node and the package are installed (see {@code conformance/tfjs-oracle/README.md}). About 10 s, mostly node.
 */
class NanoDetTfjsOracleTest {
    static final double TOLERANCE = 1e-3;

    @Test
    void headOutputsMatchTensorFlowJs(@TempDir Path dir) throws Exception {
        Optional<Path> json = SharedData.file("data/detect/nanodet.json");
        assumeTrue(json.isPresent(), "the shared folder with data/detect is absent");
        Path script = Path.of("tfjs-oracle/oracle.js").toAbsolutePath();
        Path modules = tfjsModules();
        assumeTrue(Files.isRegularFile(script), "no " + script);
        assumeTrue(modules != null, "@tensorflow/tfjs is not installed (see conformance/tfjs-oracle/README.md)");
        assumeTrue(nodeWorks(), "node is not on the PATH");

        Path photo = json.get().getParent().resolve("dog.jpg");
        Tensor input = new NanoDetPreprocess().call(NanoDetImages.letterbox(Images.read(photo), 416).tensor());
        Path inputFile = dir.resolve("input.f32");
        writeF32(inputFile, input.toFloatArray());
        Path outDir = dir.resolve("out");
        ProcessBuilder pb = new ProcessBuilder("node", script.toString(), json.get().toString(), inputFile.toString(),
                outDir.toString());
        pb.environment().put("NODE_PATH", modules.toString());
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String log = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "node timed out");
        assertEquals(0, p.exitValue(), log);

        TfjsGraphModule graph = new TfjsGraphModule(TfjsGraph.read(json.get()));
        Tensor[] outputs = graph.run(input);
        double worst = 0;
        List<String> report = new ArrayList<>();
        for (int i = 0; i < outputs.length; i++) {
            String name = graph.outputNames().get(i);
            float[] expected = readF32(outDir.resolve(name + ".f32"));
            float[] actual = outputs[i].toFloatArray();
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
        assertArrayEquals(new int[] {1, 2704, 80}, outputs[graph.outputNames().indexOf("Identity")].shape());
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
