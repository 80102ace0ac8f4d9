package dev.graft.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * Dynamic quantization's vector loops against their scalar forms, bit for bit: the activations' min/max (NaN and
 * -0.0 as {@link Math#min}/{@link Math#max} treat them) and {@code clamp(rint(fma(x, 1/scale, zp)), 0, 255)} on
 * awkward values (NaN, infinities, -0.0, exact .5 ties, huge magnitudes) and lengths around the vector width.
 */
class DynamicQuantizationPropertiesTest {

    private static float[] values(Random r, int n, float scale, int zp) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = switch (r.nextInt(10)) {
                case 0 -> Float.NaN;
                case 1 -> r.nextBoolean() ? Float.POSITIVE_INFINITY : Float.NEGATIVE_INFINITY;
                case 2 -> r.nextBoolean() ? -0.0f : 0.0f;
                case 3 -> (r.nextInt(600) - 300 + 0.5f - zp) * scale;  // a tie after scaling, most of the time
                case 4 -> (r.nextBoolean() ? 1 : -1) * r.nextFloat() * 1e30f;
                default -> (float) r.nextGaussian() * 100 * scale;
            };
        }
        return x;
    }

    @Property(tries = 300)
    void vectorQuantizeMatchesScalar(@ForAll @IntRange(min = 0, max = 100) int n, @ForAll long seed) {
        Random r = new Random(seed);
        float scale = 0.001f + r.nextFloat();
        int zp = r.nextInt(256);
        float[] x = values(r, n + 3, scale, zp);
        float inverse = 1f / scale;
        byte[] expected = new byte[n + 1];
        byte[] actual = new byte[n + 1];
        DynamicQuantization.quantizeReference(x, 3, n, inverse, zp, expected, 1);
        VectorQuantization.quantizeFma(x, 3, actual, 1, n, inverse, zp);
        assertArrayEquals(expected, actual);
    }

    @Property(tries = 300)
    void vectorMinMaxMatchesScalar(@ForAll @IntRange(min = 1, max = 100) int n, @ForAll long seed,
                                   @ForAll boolean withSpecials) {
        Random r = new Random(seed);
        float[] x = withSpecials ? values(r, n + 2, 0.1f, 0) : new float[n + 2];
        if (!withSpecials) {
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) r.nextGaussian();
            }
        }
        float min = Float.POSITIVE_INFINITY;
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            min = Math.min(min, x[2 + i]);
            max = Math.max(max, x[2 + i]);
        }
        float[] v = VectorQuantization.minMax(x, 2, n);
        assertEquals(Float.floatToRawIntBits(min), Float.floatToRawIntBits(v[0]), "min");
        assertEquals(Float.floatToRawIntBits(max), Float.floatToRawIntBits(v[1]), "max");
    }
}
