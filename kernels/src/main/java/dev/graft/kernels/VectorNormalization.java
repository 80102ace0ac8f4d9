package dev.graft.kernels;

import static dev.graft.kernels.VectorFloatMath.LANES;
import static dev.graft.kernels.VectorFloatMath.SPECIES;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
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
    /** Ints and bytes with as many lanes as {@link VectorFloatMath#SPECIES}, for the u8 rows of INT8 attention. */
    private static final VectorSpecies<Integer> INTS = SPECIES.withLanes(int.class);
    private static final VectorSpecies<Byte> BYTES =
            VectorSpecies.of(byte.class, VectorShape.forBitSize(LANES * Byte.SIZE));
    private static final float MAGIC = 12582912f;    // 1.5 * 2^23: adding and subtracting it rounds to nearest even
    private static final float LIMIT = 4194304f;     // 2^22, where that rounding is still exact

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

    /**
     * One attention score row in place: {@code softmax(x (/ or *) scale + mask)}, with the bits of the division (or
     * multiplication) and the mask's addition done element by element followed by {@link #softmaxRow} (the same IEEE
     * operations per element, the same chunks for the exponentials and their sum), the scale and mask folded into
     * the maximum's pass.
     */
    static void scaleMaskSoftmaxRow(float[] x, int in, int n, boolean scaled, float scale, boolean divide,
                                    float[] mask, int mi) {
        FloatVector top = FloatVector.broadcast(SPECIES, Float.NEGATIVE_INFINITY);
        int j = 0;
        for (int bound = n - LANES; j <= bound; j += LANES) {
            FloatVector f = FloatVector.fromArray(SPECIES, x, in + j);
            if (scaled) {
                f = divide ? f.div(scale) : f.mul(scale);
            }
            if (mask != null) {
                f = f.add(FloatVector.fromArray(SPECIES, mask, mi + j));
            }
            f.intoArray(x, in + j);
            top = top.max(f);
        }
        float max = top.reduceLanes(VectorOperators.MAX);
        for (; j < n; j++) {
            float s = x[in + j];
            if (scaled) {
                s = divide ? s / scale : s * scale;
            }
            if (mask != null) {
                s = s + mask[mi + j];
            }
            x[in + j] = s;
            max = Math.max(max, s);
        }
        float sum = expAndSum(x, in, n, max, x, in);
        j = 0;
        for (int bound = n - LANES; j <= bound; j += LANES) {
            FloatVector.fromArray(SPECIES, x, in + j).div(sum).intoArray(x, in + j);
        }
        for (; j < n; j++) {
            x[in + j] = x[in + j] / sum;
        }
    }

    /**
     * One row of INT8 attention's float middle, {@code quantize(softmax(dequantize(q) (/ or *) scale + mask))}, in
     * three passes over the row instead of six, with the bits of {@link Quantization#dequantize}, the scale (one IEEE
     * division or multiplication) and the mask (one addition), {@link #softmaxRow} and {@link Quantization#quantize}
     * run one after the other: every element goes through the same IEEE operations in the same order (the maximum is exact in any
     * order; the exponentials and their sum are {@link #expAndSum}'s, on the same chunks), so only the stores and
     * reloads between the steps are gone.
     *
     * @param mask   the row's additive mask (contiguous) or null
     * @param row    scratch of at least {@code n} floats
     * @param inverse {@code 1f / outScale}, as {@link Quantization#quantize} computes it
     */
    static void quantizedSoftmaxRow(byte[] q, int qi, int n, float qScale, int qZero, boolean scaled, float scale,
                                    boolean divide, float[] mask, int mi, float[] row, byte[] out, int oi,
                                    float inverse, int outZero, int qmin, int qmax) {
        FloatVector top = FloatVector.broadcast(SPECIES, Float.NEGATIVE_INFINITY);
        int j = 0;
        for (int bound = n - LANES; j <= bound; j += LANES) {
            IntVector v = ((IntVector) ByteVector.fromArray(BYTES, q, qi + j).convertShape(VectorOperators.B2I, INTS, 0))
                    .and(0xFF);
            FloatVector f = ((FloatVector) v.sub(qZero).convert(VectorOperators.I2F, 0)).mul(qScale);
            if (scaled) {
                f = divide ? f.div(scale) : f.mul(scale);
            }
            if (mask != null) {
                f = f.add(FloatVector.fromArray(SPECIES, mask, mi + j));
            }
            f.intoArray(row, j);
            top = top.max(f);
        }
        float max = top.reduceLanes(VectorOperators.MAX);
        for (; j < n; j++) {
            float s = qScale * (float) ((q[qi + j] & 0xFF) - qZero);
            if (scaled) {
                s = divide ? s / scale : s * scale;
            }
            if (mask != null) {
                s = s + mask[mi + j];
            }
            row[j] = s;
            max = Math.max(max, s);
        }
        float sum = expAndSum(row, 0, n, max, row, 0);
        j = 0;
        for (int bound = n - LANES; j <= bound; j += LANES) {
            FloatVector p = FloatVector.fromArray(SPECIES, row, j).div(sum).mul(inverse);
            p = p.blend(-LIMIT, p.test(VectorOperators.IS_NAN)).max(-LIMIT).min(LIMIT).add(MAGIC).sub(MAGIC);
            IntVector r = ((IntVector) p.convert(VectorOperators.F2I, 0)).add(outZero).max(qmin).min(qmax);
            ((ByteVector) r.convertShape(VectorOperators.I2B, BYTES, 0)).intoArray(out, oi + j);
        }
        for (; j < n; j++) {
            out[oi + j] = (byte) Quantization.quantizeOne(row[j] / sum, inverse, outZero, qmin, qmax);
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
        float lanes = 0f;
        for (int l = 0; l < LANES; l++) { // the lane partials left to right (reduceLanes may use any order)
            lanes += acc.lane(l);
        }
        return fixedOrderSum(lanes, x, in, j, n, max, out, o);
    }

    /**
     * The lane partials' sum (added left to right by the caller, lane by lane rather than through {@code toArray()},
     * which allocated an array per row: the same sums in the same order), then the scalar tail.
     */
    private static float fixedOrderSum(float lanes, float[] x, int in, int j, int n, float max, float[] out, int o) {
        float sum = lanes;
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
        for (int l = 0; l < D_LANES; l++) { // lane by lane, left to right (toArray would allocate per row)
            sum += acc.lane(l);
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
        for (int l = 0; l < D_LANES; l++) { // lane by lane, left to right (toArray would allocate per row)
            sum += acc.lane(l);
        }
        for (; j < n; j++) {
            double d = x[in + j] - mean;
            sum += d * d;
        }
        return sum;
    }
}
