package dev.graft.spark;

import org.apache.spark.sql.Row;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code graft spark-embed}: a text file in, Parquet out; a bad model or bad arguments said plainly. */
class SparkEmbedMainTest {
    @TempDir
    static Path dir;
    static Path model;
    static Path input;

    @BeforeAll
    static void files() throws Exception {
        LocalSpark.get();   // the command uses (and leaves running) the session of this JVM
        model = TinyModels.encoder(dir.resolve("encoder.graft"));
        input = Files.write(dir.resolve("sentences.txt"), TinyModels.SENTENCES);
    }

    private record Result(int code, String out, String err) {
    }

    private static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = SparkEmbedMain.run(List.of(args), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void embedsATextFileIntoParquet() {
        Path output = dir.resolve("out");
        Result r = run("--input", input.toString(), "--model", model.toString(), "--output", output.toString(),
                "--master", "local[2]", "--batch", "1");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("embedded 12 rows"), r.out());
        List<Row> rows = LocalSpark.get().read().parquet(output.toString()).collectAsList();
        assertEquals(12, rows.size());
        // Batches of one row: each embedding is the sentence's own, whatever the partitioning.
        List<Row> expected = GraftSpark.embedder(model.toString()).batchSize(1)
                .transform(LocalSpark.get().read().text(input.toString()).withColumnRenamed("value", "text"))
                .collectAsList();
        for (Row e : expected) {
            Row got = rows.stream().filter(x -> x.getString(0).equals(e.getString(0))).findFirst().orElseThrow();
            assertArrayEquals(SparkInferenceTest.floats(e, "embedding"), SparkInferenceTest.floats(got, "embedding"),
                    0f, e.getString(0));
        }
    }

    @Test
    void aMissingModelIsNamedAndLeavesNoOutput() {
        Path output = dir.resolve("never");
        Path missing = dir.resolve("missing.graft");
        Result r = run("--input", input.toString(), "--model", missing.toString(), "--output", output.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains(missing.toString()) && r.err().contains("no such file"), r.err());
        assertFalse(Files.exists(output), "no partial output");
    }

    @Test
    void badArgumentsPrintTheUsage() {
        Result r = run("--input", input.toString(), "--model", model.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--output") && r.err().contains("usage:"), r.err());
        Result batch = run("--input", input.toString(), "--model", model.toString(), "--output", "x",
                "--batch", "0");
        assertEquals(2, batch.code());
        assertTrue(batch.err().contains("--batch needs a whole number >= 1, got '0'"), batch.err());
    }
}
