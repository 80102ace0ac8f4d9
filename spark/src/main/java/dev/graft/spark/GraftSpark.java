package dev.graft.spark;

import dev.graft.engine.Module;
import dev.graft.formats.text.BertTokenizer;
import dev.graft.models.bert.BertPooling;
import dev.graft.models.nanodet.Detection;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

import java.io.Serial;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * Saved Graft models on a Spark {@code Dataset<Row>}: each step adds columns and keeps the input's rows, columns
 * and order.
 * <pre>{@code
 * Dataset<Row> out = GraftSpark.embedder("minilm.graft").inputCol("text").outputCol("embedding").transform(df);
 * Dataset<Row> cls = GraftSpark.classifier("reuters.graft").inputCol("text").transform(df);   // logits, prediction
 * Dataset<Row> det = GraftSpark.detector("nanodet.graft").inputCol("path").transform(photos); // detections
 * }</pre>
 * On each executor the model file is read once ({@link ModelCache}: per JVM, by path and checksum, shared by the
 * tasks running there), each partition's rows go through it in batches of {@link Step#batchSize} (texts; photos
 * one at a time, as NanoDet takes them), and Graft's kernel threads are sized by {@link ExecutorThreads}. The model
 * path must name the file on every executor (a shared file system, or {@code spark-submit --files} and the bare
 * name). A missing or damaged file fails the job with {@link ModelFileException} as the cause.
 */
public final class GraftSpark {
    private GraftSpark() {
    }

    /** Sentence embeddings of a text column, a new {@code array<float>} column (default "embedding"). */
    public static Embedder embedder(String modelFile) {
        return new Embedder(modelFile);
    }

    /** Class logits ({@code array<float>}) and the predicted class ({@code int}) of a text column. */
    public static Classifier classifier(String modelFile) {
        return new Classifier(modelFile);
    }

    /** NanoDet detections of a column of photo paths: {@code array<struct<label, score, x1, y1, x2, y2>>}. */
    public static Detector detector(String modelFile) {
        return new Detector(modelFile);
    }

    /** What every step has: the model, the input column, batch size and threads. Settings are plain values. */
    public abstract static class Step<S extends Step<S>> implements Serializable {
        @Serial
        private static final long serialVersionUID = 1L;
        final String modelFile;
        String inputCol = "text";
        int batchSize = 32;
        int threads;

        Step(String modelFile) {
            this.modelFile = java.util.Objects.requireNonNull(modelFile, "modelFile");
        }

        @SuppressWarnings("unchecked")
        private S self() {
            return (S) this;
        }

        /** The column read (a string: text, or a photo's path). */
        public S inputCol(String name) {
            this.inputCol = name;
            return self();
        }

        /** Rows per model call within a partition (default 32). */
        public S batchSize(int rows) {
            if (rows < 1) {
                throw new IllegalArgumentException("batchSize must be >= 1, got " + rows);
            }
            this.batchSize = rows;
            return self();
        }

        /** Graft's kernel threads per executor JVM (default: what Spark's task slots leave free). */
        public S threads(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("threads must be >= 1, got " + n);
            }
            this.threads = n;
            return self();
        }

        /** The new columns, after the input's. */
        abstract List<StructField> outputFields();

        /** Runs one batch of input values; one list of new column values per row. */
        abstract List<Object[]> run(Module model, List<String> inputs);

