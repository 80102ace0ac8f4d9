package dev.graft.cli;

import dev.graft.engine.io.FormatException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The options parser, and through {@link Main} the usage errors of issue 17 with their exit codes. */
class OptionsTest {
    @TempDir
    Path dir;

    private static Options parse(String... args) {
        return Options.spec().switches("--fast").values("--calib", "--out", "--approach").alias("-o", "--out")
                .parse(List.of(args));
    }

    private static String usageError(Runnable r) {
        return assertThrows(UsageException.class, r::run).getMessage();
    }

    @Test
    void readsSwitchesValuesAliasesAndPositionals() {
        Options o = parse("cnn", "--calib", "64", "--fast", "-o", "x.graft", "--approach=static", "--", "--not-a-flag");
        assertEquals(List.of("cnn", "--not-a-flag"), o.positionals());
        assertEquals(64, o.integer("--calib", 1, 1000, 32));
        assertTrue(o.has("--fast"));
        assertEquals("x.graft", o.string("--out", null));
        assertEquals("static", o.choice("--approach", List.of("dynamic", "static"), "dynamic"));
        assertEquals(32, parse().integer("--calib", 1, 1000, 32), "absent: the default");
        assertFalse(parse().has("--fast"));
    }

    @Test
    void everyProblemNamesItsFlag() {
        assertTrue(usageError(() -> parse("--bogus")).startsWith("unknown option --bogus"));
        assertEquals("--out needs a value", usageError(() -> parse("--out")));
        assertEquals("--out needs a value", usageError(() -> parse("--out", "--fast")), "the next flag is no value");
        assertEquals("--calib given twice", usageError(() -> parse("--calib", "1", "--calib", "2")));
        assertEquals("--fast takes no value, got '--fast=1'", usageError(() -> parse("--fast=1")));
        for (String bad : List.of("0", "-5", "abc", "1e3", "99999999999", "")) {
            String m = usageError(() -> parse("--calib", bad).integer("--calib", 1, 1000, 32));
            assertEquals("--calib takes a whole number in 1..1000, got '" + bad + "'", m);
        }
        assertTrue(usageError(() -> parse("--approach", "qat").choice("--approach", List.of("dynamic"), null))
                .startsWith("--approach must be one of dynamic"));
        assertEquals("--approach is required (dynamic or static)",
                usageError(() -> parse().required("--approach", "dynamic or static")));
        Options t = Options.spec().values("--threshold").parse(List.of("--threshold", "NaN"));
        assertTrue(usageError(() -> t.number("--threshold", 0, 1, 0.5)).startsWith("--threshold takes a number"));
        assertEquals("unexpected argument 'b'", usageError(() -> parse("a", "b").atMostPositionals(1)));
    }

    @Test
    void filesAreCheckedBeforeAnyWork() throws Exception {
        Path file = Files.writeString(dir.resolve("f.txt"), "x");
        Options in = Options.spec().values("--model").parse(List.of("--model", dir.toString()));
        assertTrue(assertThrows(FormatException.class, () -> in.inputFile("--model")).getMessage()
                .endsWith("is a directory, not a file"));
        Options missing = Options.spec().values("--model").parse(List.of("--model", dir.resolve("no").toString()));
        assertTrue(assertThrows(FormatException.class, () -> missing.inputFile("--model")).getMessage()
                .endsWith("no such file"));
        assertEquals(file, Options.spec().values("--model").parse(List.of("--model", file.toString()))
                .inputFile("--model"));

        String intoMissingFolder = dir.resolve("nope/out.graft").toString();
        assertTrue(usageError(() -> parse("--out", intoMissingFolder).outputFile("--out"))
                .contains("does not exist"));
        assertTrue(usageError(() -> parse("--out", dir.toString()).outputFile("--out")).contains("is a directory"));
        assertEquals(dir.resolve("ok.graft"), parse("--out", dir.resolve("ok.graft").toString()).outputFile("--out"));
        assertNull(parse().outputFile("--out"));
        assertFalse(Files.exists(dir.resolve("nope")), "nothing was created");
    }

    // ---------------------------------------------------------------- through Main: the cases of issue 17

    private record Run(int code, String out, String err) {
    }

    private static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = new Main().run(List.of(args), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static void usage(String expected, String... args) {
        Run r = run(args);
        assertEquals(2, r.code(), String.join(" ", args) + ": " + r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains(expected), String.join(" ", args) + ": " + r.err());
    }

    @Test
    void theUsageErrorsOfTheIssueExitTwoAndNameTheFlag() {
        usage("--calib takes a whole number in 1..", "quantize", "cnn", "--approach", "static", "--calib", "0");
        usage("--calib takes a whole number in 1..", "quantize", "reuters", "--approach", "static", "--calib", "x");
        usage("--keep-fp32 takes a whole number in 0..", "quantize", "minilm", "--approach", "dynamic",
                "--keep-fp32", "-1");
        usage("--epochs takes a whole number in 1..", "train", "mnist", "--epochs", "-5");
        usage("--epochs takes a whole number in 1..", "train", "mnist", "--epochs", "abc");
        usage("--out needs a value", "demo", "--out");
        usage("--svg needs a value", "partition", "cnn", "--svg");
        usage("reuters, cnn, nanodet, minilm", "quantize", "resnet", "--approach", "static");
        usage("unknown option --bogus", "bench", "cnn", "--bogus");
        usage("--threshold takes a number in 0.0..1.0", "detect", "--threshold", "2");
        usage("unexpected argument 'x'", "kernels", "x");
        usage("does not exist", "quantize", "cnn", "--approach", "static", "--out", "/nonexistent-dir/m.graft");
        Run train = run("train", "resnet");
        assertEquals(2, train.code());
        assertEquals(1, train.err().split("train:", -1).length - 1, "train: once\n" + train.err());
    }

    @Test
    void aDirectoryIsNotReportedAsMissing() throws Exception {
        Run r = run("inspect", dir.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("is a directory"), r.err());
        // embed --model takes a Hugging Face directory: an empty one says what it lacks.
        Run e = run("embed", "--model", dir.toString(), "hello");
        assertEquals(1, e.code());
        assertTrue(e.err().contains("not a BERT model directory: no model.safetensors"), e.err());
        // detect's photo: a directory is a directory, a missing photo is missing; both fail (exit 1), one line.
        Run photoDir = run("detect", dir.toString());
        assertEquals(1, photoDir.code(), photoDir.err());
        assertTrue(photoDir.err().contains(dir + ": is a directory, not a file"), photoDir.err());
        Run noPhoto = run("detect", dir.resolve("missing.jpg").toString());
        assertEquals(1, noPhoto.code(), noPhoto.err());
        assertTrue(noPhoto.err().contains("missing.jpg: no such file"), noPhoto.err());
        assertEquals(1, noPhoto.err().strip().lines().count(), noPhoto.err());
    }

    @Test
    void errorsAreOneLineEvenForJvmErrors() {
        assertEquals("out of memory (Java heap space); a larger heap: GRAFT_JVM_OPTS=-Xmx4g",
                Main.oneLine(new OutOfMemoryError("Java heap space")));
        assertEquals("IllegalStateException: a / b", Main.oneLine(new IllegalStateException("a\n  b")));
        assertTrue(Main.oneLine(new StackOverflowError()).startsWith("stack overflow"));
    }
}
