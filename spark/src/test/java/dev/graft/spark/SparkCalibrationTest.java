package dev.graft.spark;

import dev.graft.Graft;
import dev.graft.engine.Module;
import dev.graft.engine.quant.QConfig;
import dev.graft.engine.quant.QConfigMapping;
import dev.graft.engine.quant.QDType;
import dev.graft.engine.quant.QScheme;
import dev.graft.engine.quant.QuantSpec;
import dev.graft.engine.quant.observe.HistogramObserver;
import dev.graft.engine.quant.observe.MinMaxObserver;
import dev.graft.engine.quant.observe.Observer;
import dev.graft.engine.quant.observe.PerChannelMinMaxObserver;
import dev.graft.engine.quant.passes.StaticQuantizer;
import dev.graft.formats.text.BertTokenizer;
import dev.graft.models.bert.SentenceClassifier;
import dev.graft.ops.Tensor;
import org.apache.spark.api.java.JavaSparkContext;
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

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Calibration and evaluation as Spark jobs (local[2], two partitions) against the same steps in one JVM. */
class SparkCalibrationTest {
    static final int BATCH = 4;
    static SparkSession spark;
    static Dataset<Row> data;
    static List<Row> rows;

    /** The tiny classifier, fed the "text" column; the mapping by name. */
    record TinySpec(boolean minMax) implements SparkCalibration.ModelSpec {
        @Override
        public Module build() {
            return TinyModels.fp32Classifier();
        }

        @Override
        public Object[] inputs(List<Row> batch) {
            BertTokenizer.Batch b = TinyModels.tokenizer().encodeBatch(
                    batch.stream().map(r -> r.getString(r.fieldIndex("text"))).toList());
            return new Object[] {b.inputIds(), b.attentionMask(), b.tokenTypeIds()};
        }

        @Override
        public QConfigMapping mapping() {
            if (!minMax) {
                return StaticQuantizer.defaultMapping();
            }
            return new QConfigMapping().global(new QConfig(
                    () -> new MinMaxObserver(QuantSpec.of(QDType.QUINT8, QScheme.PER_TENSOR_AFFINE, false)),
                    () -> new PerChannelMinMaxObserver(
                            QuantSpec.of(QDType.QINT8, QScheme.PER_CHANNEL_SYMMETRIC, false))));
        }
    }

    @BeforeAll
    static void data() {
        spark = LocalSpark.get();
        rows = new ArrayList<>();
        for (int i = 0; i < TinyModels.SENTENCES.size(); i++) {
            rows.add(RowFactory.create(i, TinyModels.SENTENCES.get(i), i % 3));
        }
        StructType schema = new StructType().add("id", DataTypes.IntegerType).add("text", DataTypes.StringType)
                .add("label", DataTypes.IntegerType);
        // parallelize keeps the order and cuts it into two halves: partition 0 holds rows 0-5, partition 1 rows 6-11.
        data = spark.createDataFrame(JavaSparkContext.fromSparkContext(spark.sparkContext()).parallelize(rows, 2),
                schema);
    }

    /** The batches Spark calibrates on: groups of 4 within each partition, in order (checked, not assumed). */
    static List<List<Row>> sparkBatches() {
        List<Row> tagged = data.withColumn("part", functions.spark_partition_id()).collectAsList();
        List<List<Row>> batches = new ArrayList<>();
        for (int part = 0; part < 2; part++) {
            int p = part;
            List<Row> inPart = tagged.stream().filter(r -> r.getInt(3) == p).toList();
            assertEquals(6, inPart.size());
            for (int from = 0; from < inPart.size(); from += BATCH) {
                batches.add(inPart.subList(from, Math.min(inPart.size(), from + BATCH)));
            }
        }
        return batches;
    }

    static void calibrate(Graft.Prepared p, SparkCalibration.ModelSpec spec, List<List<Row>> batches) {
        List<Object[]> inputs = batches.stream().map(spec::inputs).toList();
        p.calibrate(inputs);
    }