        /** The input with the new columns; lazy, as every Spark transformation. */
        public Dataset<Row> transform(Dataset<Row> input) {
            StructType schema = input.schema();
            int column = schema.fieldIndex(inputCol);
            DataType type = schema.fields()[column].dataType();
            if (!type.equals(DataTypes.StringType)) {
                throw new IllegalArgumentException("column '" + inputCol + "' is " + type.simpleString()
                        + ", a string column is needed");
            }
            StructType out = schema;
            for (StructField f : outputFields()) {
                if (java.util.Arrays.asList(schema.fieldNames()).contains(f.name())) {
                    throw new IllegalArgumentException("the input already has a column '" + f.name() + "'");
                }
                out = out.add(f);
            }
            return input.mapPartitions(new PartitionRun(this, column), Encoders.row(out));
        }
    }

    /** {@link #embedder}. */
    public static final class Embedder extends Step<Embedder> {
        @Serial
        private static final long serialVersionUID = 1L;
        private String tokenizerFile = "";
        private String outputCol = "embedding";
        private String pooling = BertPooling.MEAN_NORMALIZED.toString();

        private Embedder(String modelFile) {
            super(modelFile);
        }

        /** A {@code tokenizer.json} (BERT WordPiece); default all-MiniLM-L6-v2's from the class path. */
        public Embedder tokenizer(String file) {
            this.tokenizerFile = file;
            return this;
        }

        public Embedder outputCol(String name) {
            this.outputCol = name;
            return this;
        }

        /**
         * How token states become one vector: {@code mean}, {@code cls}, each optionally {@code -normalized}
         * (default {@code mean-normalized}, all-MiniLM-L6-v2's; see {@link BertPooling}).
         */
        public Embedder pooling(String spelling) {
            this.pooling = BertPooling.parse(spelling).toString();
            return this;
        }

        @Override
        List<StructField> outputFields() {
            return List.of(DataTypes.createStructField(outputCol,
                    DataTypes.createArrayType(DataTypes.FloatType, false), true));
        }

        @Override
        List<Object[]> run(Module model, List<String> texts) {
            BertTokenizer tokenizer = ModelCache.tokenizer(tokenizerFile);
            List<Object[]> out = new ArrayList<>();
            for (float[] e : BatchRunner.embed(model, modelFile, tokenizer, texts, BertPooling.parse(pooling))) {
                out.add(new Object[] {e});
            }
            return out;
        }
    }

    /** {@link #classifier}. */
    public static final class Classifier extends Step<Classifier> {
        @Serial
        private static final long serialVersionUID = 1L;
        private String tokenizerFile = "";
        private String logitsCol = "logits";
        private String predictionCol = "prediction";

        private Classifier(String modelFile) {
            super(modelFile);
        }

        public Classifier tokenizer(String file) {
            this.tokenizerFile = file;
            return this;
        }

        public Classifier logitsCol(String name) {
            this.logitsCol = name;
            return this;
        }

        public Classifier predictionCol(String name) {
            this.predictionCol = name;
            return this;
        }

        /** A classifier with the same settings, to change without touching this one. */
        Classifier copy() {
            Classifier c = new Classifier(modelFile).inputCol(inputCol).batchSize(batchSize).tokenizer(tokenizerFile)
                    .logitsCol(logitsCol).predictionCol(predictionCol);
            c.threads = threads;
            return c;
        }

        @Override
        List<StructField> outputFields() {
            return List.of(
                    DataTypes.createStructField(logitsCol, DataTypes.createArrayType(DataTypes.FloatType, false), true),
                    DataTypes.createStructField(predictionCol, DataTypes.IntegerType, true));
        }

        @Override
        List<Object[]> run(Module model, List<String> texts) {
            BertTokenizer tokenizer = ModelCache.tokenizer(tokenizerFile);
            List<Object[]> out = new ArrayList<>();
            for (float[] logits : BatchRunner.classify(model, modelFile, tokenizer, texts)) {
                out.add(new Object[] {logits, BatchRunner.argmax(logits)});
            }
            return out;
        }
    }

    /** {@link #detector}. */
    public static final class Detector extends Step<Detector> {
        @Serial
        private static final long serialVersionUID = 1L;
        /** One detection as a Spark struct. */
        public static final StructType DETECTION = new StructType()
                .add("label", DataTypes.StringType, false)
                .add("score", DataTypes.FloatType, false)
                .add("x1", DataTypes.FloatType, false)
                .add("y1", DataTypes.FloatType, false)
                .add("x2", DataTypes.FloatType, false)
                .add("y2", DataTypes.FloatType, false);
        private String outputCol = "detections";
        private float threshold;

        private Detector(String modelFile) {
            super(modelFile);
            inputCol = "path";
        }

        public Detector outputCol(String name) {
            this.outputCol = name;
            return this;
        }

        /** Keep detections scoring at least this (on top of the model's own threshold). */
        public Detector threshold(float minScore) {
            this.threshold = minScore;
            return this;
        }

        @Override
        List<StructField> outputFields() {
            return List.of(DataTypes.createStructField(outputCol, DataTypes.createArrayType(DETECTION, false), true));
        }

        @Override
        List<Object[]> run(Module model, List<String> photos) {
            List<Object[]> out = new ArrayList<>();
            for (String photo : photos) {
                List<Row> found = new ArrayList<>();
                for (Detection d : BatchRunner.detect(model, modelFile, photo, threshold)) {
                    found.add(RowFactory.create(d.label(), d.score(), d.x1(), d.y1(), d.x2(), d.y2()));
                }
                // An array: Spark's row encoder takes a Scala Seq or a Java array, not a java.util.List.
                out.add(new Object[] {found.toArray(new Row[0])});
            }
            return out;
        }
    }

    /** The function each partition runs: rows pulled a batch at a time, the model from this JVM's cache. */
    private record PartitionRun(Step<?> step, int column) implements MapPartitionsFunction<Row, Row> {
        @Override
        public Iterator<Row> call(Iterator<Row> rows) {
            ExecutorThreads.configure(step.threads);
            Module model = ModelCache.model(step.modelFile).model();
            int batch = step instanceof Detector ? 1 : step.batchSize;
            return new Iterator<>() {
                private final List<Row> pending = new ArrayList<>();
                private int next;

                @Override
                public boolean hasNext() {
                    if (next < pending.size()) {
                        return true;
                    }
                    pending.clear();
                    next = 0;
                    List<String> inputs = new ArrayList<>();
                    List<Row> in = new ArrayList<>();
                    while (rows.hasNext() && inputs.size() < batch) {
                        Row r = rows.next();
                        in.add(r);
                        if (!r.isNullAt(column)) {
                            inputs.add(r.getString(column));
                        }
                    }
                    if (in.isEmpty()) {
                        return false;
                    }
                    // A null input gets null outputs; the others go through the model together.
                    List<Object[]> results = inputs.isEmpty() ? List.of() : step.run(model, inputs);
                    Object[] nulls = new Object[step.outputFields().size()];
                    int k = 0;
                    for (Row r : in) {
                        pending.add(append(r, r.isNullAt(column) ? nulls : results.get(k++)));
                    }
                    return true;
                }

                @Override
                public Row next() {
                    if (!hasNext()) {
                        throw new NoSuchElementException();
                    }
                    return pending.get(next++);
                }
            };
        }

        private static Row append(Row row, Object[] extra) {
            Object[] values = new Object[row.length() + extra.length];
            for (int i = 0; i < row.length(); i++) {
                values[i] = row.get(i);
            }
            System.arraycopy(extra, 0, values, row.length(), extra.length);
            return RowFactory.create(values);
        }
    }
}
