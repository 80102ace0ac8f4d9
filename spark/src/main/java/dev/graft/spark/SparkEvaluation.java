package dev.graft.spark;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;

/**
 * Accuracy of a saved classifier over a labelled Dataset, as a Spark job: the classifier's predictions
 * ({@link GraftSpark#classifier}) compared with an integer label column on the executors; only two counts come
 * back to the driver.
 */
public final class SparkEvaluation {
    private SparkEvaluation() {
    }

    /** Rows whose predicted class is the label, of rows with a label. */
    public record Accuracy(long correct, long total) {
        public double accuracy() {
            return total == 0 ? Double.NaN : (double) correct / total;
        }

        @Override
        public String toString() {
            return String.format(java.util.Locale.ROOT, "%d of %d (%.2f%%)", correct, total, 100 * accuracy());
        }
    }

    /**
     * Accuracy of {@code classifier} (its settings: model, text column, tokenizer, batch size) against
     * {@code labelCol} (integer class ids; rows with a null label are not counted).
     */
    public static Accuracy accuracy(Dataset<Row> data, GraftSpark.Classifier classifier, String labelCol) {
        String prediction = "__graft_prediction";
        // A copy: the caller's classifier keeps its own column names.
        Row r = classifier.copy().predictionCol(prediction).logitsCol("__graft_logits").transform(data)
                .where(functions.col(labelCol).isNotNull())
                .agg(functions.sum(functions.when(functions.col(prediction).equalTo(functions.col(labelCol)), 1)
                                .otherwise(0)).cast("long"),
                        functions.count(functions.lit(1)))
                .first();
        return new Accuracy(r.isNullAt(0) ? 0 : r.getLong(0), r.getLong(1));
    }
}
