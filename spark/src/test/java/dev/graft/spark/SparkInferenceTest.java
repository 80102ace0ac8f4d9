package dev.graft.spark;

import dev.graft.Graft;
import dev.graft.engine.io.FormatException;
import dev.graft.formats.text.BertTokenizer;
import dev.graft.models.bert.BertModel;
import dev.graft.models.bert.SentenceClassifier;
import dev.graft.models.bert.SentencePooling;
import dev.graft.ops.Tensor;
import org.apache.spark.SparkException;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Graft models on a Spark Dataset in local[2]: the same numbers as plain Graft calls, and Graft's errors. */
class SparkInferenceTest {
    @TempDir
    static Path dir;
    static Path encoderFile;
    static Path classifierFile;
    static SparkSession spark;

    @BeforeAll
    static void models() {
        encoderFile = TinyModels.encoder(dir.resolve("encoder.graft"));
        classifierFile = TinyModels.classifier(dir.resolve("classifier.graft"));
        spark = LocalSpark.get();
    }

    /** id, text: the test sentences in two partitions, each row tagged with the partition it is in. */
    static Dataset<Row> sentences() {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < TinyModels.SENTENCES.size(); i++) {
            rows.add(RowFactory.create(i, TinyModels.SENTENCES.get(i)));
        }
        StructType schema = new StructType().add("id", DataTypes.IntegerType).add("text", DataTypes.StringType);
        return spark.createDataFrame(rows, schema).repartition(2, functions.col("id"))
                .withColumn("part", functions.spark_partition_id());
    }

    /** The rows of each partition in order, as collect returns them (partition by partition, in row order). */
    static Map<Integer, List<Row>> byPartition(List<Row> rows) {
        Map<Integer, List<Row>> out = new LinkedHashMap<>();
        for (Row r : rows) {
            out.computeIfAbsent(r.getInt(r.fieldIndex("part")), k -> new ArrayList<>()).add(r);
        }
        return out;
    }

    static float[] floats(Row r, String column) {
        List<Object> list = r.getList(r.fieldIndex(column));
        float[] out = new float[list.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (Float) list.get(i);
        }
        return out;
    }

    /** What a user writes without Spark: load the file, tokenize a batch, run, mean-pool, normalize. */
    static float[] plainEmbedding(BertModel model, List<String> batch, int row) {
        BertTokenizer.Batch b = TinyModels.tokenizer().encodeBatch(batch);
        Tensor hidden = model.lastHiddenState(b.inputIds(), b.attentionMask(), b.tokenTypeIds());
        float[] all = SentencePooling.l2Normalize(SentencePooling.meanPool(hidden, b.attentionMask())).toFloatArray();
        int dim = all.length / batch.size();
        return java.util.Arrays.copyOfRange(all, row * dim, (row + 1) * dim);
    }

    @Test
    void embeddingsAreBitEqualToPlainGraftCallsOnTheSameBatches() {
        int batch = 4;
        List<Row> out = GraftSpark.embedder(encoderFile.toString()).inputCol("text").batchSize(batch)
                .transform(sentences()).collectAsList();
        assertEquals(TinyModels.SENTENCES.size(), out.size());
        Map<Integer, List<Row>> parts = byPartition(out);
        assertEquals(2, parts.size(), "the rows sit in two partitions: " + parts.keySet());
        BertModel plain = (BertModel) Graft.load(encoderFile).model();
        int checked = 0;
        for (List<Row> part : parts.values()) {
            // Dynamic INT8 picks activation scales per call, so a row's numbers depend on its batch: the plain
            // calls use the batches Spark used, consecutive groups of 4 within each partition.
            for (int from = 0; from < part.size(); from += batch) {
                List<Row> group = part.subList(from, Math.min(part.size(), from + batch));
                List<String> texts = group.stream().map(r -> r.getString(r.fieldIndex("text"))).toList();
                for (int i = 0; i < group.size(); i++) {
                    Row r = group.get(i);
                    assertEquals(TinyModels.SENTENCES.get(r.getInt(0)), texts.get(i));
                    float[] spark = floats(r, "embedding");
                    assertEquals(TinyModels.CONFIG.hiddenSize(), spark.length);
                    assertArrayEquals(plainEmbedding(plain, texts, i), spark, 0f, "row " + r.getInt(0));
                    checked++;
                }
            }
        }
        assertEquals(TinyModels.SENTENCES.size(), checked);
    }

    @Test
    void oneRowBatchesGiveEachSentenceItsOwnEmbedding() {
        List<Row> out = GraftSpark.embedder(encoderFile.toString()).batchSize(1).outputCol("e")
                .transform(sentences()).collectAsList();
        BertModel plain = (BertModel) Graft.load(encoderFile).model();
        for (Row r : out) {
            String text = r.getString(r.fieldIndex("text"));
            assertArrayEquals(plainEmbedding(plain, List.of(text), 0), floats(r, "e"), 0f, text);
        }
    }

    @Test
    void clsPoolingWithoutNormalizationIsTheFirstTokensState() {
        List<Row> out = GraftSpark.embedder(encoderFile.toString()).batchSize(1).pooling("cls")
                .transform(sentences()).collectAsList();
        BertModel plain = (BertModel) Graft.load(encoderFile).model();
        for (Row r : out) {
            BertTokenizer.Batch b = TinyModels.tokenizer().encodeBatch(List.of(r.getString(r.fieldIndex("text"))));
            Tensor hidden = plain.lastHiddenState(b.inputIds(), b.attentionMask(), b.tokenTypeIds());
            assertArrayEquals(hidden.select(1, 0).toFloatArray(), floats(r, "embedding"), 0f);
        }
    }

    @Test
    void theModelFileIsReadOncePerJvmHoweverManyTasksUseIt() {
        ModelCache.clear();
        GraftSpark.embedder(encoderFile.toString()).transform(sentences()).count();
        GraftSpark.embedder(encoderFile.toString()).transform(sentences()).collectAsList();
        assertEquals(1, ModelCache.loads(), "two jobs, two partitions each, one JVM: one load");
        assertTrue(ModelCache.model(encoderFile.toString()) == ModelCache.model(encoderFile.toString()));
    }

    @Test
    void classifierLogitsAndPredictionsMatchThePlainModel() {
        List<Row> out = GraftSpark.classifier(classifierFile.toString()).batchSize(TinyModels.SENTENCES.size())
                .transform(sentences().coalesce(1)).collectAsList();
        SentenceClassifier plain = (SentenceClassifier) Graft.load(classifierFile).model();
        List<String> texts = out.stream().map(r -> r.getString(r.fieldIndex("text"))).toList();
        BertTokenizer.Batch b = TinyModels.tokenizer().encodeBatch(texts);
        float[] logits = plain.call(b.inputIds(), b.attentionMask(), b.tokenTypeIds()).toFloatArray();
        for (int i = 0; i < out.size(); i++) {
            float[] expected = java.util.Arrays.copyOfRange(logits, 3 * i, 3 * i + 3);
            assertArrayEquals(expected, floats(out.get(i), "logits"), 0f);
            assertEquals(BatchRunner.argmax(expected), out.get(i).getInt(out.get(i).fieldIndex("prediction")));
        }
    }

    @Test
    void aMissingModelFailsTheJobWithGraftsTypedError() {
        Path missing = dir.resolve("no-such-model.graft");
        Dataset<Row> job = GraftSpark.embedder(missing.toString()).transform(sentences());
        SparkException e = assertThrows(SparkException.class, job::collectAsList);
        FormatException graft = assertInstanceOf(FormatException.class, SparkErrors.graftCause(e).orElseThrow(),
                "cause of " + e);
        assertEquals(missing, graft.file());
        assertTrue(graft.getMessage().contains("no such file"), graft.getMessage());
    }

    @Test
    void aCorruptModelFailsTheJobWithGraftsTypedError() throws Exception {
        Path corrupt = dir.resolve("corrupt.graft");
        byte[] good = Files.readAllBytes(encoderFile);
        Files.write(corrupt, java.util.Arrays.copyOf(good, good.length / 2));   // a copy cut short
        SparkException e = assertThrows(SparkException.class,
                () -> GraftSpark.embedder(corrupt.toString()).transform(sentences()).collectAsList());
        ModelFileException graft = assertInstanceOf(ModelFileException.class, SparkErrors.graftCause(e).orElseThrow());
        assertEquals(corrupt.toRealPath(), graft.file());
    }

    @Test
    void aModelOfTheWrongKindIsNamed() {
        SparkException e = assertThrows(SparkException.class,
                () -> GraftSpark.classifier(encoderFile.toString()).transform(sentences()).collectAsList());
        RuntimeException graft = SparkErrors.graftCause(e).orElseThrow();
        assertTrue(graft.getMessage().contains("BertModel") && graft.getMessage().contains("classifier"),
                graft.getMessage());
    }

    @Test
    void anInputColumnThatIsNotTextIsRefusedBeforeAnyJob() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GraftSpark.embedder(encoderFile.toString()).inputCol("id").transform(sentences()));
        assertTrue(e.getMessage().contains("'id'"), e.getMessage());
    }
}
