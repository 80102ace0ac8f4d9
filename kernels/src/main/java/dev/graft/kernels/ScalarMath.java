package dev.graft.kernels;

/**
 * Scalar special functions the JDK lacks, computed in double so float32 callers get (almost always) the correctly
 * rounded result. These are the references that vectorized approximations are tested against.
 */
public final class ScalarMath {
    private ScalarMath() {
    }

    private static final double TWO_OVER_SQRT_PI = 1.1283791670955126;

    /**
     * The error function. For |x| < 2.5 the Maclaurin series {@code 2/sqrt(pi) * sum (-1)^n x^(2n+1) / (n! (2n+1))}
     * (terms shrink below 1e-17 relative within ~40 steps; the largest intermediate term is below e^6.25 ~ 520, so
     * cancellation costs at most ~3 of double's 16 digits). Beyond that, {@code erfc} by its continued fraction
     * (Lentz), which converges fast for large x.
     */
    public static double erf(double x) {
        if (Double.isNaN(x)) {
            return x;
        }
        double ax = Math.abs(x);
        if (ax < 2.5) {
            double x2 = x * x;
            double term = x;
            double sum = x;
            for (int n = 1; n < 60; n++) {
                term *= -x2 / n;
                double add = term / (2 * n + 1);
                sum += add;
                if (Math.abs(add) < 1e-17 * Math.abs(sum)) {
                    break;
                }
            }
            return TWO_OVER_SQRT_PI * sum;
        }
        if (ax > 6.0) {
            return Math.copySign(1.0, x);
        }
        double erfc = erfcContinuedFraction(ax);
        return Math.copySign(1.0 - erfc, x);
    }

    /**
     * The complementary error function {@code 1 - erf(x)}, with full relative accuracy in the tail (where
     * {@code 1 - erf(x)} would cancel): the continued fraction for x >= 2.5, {@code 1 - erf(x)} below (at most
     * ~3.4 of double's digits lost to the cancellation at 2.5), {@code 2 - erfc(-x)} for negative x.
     */
    public static double erfc(double x) {
        if (Double.isNaN(x)) {
            return x;
        }
        if (x < 0) {
            return 2.0 - erfc(-x);
        }
        if (x < 2.5) {
            return 1.0 - erf(x);
        }
        return x > 27.0 ? 0.0 : erfcContinuedFraction(x);
    }

    /** erfc(x) for x >= 2.5: exp(-x^2)/sqrt(pi) * 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...)))), evaluated by Lentz. */
    private static double erfcContinuedFraction(double x) {
        final double tiny = 1e-300;
        double f = x;
        double c = x;
        double d = 0;
        for (int n = 1; n < 200; n++) {
            double a = n * 0.5;
            d = x + a * d;
            d = Math.abs(d) < tiny ? tiny : d;
            c = x + a / c;
            c = Math.abs(c) < tiny ? tiny : c;
            d = 1.0 / d;
            double delta = c * d;
            f *= delta;
            if (Math.abs(delta - 1.0) < 1e-16) {
                break;
            }
        }
        return Math.exp(-x * x) / (f * Math.sqrt(Math.PI));
    }

    /** Float erf (rounded from the double result). */
    public static float erf(float x) {
        return (float) erf((double) x);
    }
}
