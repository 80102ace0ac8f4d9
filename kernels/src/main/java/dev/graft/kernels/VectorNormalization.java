package dev.graft.kernels;

import static dev.graft.kernels.VectorFloatMath.LANES;
import static dev.graft.kernels.VectorFloatMath.SPECIES;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/** One row of {@link Normalization}'s kernels on the Vector API. */
final class VectorNormalization {

    static final VectorSpecies<Double> DOUBLES = DoubleVector.SPECIES_PREFERRED;
    /** Floats with as many lanes as {@link #DOUBLES}, so F2D and D2F convert whole vectors (no part selection). */
    static final VectorSpecies<Float> HALF_FLOATS =
            VectorSpecies.of(float.class, VectorShape.forBitSize(DOUBLES.length() * Float.SIZE));
    static final int D_LANES = DOUBLES.length();

    private VectorNormalization() {
    }

    static void softmaxRow(float[] x, int in, int n, float[] out, int o) {
        float max = rowMax(x, in, n);
        float sum = expAndSum(x, in, n, max, out, o);
        int j = 0;
        for (int bound = n - LANES; j <= bound; j += LANES) {
            FloatVector.fromArray(SPECIES, out, o + j).div(sum).intoArray(out, o + j);
        }
        for (; j < n; j++) {
            out[o + j] = out[o + j] / sum;
        }
    }

    /** The row's maximum; NaN when the row holds one (Math.max semantics, as the vector max). */
    private static float rowMax(float[] x, int in, int n) {
        FloatVector acc = FloatVector.broadcast(SPECIES, Float.NEGATIVE_INFINITY);
        int j = 0;
        for (int bound = n - LANES; j <= bound; j += LANES) {
            acc = acc.max(FloatVector.fromArray(SPECIES, x, in + j));
        }
        float max = acc.reduceLanes(VectorOperators.MAX); // max is exact: the order does not matter
        for (; j < n; j++) {
            max = Math.max(max, x[in + j]);
        }
        return max;
    }

    /** Stores {@code exp(x - max)} and returns their sum, lane partial sums added in a fixed order. */
    private static float expAndSum(float[] x, int in, int n, float max, float[] out, int o) {
        FloatVector acc = FloatVector.zero(SPECIES);
        FloatVector zero = FloatVector.zero(SPECIES);
        int j = 0;
        for (int bound = n - LANES; j <= bound; j += LANES) {
            FloatVector e = VectorFloatMath.expSplit(FloatVector.fromArray(SPECIES, x, in + j).sub(max), zero);
            e.intoArray(out, o + j);
            acc = acc.add(e);
        }
        return fixedOrderSum(acc.toArray(), x, in, j, n, max, out, o);
    }

    /** Adds the lane partials left to right (reduceLanes may use any order), then the scalar tail. */
    private static float fixedOrderSum(float[] lanes, float[] x, int in, int j, int n, float max, float[] out, int o) {
        float sum = 0f;
        for (float v : lanes) {
            sum += v;
        }
        for (; j < n; j++) {
            float e = FastFloatMath.exp(x[in + j] - max);
            out[o + j] = e;
            sum += e;
        }
        return sum;
    }

    static void layerNormRow(float[] x, int in, int n, float[] w, float[] b, float eps, float[] out, int o) {
        double mean = rowSum(x, in, n) / n;
        double rstd = 1.0 / Math.sqrt(squaredDeviations(x, in, n, mean) / n + eps);
        int j = 0;
        for (int bound = n - D_LANES; j <= bound; j += D_LANES) {
            DoubleVector y = load(x, in + j).sub(mean).mul(rstd);
            if (w != null) {
                y = y.mul(load(w, j));
            }
            if (b != null) {
                y = y.add(load(b, j));
            }
            ((FloatVector) y.convertShape(VectorOperators.D2F, HALF_FLOATS, 0)).intoArray(out, o + j);
        }
        for (; j < n; j++) {
            double y = (x[in + j] - mean) * rstd;
            y = w == null ? y : y * w[j];
            y = b == null ? y : y + b[j];
            out[o + j] = (float) y;
        }
    }

    private static DoubleVector load(float[] a, int i) {
        return (DoubleVector) FloatVector.fromArray(HALF_FLOATS, a, i).convertShape(VectorOperators.F2D, DOUBLES, 0);
    }

    private static double rowSum(float[] x, int in, int n) {
        DoubleVector acc = DoubleVector.zero(DOUBLES);
        int j = 0;
        for (int bound = n - D_LANES; j <= bound; j += D_LANES) {
            acc = acc.add(load(x, in + j));
        }
        double sum = 0;
        for (double v : acc.toArray()) {
            sum += v;
        }
        for (; j < n; j++) {
            sum += x[in + j];
        }
        return sum;
    }

    private static double squaredDeviations(float[] x, int in, int n, double mean) {
        DoubleVector acc = DoubleVector.zero(DOUBLES);
        int j = 0;
        for (int bound = n - D_LANES; j <= bound; j += D_LANES) {
            DoubleVector d = load(x, in + j).sub(mean);
            acc = d.fma(d, acc);
        }
        double sum = 0;
        for (double v : acc.toArray()) {
            sum += v;
        }
        for (; j < n; j++) {
            double d = x[in + j] - mean;
            sum += d * d;
        }
        return sum;
    }
}
