package dev.graft.ops;

import dev.graft.kernels.ScalarMath;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link ScalarMath#erf} (the kernels' reference that MathOps.ERF and GELU use) against known values and its basic
 * properties. Reference values are erf correctly rounded to double (checked with mpmath). ScalarMath targets float32
 * callers (its documentation says so), and its Maclaurin series for |x| < 2.5 loses a few double ulps to
 * cancellation (erf(2) is 5e-16 off), so these double results are held to 1e-15: still ten million times finer than
 * a float32 ulp near 1.
 */
class ScalarMathErfTest {

    private static final double TOL = 1e-15;

    @Test
    void knownValues() {
        assertEquals(0.0, ScalarMath.erf(0.0), 0.0);
        assertEquals(0.5204998778130465, ScalarMath.erf(0.5), TOL);
        assertEquals(0.8427007929497149, ScalarMath.erf(1.0), TOL);
        assertEquals(0.9953222650189527, ScalarMath.erf(2.0), TOL);
        assertEquals(0.9999779095030014, ScalarMath.erf(3.0), TOL);
        assertEquals(0.1124629160182849, ScalarMath.erf(0.1), TOL);
        assertEquals(0.9999999845827421, ScalarMath.erf(4.0), TOL);
        assertEquals(1.0, ScalarMath.erf(10.0), 0.0);
        assertEquals(-1.0, ScalarMath.erf(Double.NEGATIVE_INFINITY), 0.0);
        assertEquals(1.0, ScalarMath.erf(Double.POSITIVE_INFINITY), 0.0);
        assertTrue(Double.isNaN(ScalarMath.erf(Double.NaN)));
        // the float versions are the correctly rounded float32 values
        assertEquals((float) 0.5204998778130465, ScalarMath.erf(0.5f));
        assertEquals((float) 0.8427007929497149, ScalarMath.erf(1.0f));
        assertEquals((float) 0.9953222650189527, ScalarMath.erf(2.0f));
        assertEquals((float) 0.9999779095030014, ScalarMath.erf(3.0f));
    }

    @Test
    void oddSymmetry() {
        for (double x = -7; x <= 7; x += 0.01) {
            assertEquals(-ScalarMath.erf(x), ScalarMath.erf(-x), 0.0, "at " + x);
        }
        for (float x = -7; x <= 7; x += 0.01f) {
            assertEquals(-ScalarMath.erf(x), ScalarMath.erf(-x), 0.0f, "at " + x);
        }
    }

    @Test
    void boundedAndMonotoneOnAGrid() {
        double previous = -1;
        for (double x = -8; x <= 8; x += 1.0 / 1024) {
            double e = ScalarMath.erf(x);
            assertTrue(Math.abs(e) <= 1.0, "|erf(" + x + ")| = " + Math.abs(e));
            assertTrue(e >= previous, "erf not monotone at " + x + ": " + e + " < " + previous);
            previous = e;
        }
    }

    @Test
    void floatErfIsMonotoneUlpByUlpAcrossTheMethodSwitches() {
        // The implementation changes method at |x| = 2.5 and again at 6; a seam would show as a step backwards.
        for (float seam : new float[] {-6f, -2.5f, 2.5f, 6f}) {
            float x = seam;
            for (int i = 0; i < 256; i++) {
                x = Math.nextDown(x);
            }
            float previous = ScalarMath.erf(x);
            for (int i = 0; i < 512; i++) {
                x = Math.nextUp(x);
                float e = ScalarMath.erf(x);
                assertTrue(e >= previous, "float erf not monotone at " + x);
                assertTrue(Math.abs(e) <= 1f);
                previous = e;
            }
        }
    }

    @Test
    void agreesWithAnIndependentSeriesOnAGrid() {
        // Measured against mpmath on a 1/1024 grid: ScalarMath's double erf is at most 5.0e-15 off (at 2.484, the
        // series' worst cancellation just below its switch at 2.5; its documentation allows up to ~3 lost digits),
        // and Ref.erf, whose terms are products of ~x^2 rounded ratios, up to ~2e-15 (near 4.6). Hence 1e-14.
        for (double x = -7; x <= 7; x += 1.0 / 64) {
            assertEquals(Ref.erf(x), ScalarMath.erf(x), 1e-14, "at " + x);
            // float erf is correctly rounded on this grid (worst case 0.4997 ulp from the exact value, far enough
            // from a rounding midpoint that neither double error can flip it)
            float f = (float) x;
            assertEquals((float) Ref.erf(f), ScalarMath.erf(f), "float at " + f);
        }
    }
}
