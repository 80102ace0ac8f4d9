package dev.graft.cli;

import dev.graft.GraftFile;
import dev.graft.engine.Init;
import dev.graft.engine.quant.passes.StaticQuantizer;
import dev.graft.engine.trace.Partition;
import dev.graft.engine.trace.Partitioner;
import dev.graft.models.mnist.MnistCnn;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code graft inspect} on a saved model, and the commands' one-line errors and exit codes on bad input. */
class SavedModelCommandsTest {
    @TempDir
    Path dir;

    private record Run(int code, String out, String err) {
    }

    private static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = new Main().run(List.of(args), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void inspectShowsTheTreeTheOperatorTableAndTheGraphs() {
        Init.manualSeed(8);
        MnistCnn cnn = new MnistCnn(0.99f);
        cnn.eval();
        Partition p = Partitioner.partition(cnn, Tensor.rand(new Random(1), 0f, 1f, 2, 1, 28, 28));
        StaticQuantizer.Prepared prepared = StaticQuantizer.prepare(p, StaticQuantizer.defaultMapping());
        StaticQuantizer.calibrate(prepared, List.<Object[]>of(new Object[] {Tensor.rand(new Random(2), 0f, 1f, 8, 1,
                28, 28)}), (a, b, c) -> { });
        StaticQuantizer.convert(prepared);
        Path file = dir.resolve("cnn.graft");
        GraftFile.write(file, p, Map.of("approach", "static"));

        // The demo records its recipe as one line of text (graft tune as an object): inspect shows it as it is
        // (it was an IllegalArgumentException, exit 1), and a damaged tune recipe is the file's fault, one line.
        Path demo = dir.resolve("demo.graft");
        GraftFile.write(demo, p, Map.of("approach", "static", "recipe", "static INT8, calibrated on 8 images"));
        Run shown = run("inspect", demo.toString());
        assertEquals(0, shown.code(), shown.err());
        assertTrue(shown.out().contains("recipe: static INT8, calibrated on 8 images"), shown.out());
        Path damaged = dir.resolve("damaged.graft");
        GraftFile.write(damaged, p, Map.of("recipe", Map.of("observer", "minmax")));
        Run refused = run("inspect", damaged.toString());
        assertEquals(1, refused.code(), refused.err());
        assertTrue(refused.err().startsWith("graft inspect: " + damaged + ": info recipe:"), refused.err());
        assertEquals(1, refused.err().strip().lines().count(), refused.err());

        Run r = run("inspect", file.toString(), "--graphs");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("MnistCnn") && r.out().contains("approach: static"), r.out());
        assertTrue(r.out().contains("eager: control flow") && r.out().contains("residual"), r.out());
        assertTrue(r.out().contains("quantize_per_tensor") && r.out().contains("graph():"), r.out());
        assertTrue(r.out().matches("(?s).*residual\\s+3\\s+0\\s+2\\s+1.*"), "residual: 3 INT8, 0 FP32\n" + r.out());
    }

    @Test
    void badFilesAndBadUsageGetOneLineAndTheRightExitCode() throws Exception {
        Path notAModel = dir.resolve("notes.graft");
        Files.writeString(notAModel, "hello");
        Run r = run("inspect", notAModel.toString());
        assertEquals(1, r.code());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains(notAModel.toString()) && r.err().contains("not a Graft model file"), r.err());

        Run missing = run("eval", dir.resolve("missing.graft").toString());
        assertEquals(1, missing.code());
        assertTrue(missing.err().contains("no such file"), missing.err());

        assertEquals(2, run("inspect").code());
        assertEquals(2, run("inspect", "a.graft", "--bogus").code());
        assertEquals(2, run("quantize", "cnn").code(), "no --approach");
        assertEquals(2, run("quantize", "nanodet", "--approach", "dynamic").code(), "nanodet is static only");
        assertEquals(0, run("eval", "--help").code());
    }
}
