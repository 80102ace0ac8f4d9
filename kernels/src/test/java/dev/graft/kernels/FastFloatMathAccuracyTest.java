package dev.graft.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.DoubleUnaryOperator;

import org.junit.jupiter.api.Test;

/**
 * The error bounds of {@link FastFloatMath}, established by a dense scan: every 64th float (by bit pattern) of the
 * range where the function is not trivially saturated, both signs, about 17 million inputs per function, against
 * the double-precision reference. The error is measured in ulps of the float nearest the reference, so 0.5 is the
 * best possible. The asserted bounds are the measured maxima rounded up (see the report in the javadoc of the
 * tests' messages and the kernels report); results in the subnormal range are held to an absolute bound instead. The
 * vector versions are bit-identical to these (checked in {@code NormalizationPropertiesTest}).
 */
class FastFloatMathAccuracyTest {

    /** Every 64th positive float below {@code limit}; the scan covers +x and -x. */
    private static double maxUlps(float limit, DoubleUnaryOperator reference, FloatFn fast, float[] worst) {
        double max = 0;
        int top = Float.floatToIntBits(limit);
        for (int bits = 0; bits <= top; bits += 64) {
            for (int sign = 0; sign < 2; sign++) {
                float x = Float.intBitsToFloat(bits | (sign << 31));
                double ref = reference.applyAsDouble(x);
                float got = fast.apply(x);
                double err = Math.abs(got - ref) / Math.ulp((float) ref);
                if (Math.abs(ref) < 0x1p-120) {
                    // Tiny results: exp below -83, gelu below -12.7, where exp's or gelu's erfc factor (up to 7x
                    // smaller than the result) is subnormal and has fewer significant bits; only the absolute error
                    // is bounded there: 8 * MIN_VALUE = 1.1e-44 on top of the normal-range bound.
                    assertTrue(Math.abs(got - ref) <= 8 * Float.MIN_VALUE + 6 * Math.ulp((float) ref),
                            "tiny result at " + x + ": " + got + " vs " + ref);
                    continue;
                }
                if (err > max) {
                    max = err;
                    worst[0] = x;
                }
            }
        }
        return max;
    }

    interface FloatFn {
        float apply(float x);
    }

    private static double geluRef(double x) {
        return 0.5 * x * ScalarMath.erfc(-x * 0.7071067811865476);
    }

    @Test
    void erfWithinOneAndAHalfUlps() {
        float[] worst = new float[1];
        double ulps = maxUlps(4.5f, ScalarMath::erf, FastFloatMath::erf, worst);
        System.out.printf("erf: max %.3f ulp at %s%n", ulps, worst[0]);
        assertTrue(ulps <= 1.78, "erf max " + ulps + " ulp at " + worst[0]);
    }

    @Test
    void geluWithinAFewUlps() {
        float[] worst = new float[1];
        double ulps = maxUlps(15f, FastFloatMathAccuracyTest::geluRef, FastFloatMath::gelu, worst);
        System.out.printf("gelu: max %.3f ulp at %s%n", ulps, worst[0]);
        assertTrue(ulps <= 6, "gelu max " + ulps + " ulp at " + worst[0]);
    }

    @Test
    void expWithinAFewUlps() {
        float[] worst = new float[1];
        // exp(-103) is subnormal: ulps there are measured against the subnormal spacing
        double ulps = maxUlps(88f, Math::exp, FastFloatMath::exp, worst);
        System.out.printf("exp: max %.3f ulp at %s%n", ulps, worst[0]);
        assertTrue(ulps <= 2.0, "exp max " + ulps + " ulp at " + worst[0]);
    }

    @Test
    void specialValues() {
        assertEquals(1f, FastFloatMath.erf(Float.POSITIVE_INFINITY));
        assertEquals(-1f, FastFloatMath.erf(-100f));
        assertTrue(Float.isNaN(FastFloatMath.erf(Float.NaN)));
        assertEquals(Float.POSITIVE_INFINITY, FastFloatMath.gelu(Float.POSITIVE_INFINITY));
        assertEquals(-0f, FastFloatMath.gelu(-30f));
        assertEquals(-0f, FastFloatMath.gelu(-0f));
        assertEquals(0f, FastFloatMath.gelu(0f));
        assertTrue(Float.isNaN(FastFloatMath.gelu(Float.NaN)));
        assertEquals(0f, FastFloatMath.exp(Float.NEGATIVE_INFINITY));
        assertEquals(0f, FastFloatMath.exp(-Float.MAX_VALUE));
        assertEquals(Float.POSITIVE_INFINITY, FastFloatMath.exp(100f));
        assertTrue(Float.isNaN(FastFloatMath.exp(Float.NaN)));
        assertEquals(1f, FastFloatMath.exp(0f));
    }
}
