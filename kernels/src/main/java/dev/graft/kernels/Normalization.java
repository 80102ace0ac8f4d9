package dev.graft.kernels;

import java.util.Objects;

/**
 * Row-wise softmax and layer normalization over contiguous float32 rows ({@code rows x cols}, row-major), the two
 * normalizations of a transformer. The public kernels use the Vector API when it was chosen at start-up; the
 * {@code ...Reference} methods are the double-precision references.
 *
 * <ul>
 * <li>{@link #softmaxRows}: {@code exp(x - max) / sum}, exponentials by {@link FastFloatMath#exp} (a few ulps) and
 *     summed in float; the division is one correctly rounded operation. Rows holding {@code -inf} or
 *     {@code -Float.MAX_VALUE} (attention padding masks) give exact zeros there; a NaN makes its row NaN.</li>
 * <li>{@link #layerNormRows}: mean, biased variance and the normalized values in double (the input converted to
 *     double lanes), each result rounded once, as the reference: within an ulp or so whatever the row's offset.</li>
 * </ul>
 * Every row is computed by one task in a fixed order (lane partial sums combined left to right), so results are
 * identical for any thread count.
 */
public final class Normalization {

    private Normalization() {
    }

    /** Softmax of each of {@code rows} rows of {@code cols} values at {@code x[off..]} into {@code out[outOff..]}. */
    public static void softmaxRows(float[] x, int off, int rows, int cols, float[] out, int outOff) {
        check(x, off, rows, cols, out, outOff);
        boolean vector = Kernels.vectorKernels();
        byRows(rows, cols, (first, count) -> {
            for (int r = first; r < first + count; r++) {
                if (vector) {
                    VectorNormalization.softmaxRow(x, off + r * cols, cols, out, outOff + r * cols);
                } else {
                    softmaxRowScalar(x, off + r * cols, cols, out, outOff + r * cols);
                }
            }
        });
    }

    /**
     * Layer normalization of each row: {@code (x - mean) / sqrt(var + eps) * weight + bias} with the biased variance;
     * {@code weight} and {@code bias} (length {@code cols}) may be null.
     */
    public static void layerNormRows(float[] x, int off, int rows, int cols, float[] weight, float[] bias, float eps,
                                     float[] out, int outOff) {
        check(x, off, rows, cols, out, outOff);
        checkParameter(weight, cols);
        checkParameter(bias, cols);
        boolean vector = Kernels.vectorKernels();
        byRows(rows, cols, (first, count) -> {
            for (int r = first; r < first + count; r++) {
                if (vector) {
                    VectorNormalization.layerNormRow(x, off + r * cols, cols, weight, bias, eps, out,
                            outOff + r * cols);
                } else {
                    layerNormRowReference(x, off + r * cols, cols, weight, bias, eps, out, outOff + r * cols);
                }
            }
        });
    }

    /** Reference of {@link #softmaxRows}: exponentials and sum in double, each result rounded once. */
    public static void softmaxRowsReference(float[] x, int off, int rows, int cols, float[] out, int outOff) {
        check(x, off, rows, cols, out, outOff);
        for (int r = 0; r < rows; r++) {
            int in = off + r * cols;
            int o = outOff + r * cols;
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < cols; j++) {
                max = Math.max(max, x[in + j]);
            }
            double sum = 0;
            double[] e = new double[cols];
            for (int j = 0; j < cols; j++) {
                e[j] = Math.exp((double) x[in + j] - max);
                sum += e[j];
            }
            for (int j = 0; j < cols; j++) {
                out[o + j] = (float) (e[j] / sum);
            }
        }
    }

    /** Reference of {@link #layerNormRows} (also its scalar fallback): everything in double. */
    public static void layerNormRowsReference(float[] x, int off, int rows, int cols, float[] weight, float[] bias,
                                              float eps, float[] out, int outOff) {
        check(x, off, rows, cols, out, outOff);
        checkParameter(weight, cols);
        checkParameter(bias, cols);
        for (int r = 0; r < rows; r++) {
            layerNormRowReference(x, off + r * cols, cols, weight, bias, eps, out, outOff + r * cols);
        }
    }

    static void layerNormRowReference(float[] x, int in, int n, float[] w, float[] b, float eps, float[] out, int o) {
        double sum = 0;
        for (int j = 0; j < n; j++) {
            sum += x[in + j];
        }
        double mean = sum / n;
        double squares = 0;
        for (int j = 0; j < n; j++) {
            double d = x[in + j] - mean;
            squares += d * d;
        }
        double rstd = 1.0 / Math.sqrt(squares / n + eps);
        for (int j = 0; j < n; j++) {
            double y = (x[in + j] - mean) * rstd;
            if (w != null) {
                y *= w[j];
            }
            if (b != null) {
                y += b[j];
            }
            out[o + j] = (float) y;
        }
    }

    /** The scalar fallback of {@link #softmaxRows}: the fast exp, a float sum, one division per element. */
    static void softmaxRowScalar(float[] x, int in, int n, float[] out, int o) {
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) {
            max = Math.max(max, x[in + j]);
        }
        float sum = 0f;
        for (int j = 0; j < n; j++) {
            float e = FastFloatMath.exp(x[in + j] - max);
            out[o + j] = e;
            sum += e;
        }
        for (int j = 0; j < n; j++) {
            out[o + j] = out[o + j] / sum;
        }
    }

    /** Runs {@code body} over groups of whole rows, about {@link Elementwise#CHUNK} elements per parallel task. */
    private static void byRows(int rows, int cols, Elementwise.Range body) {
        int perTask = Math.max(1, Elementwise.CHUNK / Math.max(1, cols));
        int tasks = (rows + perTask - 1) / perTask;
        if (tasks <= 1) {
            body.run(0, rows);
            return;
        }
        Parallel.shared().forEach(tasks, t -> body.run(t * perTask, Math.min(perTask, rows - t * perTask)));
    }

    private static void check(float[] x, int off, int rows, int cols, float[] out, int outOff) {
        if (rows < 0 || cols < 0) {
            throw new IllegalArgumentException("rows and cols must be >= 0, got " + rows + " x " + cols);
        }
        int n = Math.multiplyExact(rows, cols);
        Objects.checkFromIndexSize(off, n, x.length);
        Objects.checkFromIndexSize(outOff, n, out.length);
    }

    private static void checkParameter(float[] p, int cols) {
        if (p != null && p.length < cols) {
            throw new IllegalArgumentException("layer norm parameter has " + p.length + " values, rows have " + cols);
        }
    }
}
