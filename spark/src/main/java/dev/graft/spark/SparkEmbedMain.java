package dev.graft.spark;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * {@code graft spark-embed --input FILE.parquet|FILE.txt --model F.graft --output DIR [--master local[2]]}: sentence
 * embeddings of a file as a Spark job, written as Parquet (the input's columns plus {@code embedding}). The same
 * class is the main of a {@code spark-submit} (README, "Graft on Apache Spark"): without {@code --master} it takes
 * the one spark-submit sets.
 */
public final class SparkEmbedMain {
    static final String USAGE = """
            usage: ./graft spark-embed --input FILE.parquet|FILE.txt --model F.graft --output DIR [options]

            Embeds a text column with a saved Graft BERT model (a BertModel or a SentenceClassifier's encoder) as a
            Spark job and writes DIR as Parquet: the input's columns and "embedding" (array<float>; by default
            mean-pooled and L2-normalized).
              --input FILE     Parquet (its --column is embedded) or text (one sentence a line, column "text")
              --model F.graft  the model; every executor must see this path
              --output DIR     where the Parquet files go (must not exist yet)
              --master URL     Spark master (default: spark-submit's, else local[2])
              --column NAME    the text column of a Parquet input (default "text")
              --tokenizer F    a tokenizer.json (default: all-MiniLM-L6-v2's)
              --pooling P      mean, cls, mean-normalized or cls-normalized (default mean-normalized)
              --batch N        rows per model call within a partition (default 32)
              --threads N      Graft's kernel threads per executor (default: what the task slots leave free)
              --partitions N   repartition the input into N partitions first""";

    private SparkEmbedMain() {
    }

    /** Parsed arguments. */
    record Options(String input, String model, String output, String master, String column, String tokenizer,
                   String pooling, int batch, int threads, int partitions) {
        static Options parse(List<String> args) {
            String input = null;
            String model = null;
            String output = null;
            String master = null;
            String column = "text";
            String tokenizer = "";
            String pooling = "mean-normalized";
            int batch = 32;
            int threads = 0;
            int partitions = 0;
            for (int i = 0; i < args.size(); i++) {
                String a = args.get(i);
                if (a.equals("--help") || a.equals("-h")) {
                    throw new UsageError(null);
                }
                if (!a.startsWith("--")) {
                    throw new UsageError("unexpected argument '" + a + "'");
                }
                if (i + 1 >= args.size()) {
                    throw new UsageError(a + " needs a value");
                }
                String v = args.get(++i);
                switch (a) {
                    case "--input" -> input = v;
                    case "--model" -> model = v;
                    case "--output" -> output = v;
                    case "--master" -> master = v;
                    case "--column" -> column = v;
                    case "--tokenizer" -> tokenizer = v;
                    case "--pooling" -> pooling = checkedPooling(v);
                    case "--batch" -> batch = positive(a, v);
                    case "--threads" -> threads = positive(a, v);
                    case "--partitions" -> partitions = positive(a, v);
                    default -> throw new UsageError("unknown option " + a);
                }
            }
            if (input == null || model == null || output == null) {
                throw new UsageError("--input, --model and --output are required");
            }
            String name = input.replaceAll("/+$", "").toLowerCase(Locale.ROOT);
            if (!name.endsWith(".parquet") && !name.endsWith(".txt")) {
                throw new UsageError("--input must be a .parquet or .txt file (or folder), got " + input);
            }
            if (name.endsWith(".txt") && !column.equals("text")) {
                throw new UsageError("--column applies to Parquet input; a text file's column is \"text\"");
            }
            // Local paths are checked here; hdfs://, s3a:// and friends are Spark's to check.
            if (isLocal(input) && !Files.exists(Path.of(input))) {
                throw new UsageError("--input " + input + ": no such file");
            }
            if (isLocal(output) && Files.exists(Path.of(output))) {
                throw new UsageError("--output " + output + " exists already; give a new folder");
            }
            return new Options(input, model, output, master, column, tokenizer, pooling, batch, threads, partitions);
        }

        private static String checkedPooling(String v) {
            try {
                return dev.graft.models.bert.BertPooling.parse(v).toString();
            } catch (IllegalArgumentException e) {
                throw new UsageError("--pooling: " + e.getMessage());
            }
        }

        static boolean isLocal(String path) {
            return !path.contains("://") || path.startsWith("file://");
        }

        private static int positive(String option, String value) {
            try {
                int n = Integer.parseInt(value);
                if (n >= 1) {
                    return n;
                }
            } catch (NumberFormatException e) {
                // reported below
            }
            throw new UsageError(option + " needs a whole number >= 1, got '" + value + "'");
        }
    }

    /** A mistake on the command line: the message (or null for --help) and the usage. */
    static final class UsageError extends RuntimeException {
        UsageError(String message) {
            super(message);
        }
    }

    public static void main(String[] args) {
        System.exit(run(List.of(args), System.out, System.err));
    }

    static int run(List<String> args, PrintStream out, PrintStream err) {
        Options o;
        try {
            o = Options.parse(args);
        } catch (UsageError e) {
            if (e.getMessage() == null) {
                out.println(USAGE);
                return 0;
            }
            err.println("graft spark-embed: " + e.getMessage());
            err.println(USAGE);
            return 2;
        }
        // A session already running in this JVM (a test, a notebook) is used and left running.
        boolean ours = SparkSession.getDefaultSession().isEmpty();
        SparkSession.Builder builder = SparkSession.builder().appName("graft spark-embed");
        String master = o.master() != null ? o.master()
                : System.getProperties().containsKey("spark.master") ? null : "local[2]";
        if (master != null) {
            builder.master(master);
            if (ours) {
                // Started from ./graft rather than spark-submit: Spark's INFO lines would bury the one result line.
                org.apache.logging.log4j.core.config.Configurator.setRootLevel(org.apache.logging.log4j.Level.WARN);
            }
        }
        SparkSession spark = builder.getOrCreate();
        try {
            long t0 = System.nanoTime();
            Dataset<Row> input = read(spark, o);
            GraftSpark.Embedder embedder = GraftSpark.embedder(o.model()).inputCol(o.column())
                    .tokenizer(o.tokenizer()).pooling(o.pooling()).batchSize(o.batch());
            if (o.threads() > 0) {
                embedder.threads(o.threads());
            }
            Dataset<Row> embedded = embedder.transform(input);
            embedded.write().parquet(o.output());
            long rows = spark.read().parquet(o.output()).count();
            double seconds = (System.nanoTime() - t0) / 1e9;
            out.printf(Locale.ROOT, "embedded %d rows in %.1f s (%.1f rows/s, %s, %d partitions) -> %s%n", rows,
                    seconds, rows / seconds, spark.sparkContext().master(), input.rdd().getNumPartitions(),
                    o.output());
            return 0;
        } catch (Exception e) {   // SparkException is a checked exception that Scala code throws undeclared
            err.println("graft spark-embed: " + SparkErrors.unwrap(e).getMessage());
            if (Options.isLocal(o.output()) && !o.output().startsWith("file://")) {
                deletePartialOutput(Path.of(o.output()), err);
            }
            return 1;
        } finally {
            if (ours) {
                spark.stop();
            }
        }
    }

    /** A failed job leaves no half-written output: the folder did not exist before (checked), so it goes. */
    private static void deletePartialOutput(Path dir, PrintStream err) {
        if (!Files.exists(dir)) {
            return;
        }
        try (var paths = Files.walk(dir)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        } catch (java.io.IOException e) {
            err.println("graft spark-embed: could not remove the partial output " + dir + ": " + e.getMessage());
        }
    }

    private static Dataset<Row> read(SparkSession spark, Options o) {
        boolean parquet = o.input().replaceAll("/+$", "").toLowerCase(Locale.ROOT).endsWith(".parquet");
        Dataset<Row> in = parquet ? spark.read().parquet(o.input())
                : spark.read().text(o.input()).withColumnRenamed("value", "text");
        return o.partitions() > 0 ? in.repartition(o.partitions()) : in;
    }
}
