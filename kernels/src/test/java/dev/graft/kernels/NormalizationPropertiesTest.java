package dev.graft.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * The vector elementwise and normalization kernels against their double references, on awkward lengths (1, primes,
 * vector tails) and extreme inputs.
 *
 * <p>Tolerances. gelu/erf: the kernels are bit-identical to {@link FastFloatMath}, whose error bound the dense scan
 * of {@link FastFloatMathAccuracyTest} establishes (6 and 1.5 ulp), so those are used here. softmax: each
 * exponential is within 1 ulp, the float sum of n positive terms within {@code (n-1) u} relative, the division 0.5
 * ulp, and {@code x - max} rounded in float moves exp's argument by up to {@code u |x - max|}:
 * {@code |y - ref| <= ((n + 4) u + u |x - max|) * ref + MIN_NORMAL}. layer_norm works in double and rounds once, as the
 * reference; only summation order differs (relative 1e-15 of the row's scale), so 1 ulp plus a relative 1e-12.
 */
class NormalizationPropertiesTest {

    private static final double U = 0x1p-24;

    private static float[] random(int n, Random r, float scale, float shift) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = shift + scale * (float) r.nextGaussian();
        }
        return a;
    }

    @Property(tries = 200)
    void geluAndErfMatchTheirBounds(@ForAll @IntRange(min = 1, max = 300) int n, @ForAll long seed) {
        Random r = new Random(seed);
        float[] x = random(n + 3, r, 4f, 0f);
        x[r.nextInt(n + 3)] = -14f + r.nextFloat();
        float[] got = new float[n];
        float[] ref = new float[n];
        Elementwise.gelu(x, 3, got, 0, n);
        Elementwise.geluReference(x, 3, ref, 0, n);
        for (int i = 0; i < n; i++) {
            assertEquals(FastFloatMath.gelu(x[3 + i]), got[i], 0f, "vector lane == scalar");
            assertEquals(ref[i], got[i], 6 * Math.ulp(ref[i]) + 8 * Float.MIN_VALUE, "gelu(" + x[3 + i] + ")");
        }
        Elementwise.erf(x, 3, got, 0, n);
        Elementwise.erfReference(x, 3, ref, 0, n);
        for (int i = 0; i < n; i++) {
            assertEquals(FastFloatMath.erf(x[3 + i]), got[i], 0f, "vector lane == scalar");
            // 1.78 ulp from the exact value (exhaustive scan over 1e-4 <= |x| <= 8), plus up to 0.5 ulp because the
            // reference array holds the float-rounded exact value.
            assertEquals(ref[i], got[i], 2.3 * Math.ulp(ref[i]), "erf(" + x[3 + i] + ")");
        }
    }

    @Property(tries = 200)
    void softmaxMatchesReference(@ForAll @IntRange(min = 1, max = 5) int rows,
                                 @ForAll @IntRange(min = 1, max = 131) int cols, @ForAll boolean masked,
                                 @ForAll long seed) {
        Random r = new Random(seed);
        float[] x = random(rows * cols + 1, r, 5f, 0f);
        if (masked) {
            // BERT's padding mask: -FLT_MAX (or -inf) added to the scores of padded keys
            for (int i = 1; i < x.length; i += 1 + r.nextInt(3)) {
                x[i] = r.nextBoolean() ? -Float.MAX_VALUE : Float.NEGATIVE_INFINITY;
            }
        }
        float[] got = new float[rows * cols];
        float[] ref = new float[rows * cols];
        Normalization.softmaxRows(x, 1, rows, cols, got, 0);
        Normalization.softmaxRowsReference(x, 1, rows, cols, ref, 0);
        for (int i = 0; i < got.length; i++) {
            if (Float.isNaN(ref[i])) { // a row of -inf only: -inf - (-inf) is NaN, as in PyTorch
                assertTrue(Float.isNaN(got[i]), "element " + i);
                continue;
            }
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < cols; j++) {
                max = Math.max(max, x[1 + (i / cols) * cols + j]);
            }
            // plus the rounding of x - max in float (as PyTorch's float kernel): relative u * |x - max| in exp
            double tol = ref[i] == 0f ? Float.MIN_NORMAL // masked keys: exp underflows to an exact 0
                    : ((cols + 4) * U + U * Math.abs((double) x[1 + i] - max)) * ref[i] + Float.MIN_NORMAL;
            assertEquals(ref[i], got[i], tol, "element " + i);
        }
    }

    @Property(tries = 200)
    void layerNormMatchesReference(@ForAll @IntRange(min = 1, max = 4) int rows,
                                   @ForAll @IntRange(min = 1, max = 400) int cols, @ForAll boolean affine,
                                   @ForAll long seed) {
        Random r = new Random(seed);
        // a large offset against a small spread: the case where float statistics would lose digits
        float[] x = random(rows * cols + 2, r, 1f + 10 * r.nextFloat(), 1000f * r.nextFloat());
        float[] w = affine ? random(cols, r, 1f, 1f) : null;
        float[] b = affine ? random(cols, r, 1f, 0f) : null;
        float[] got = new float[rows * cols];
        float[] ref = new float[rows * cols];
        Normalization.layerNormRows(x, 2, rows, cols, w, b, 1e-12f, got, 0);
        Normalization.layerNormRowsReference(x, 2, rows, cols, w, b, 1e-12f, ref, 0);
        for (int i = 0; i < got.length; i++) {
            assertEquals(ref[i], got[i], Math.ulp(ref[i]) + 1e-12 * (1 + Math.abs(ref[i])), "element " + i);
        }
    }

    @Property(tries = 20)
    void edgeRows(@ForAll @IntRange(min = 1, max = 70) int cols) {
        float[] equal = new float[cols];
        java.util.Arrays.fill(equal, 3f);
        float[] out = new float[cols];
        Normalization.softmaxRows(equal, 0, 1, cols, out, 0);
        for (float v : out) {
            assertEquals(1.0 / cols, v, 2 * Math.ulp(1f / cols));
        }
        float[] allMasked = new float[cols];
        java.util.Arrays.fill(allMasked, -Float.MAX_VALUE);
        Normalization.softmaxRows(allMasked, 0, 1, cols, out, 0);
        assertEquals(1.0 / cols, out[cols - 1], 2 * Math.ulp(1f / cols));
        float[] withNaN = equal.clone();
        withNaN[cols / 2] = Float.NaN;
        Normalization.softmaxRows(withNaN, 0, 1, cols, out, 0);
        for (float v : out) {
            assertTrue(Float.isNaN(v));
        }
        Normalization.layerNormRows(equal, 0, 1, cols, null, null, 1e-5f, out, 0);
        assertArrayEquals(new float[cols], out);
    }
}