    static void assertSameObservers(Map<String, Observer> expected, Map<String, Observer> actual) {
        assertEquals(expected.keySet(), actual.keySet());
        assertFalse(expected.isEmpty());
        int observed = 0;
        for (String name : expected.keySet()) {
            Observer e = expected.get(name);
            Observer a = actual.get(name);
            assertEquals(e.observedCount(), a.observedCount(), name);
            assertArrayEquals(e.minVal(), a.minVal(), 0f, name);
            assertArrayEquals(e.maxVal(), a.maxVal(), 0f, name);
            if (e instanceof HistogramObserver h) {
                assertArrayEquals(h.histogram(), ((HistogramObserver) a).histogram(), 0f, name);
            }
            if (e.observedCount() > 0) {
                assertEquals(e.calculateQParams(), a.calculateQParams(), name);
                observed++;
            }
        }
        assertTrue(observed > 4, "observers that saw data: " + observed);
    }

    /** Both models converted, on one batch of all the sentences: the INT8 outputs, bit for bit. */
    static void assertSameInt8Model(Graft.Prepared expected, Graft.Prepared actual) {
        Object[] in = new TinySpec(false).inputs(data.collectAsList());
        Tensor e = ((SentenceClassifier) expected.convert().model()).call((Tensor) in[0], (Tensor) in[1],
                (Tensor) in[2]);
        Tensor a = ((SentenceClassifier) actual.convert().model()).call((Tensor) in[0], (Tensor) in[1],
                (Tensor) in[2]);
        assertArrayEquals(e.toFloatArray(), a.toFloatArray(), 0f);
    }

    @Test
    void mergedMinMaxCalibrationEqualsPlainCalibrationInOneJvm() {
        TinySpec spec = new TinySpec(true);
        Graft.Prepared merged = SparkCalibration.calibrate(data, spec, BATCH);
        // Plain Graft, one JVM: prepare with the same examples, calibrate on the same batches in order.
        Graft.Prepared single = SparkCalibration.prepare(spec, data.limit(BATCH).collectAsList());
        calibrate(single, spec, sparkBatches());
        assertSameObservers(SparkCalibration.flatten(single), SparkCalibration.flatten(merged));
        assertSameInt8Model(single, merged);
    }

    @Test
    void mergedHistogramCalibrationEqualsTheSameTwoPassesInOneJvm() {
        TinySpec spec = new TinySpec(false);
        Graft.Prepared merged = SparkCalibration.calibrate(data, spec, BATCH);
        List<Row> examples = data.limit(BATCH).collectAsList();
        List<List<Row>> batches = sparkBatches();
        // One JVM: a first pass for each histogram's data range, then every batch on that grid, in order.
        Graft.Prepared first = SparkCalibration.prepare(spec, examples);
        calibrate(first, spec, batches);
        Graft.Prepared single = SparkCalibration.prepare(spec, examples);
        Map<String, Observer> firstObservers = SparkCalibration.flatten(first);
        SparkCalibration.flatten(single).forEach((name, o) -> {
            if (o instanceof HistogramObserver h && firstObservers.get(name).observedCount() > 0) {
                float[] range = ((HistogramObserver) firstObservers.get(name)).dataRange();
                h.startAt(range[0], range[1]);
            }
        });
        calibrate(single, spec, batches);
        assertSameObservers(SparkCalibration.flatten(single), SparkCalibration.flatten(merged));
        assertSameInt8Model(single, merged);
    }

    @Test
    void accuracyAsASparkJobCountsWhatThePlainModelGetsRight(@TempDir Path dir) {
        Path file = TinyModels.classifier(dir.resolve("classifier.graft"));
        GraftSpark.Classifier classifier = GraftSpark.classifier(file.toString()).batchSize(1);
        SparkEvaluation.Accuracy acc = SparkEvaluation.accuracy(data, classifier, "label");
        // The caller's classifier is left as it was: its columns are still "logits" and "prediction".
        assertEquals(List.of("id", "text", "label", "logits", "prediction"),
                List.of(classifier.transform(data).schema().fieldNames()));
        SentenceClassifier plain = (SentenceClassifier) Graft.load(file).model();
        long correct = 0;
        for (Row r : rows) {
            BertTokenizer.Batch b = TinyModels.tokenizer().encodeBatch(List.of(r.getString(1)));
            float[] logits = plain.call(b.inputIds(), b.attentionMask(), b.tokenTypeIds()).toFloatArray();
            correct += BatchRunner.argmax(logits) == r.getInt(2) ? 1 : 0;
        }
        assertEquals(new SparkEvaluation.Accuracy(correct, rows.size()), acc);
    }
}
