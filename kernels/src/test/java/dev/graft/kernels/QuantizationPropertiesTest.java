package dev.graft.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * The vector quantize/dequantize loops equal the plain reference bit for bit, on awkward lengths (1, primes, tails
 * of the 16-lane vector) and awkward values: exact ties (k + 0.5 after scaling), NaN, infinities, values far outside
 * the 8-bit range, denormals, both signed and unsigned bytes and zero points at the ends of the range.
 */
class QuantizationPropertiesTest {

    private static float[] awkward(int n, Random r, float scale) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = switch (r.nextInt(10)) {
                case 0 -> (r.nextInt(600) - 300 + 0.5f) * scale;   // a tie after scaling (when exact)
                case 1 -> Float.NaN;
                case 2 -> r.nextBoolean() ? Float.POSITIVE_INFINITY : Float.NEGATIVE_INFINITY;
                case 3 -> (r.nextBoolean() ? 1 : -1) * r.nextFloat() * 1e30f;
                case 4 -> Float.MIN_VALUE * r.nextInt(100);
                default -> (float) r.nextGaussian() * 200f * scale;
            };
        }
        return x;
    }

    @Property(tries = 300)
    void quantizeEqualsTheReference(@ForAll @IntRange(min = 1, max = 300) int n, @ForAll boolean unsigned,
                                    @ForAll long seed) {
        Random r = new Random(seed);
        float scale = (float) Math.exp(r.nextDouble() * 12 - 9);    // 1e-4 .. 20
        int qmin = unsigned ? 0 : -128;
        int qmax = unsigned ? 255 : 127;
        int zp = switch (r.nextInt(4)) {
            case 0 -> qmin;
            case 1 -> qmax;
            default -> qmin + r.nextInt(256);
        };
        float[] x = awkward(n + 5, r, scale);
        byte[] got = new byte[n + 2];
        byte[] want = new byte[n + 2];
        Quantization.quantize(x, 5, got, 2, n, scale, zp, qmin, qmax);
        Quantization.quantizeReference(x, 5, want, 2, n, scale, zp, qmin, qmax);
        assertArrayEquals(want, got, "scale " + scale + " zp " + zp);
    }

    @Property(tries = 300)
    void dequantizeEqualsTheReference(@ForAll @IntRange(min = 1, max = 300) int n, @ForAll boolean unsigned,
                                      @ForAll long seed) {
        Random r = new Random(seed);
        byte[] q = new byte[n + 3];
        r.nextBytes(q);
        float scale = (float) Math.exp(r.nextDouble() * 12 - 9);
        int zp = unsigned ? r.nextInt(256) : r.nextInt(256) - 128;
        float[] got = new float[n + 1];
        float[] want = new float[n + 1];
        Quantization.dequantize(q, 3, unsigned, got, 1, n, scale, zp);
        Quantization.dequantizeReference(q, 3, unsigned, want, 1, n, scale, zp);
        assertArrayEquals(want, got, 0f);
    }

    @Test
    void referenceFollowsFbgemm() {
        float inv = 1f / 0.5f;
        assertEquals(2, Quantization.quantizeOne(0.5f, inv, 1, 0, 255), "rint(1.0) + 1");
        assertEquals(3, Quantization.quantizeOne(0.75f, inv, 1, 0, 255), "rint(1.5) = 2, ties to even");
        assertEquals(3, Quantization.quantizeOne(1.25f, inv, 1, 0, 255), "rint(2.5) = 2, ties to even");
        assertEquals(0, Quantization.quantizeOne(Float.NaN, inv, 10, 0, 255), "NaN to qmin");
        assertEquals(255, Quantization.quantizeOne(Float.POSITIVE_INFINITY, inv, 10, 0, 255));
        assertEquals(-128, Quantization.quantizeOne(-1e30f, inv, 0, -128, 127));
    }
}
