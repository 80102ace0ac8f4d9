package dev.graft.kernels;

/**
 * How far two FP32 results of the same sum may lie apart when only the summation order (and fused multiply-add)
 * differ.
 *
 * <p>For a sum of {@code t} rounded terms in any order and grouping, each computed result lies within
 * {@code gamma(t) * S} of the exact value, where {@code S} is the sum of the terms' magnitudes and
 * {@code gamma(t) = t*u / (1 - t*u)}, {@code u = 2^-24} (Higham, <i>Accuracy and Stability of Numerical
 * Algorithms</i>, 2nd ed., section 4.2; one more {@code u} per term covers rounding the product {@code a*b}, which
 * FMA only avoids). Two such results therefore differ by at most {@code 2 * gamma(t) * S}. This bound is rigorous,
 * so the comparison can never be flaky, yet it is tight enough to catch real bugs: dropping or doubling a single
 * term of a k-term sum moves the result by about {@code S/k}, far above {@code 2*k*u*S} for any k we test.
 */
final class Tolerance {

    private static final double U = 0x1p-24;

    private Tolerance() {
    }

    /** Allowed |difference| for a sum of {@code terms} terms whose magnitudes add up to {@code absSum}. */
    static double of(int terms, double absSum) {
        double gamma = terms * U / (1 - terms * U);
        return 2 * gamma * absSum + Float.MIN_NORMAL;
    }
}
