package dev.graft.spark;

import dev.graft.Graft;
import dev.graft.formats.text.BertTokenizer;
import dev.graft.models.bert.BertModel;
import dev.graft.models.bert.MiniLm;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Rows per second of sentence embedding, one configuration per JVM (Graft's kernel pool is sized once per JVM):
 * <pre>
 *   SparkEmbedBench --save-minilm F.graft                 all-MiniLM-L6-v2, dynamic INT8, saved once
 *   SparkEmbedBench --mode plain|local[1]|local[2] --model F.graft [--rows N] [--batch B]
 * </pre>
 * {@code plain} is the loop a user writes without Spark (load, tokenize 32 sentences, run, pool, normalize) with
 * Graft's default threads (every core); the Spark modes embed the same rows in two partitions with Graft's default
 * threads per executor ({@link ExecutorThreads}). Each mode runs the whole set once to warm up, then once timed.
 * Alternate the modes in one shell loop for ratios (docs/BENCHMARKS.md).
 */
public final class SparkEmbedBench {
    private static final String[] WORDS = ("wheat exports rose sharply in the third quarter while the central bank"
            + " kept interest rates unchanged and grain shipments were delayed by a strike at the port as corn"
            + " futures fell on forecasts of a record harvest").split(" ");

    private SparkEmbedBench() {
    }

    /** {@code n} sentences of 8 to 23 words, the same every run. */
    static List<String> sentences(int n) {
        java.util.Random rng = new java.util.Random(19);
        List<String> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            StringBuilder s = new StringBuilder();
            int words = 8 + rng.nextInt(16);
            for (int w = 0; w < words; w++) {
                s.append(w == 0 ? "" : " ").append(WORDS[rng.nextInt(WORDS.length)]);
            }
            out.add(s.append('.').toString());
        }
        return out;
    }

    public static void main(String[] args) throws Exception {
        String mode = null;
        String model = null;
        int rows = 2048;
        int batch = 32;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--save-minilm" -> {
                    BertModel fp32 = MiniLm.load();
                    BertTokenizer.Batch b = MiniLm.tokenizer().encodeBatch(sentences(2));
                    Graft.quantize(fp32, new Object[] {b.inputIds(), b.attentionMask(), b.tokenTypeIds()},
                            Graft.Config.dynamic()).save(Path.of(args[i + 1]));
                    System.out.println("saved " + args[i + 1] + " (" + Files.size(Path.of(args[i + 1])) + " bytes)");
                    return;
                }
                case "--mode" -> mode = args[i + 1];
                case "--model" -> model = args[i + 1];
                case "--rows" -> rows = Integer.parseInt(args[i + 1]);
                case "--batch" -> batch = Integer.parseInt(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (mode == null || model == null) {
            throw new IllegalArgumentException("usage: SparkEmbedBench --mode plain|local[N] --model F.graft");
        }
        List<String> texts = sentences(rows);
        double seconds = mode.equals("plain") ? plain(model, texts, batch) : spark(mode, model, texts, batch);
        System.out.printf(Locale.ROOT, "%-9s %6d rows  %7.2f s  %8.1f rows/s  (graft.threads=%s)%n", mode, rows,
                seconds, rows / seconds, System.getProperty("graft.threads", "default"));
    }

    private static double plain(String file, List<String> texts, int batch) {
        BertModel model = (BertModel) Graft.load(Path.of(file)).model();
        BertTokenizer tokenizer = MiniLm.tokenizer();
        double last = 0;
        for (int round = 0; round < 2; round++) {
            long t0 = System.nanoTime();
            for (int from = 0; from < texts.size(); from += batch) {
                BatchRunner.embed(model, file, tokenizer, texts.subList(from, Math.min(texts.size(), from + batch)),
                        dev.graft.models.bert.BertPooling.MEAN_NORMALIZED);
            }
            last = (System.nanoTime() - t0) / 1e9;
        }
        return last;
    }

    private static double spark(String master, String file, List<String> texts, int batch) {
        SparkSession spark = SparkSession.builder().master(master).appName("graft-embed-bench")
                .config("spark.ui.enabled", "false").getOrCreate();
        try {
            List<Row> rows = texts.stream().map(t -> RowFactory.create(t)).toList();
            Dataset<Row> df = spark.createDataFrame(rows, new StructType().add("text", DataTypes.StringType))
                    .repartition(2).cache();
            df.count();
            double last = 0;
            for (int round = 0; round < 2; round++) {
                long t0 = System.nanoTime();
                long n = GraftSpark.embedder(file).batchSize(batch).transform(df).count();
                last = (System.nanoTime() - t0) / 1e9;
                if (n != texts.size()) {
                    throw new IllegalStateException("embedded " + n + " rows of " + texts.size());
                }
            }
            return last;
        } finally {
            spark.stop();
        }
    }
}
