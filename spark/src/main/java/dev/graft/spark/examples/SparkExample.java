package dev.graft.spark.examples;

import dev.graft.Graft;
import dev.graft.engine.Module;
import dev.graft.engine.quant.QConfigMapping;
import dev.graft.formats.text.BertTokenizer;
import dev.graft.models.bert.MiniLm;
import dev.graft.spark.GraftSpark;
import dev.graft.spark.SparkCalibration;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;

import java.nio.file.Path;
import java.util.List;

/**
 * Graft on Spark end to end, with all-MiniLM-L6-v2 from the class path:
 * <ol>
 *   <li>static INT8 calibration of MiniLM over a text file, as a Spark job (every partition calibrates, the driver
 *       merges the observers and converts), saved as a {@code .graft} file;</li>
 *   <li>the saved model embeds the same file as a second job; the first rows are printed with their norms.</li>
 * </ol>
 * Run (after {@code ./graft build -pl spark -am}; README, "Graft on Apache Spark"):
 * <pre>
 * java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
 *   -cp "spark/target/graft-spark.jar:spark/target/lib/*:spark/target/spark-lib/*" \
 *   dev.graft.spark.examples.SparkExample sentences.txt minilm-static.graft
 * </pre>
 */
public final class SparkExample {
    private SparkExample() {
    }

    /** MiniLM as every executor builds it: FP32 weights from the class path, fed the "text" column. */
    record MiniLmSpec() implements SparkCalibration.ModelSpec {
        @Override
        public Module build() {
            return MiniLm.load();
        }

        @Override
        public Object[] inputs(List<Row> rows) {
            BertTokenizer.Batch b = MiniLm.tokenizer().encodeBatch(rows.stream().map(r -> r.getString(0)).toList());
            return new Object[] {b.inputIds(), b.attentionMask(), b.tokenTypeIds()};
        }

        @Override
        public QConfigMapping mapping() {
            return MiniLm.staticMapping();
        }
    }

    public static void main(String[] args) {
        if (args.length != 2) {
            System.err.println("usage: SparkExample SENTENCES.txt OUT.graft");
            System.exit(2);
        }
        SparkSession spark = SparkSession.builder().appName("graft example")
                .master(System.getProperty("spark.master", "local[2]")).getOrCreate();
        try {
            Dataset<Row> text = spark.read().text(args[0]).withColumnRenamed("value", "text")
                    .where(functions.length(functions.col("text")).gt(0));

            // 1. Calibrate on every row, 16 rows per model call, then convert on the driver and save.
            Graft.Prepared prepared = SparkCalibration.calibrate(text, new MiniLmSpec(), 16);
            prepared.convert().save(Path.of(args[1]));
            System.out.println("calibrated on " + text.count() + " rows, saved " + args[1]);

            // 2. Embed with the saved INT8 model: a new column, read once per executor JVM.
            Dataset<Row> embedded = GraftSpark.embedder(args[1]).inputCol("text").outputCol("embedding")
                    .batchSize(32).transform(text);
            embedded.select(functions.col("text"), functions.size(functions.col("embedding")).as("dim"),
                    functions.aggregate(functions.col("embedding"), functions.lit(0.0),
                            (acc, x) -> acc.plus(x.multiply(x))).as("squared_norm"))
                    .show(5, 60);
        } finally {
            spark.stop();
        }
    }
}
