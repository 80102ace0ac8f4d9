package dev.graft.kernels;

/**
 * Float32 {@code exp}, {@code erf} and GELU accurate to a few float ulps at a fraction of the cost of the
 * double-precision references in {@link ScalarMath} (whose erf runs a series of up to 60 terms).
 *
 * <p>These scalar versions perform exactly the operations of {@link VectorFloatMath}, in the same order and with the
 * same fused multiply-adds ({@link Math#fma} and the vector {@code fma} are both correctly rounded), so vector and
 * scalar results are bit-identical; the vector kernels use them for their tails.
 *
 * <p>The approximations (coefficients fitted by least squares on Chebyshev nodes against mpmath, then rounded to
 * float):
 * <ul>
 * <li>{@code exp(a + b)} for an exact {@code a} and a small correction {@code b}: Cody-Waite reduction
 *     {@code r = a - k ln2 + b}, {@code |r| <= ln2/2}, then {@code 1 + r + r^2 q(r)} with q of degree 5 (relative
 *     error 1e-9 before rounding), scaled by {@code 2^k} in two steps so that results down to the subnormals round
 *     correctly. Taking the argument in two parts lets callers pass {@code -x^2} exactly (as {@code hi + lo} from an
 *     FMA): a rounded {@code x^2 ~ 100} alone would cost 100 ulps of relative error in {@code exp(-x^2)}.</li>
 * <li>{@code erfc(z) = t exp(-z^2 + Q(t))}, {@code t = 1 / (1 + z/2)}, for {@code 0 <= z <= 10.6} (the form of
 *     Numerical Recipes' erfcc, refitted): Q of degree 10 in the centred variable {@code (t - MID) / HALF};
 *     |error of Q| <= 3.2e-8 with float coefficients, i.e. relative error 3.2e-8 in erfc.</li>
 * <li>{@code erf(x) = x (C0 + x^2 P(x^2))} for {@code |x| < 1.25}, {@code 2/sqrt(pi)} split into two floats so that
 *     its rounding does not add half an ulp; {@code 1 - erfc(|x|)} (sign restored) beyond, 1 beyond 4.</li>
 * <li>{@code gelu(x) = x/2 erfc(-x/sqrt 2)}: for x &lt;= 0 the erfc form keeps full relative accuracy where
 *     {@code 1 + erf} would cancel; for x &gt; 0 it is {@code x - x/2 erfc(x/sqrt 2)}. {@code z^2 = x^2/2} is passed
 *     exactly.</li>
 * </ul>
 * Measured error bounds are in {@code FastFloatMathAccuracyTest} (a dense scan of all floats in the ranges that
 * matter, against the double references).
 */
public final class FastFloatMath {

    private FastFloatMath() {
    }

    static final float LOG2E = 1.442695f;
    /** ln 2 split so that {@code k * LN2_HI} is exact for |k| < 2^9 (its low 9 significand bits are zero). */
    static final float LN2_HI = 0.693145751953125f;
    static final float LN2_LO = 1.4286068e-6f;
    /** 1.5 * 2^23: {@code (v + MAGIC) - MAGIC == rint(v)} for |v| < 2^22. */
    static final float MAGIC = 12582912f;
    /** Below this argument exp underflows to 0 (exp(-104) < MIN_VALUE / 2). */
    static final float EXP_UNDERFLOW = -104f;
    static final float EXP_OVERFLOW = 89f;
    static final float E3 = 0.16666667f;
    static final float E4 = 0.041666497f;
    static final float E5 = 0.008333303f;
    static final float E6 = 0.00139304f;
    static final float E7 = 0.00019895902f;

    static final float T_MID = 0.579365074634552f;
    static final float T_INV_HALF = 2.3773584365844727f;
    static final float[] Q = {-0.5640254020690918f, 0.5754277110099792f, 0.016903968527913094f,
        -0.030275803059339523f, -0.0012701572850346565f, 0.0039022653363645077f, -0.00025255815126001835f,
        -0.0005804027896374464f, 0.00013295761891640723f, 6.163092621136457e-05f, -2.4236420358647592e-05f};

    static final float ERF_SMALL = 1.25f;
    static final float ERF_ONE = 4f;
    static final float C0_HI = 1.1283792f;
    static final float C0_LO = (float) (1.1283791670955126 - 1.1283792f);
    static final float P1 = -0.37612631916999817f;
    static final float P2 = 0.11283695697784424f;
    static final float P3 = -0.026861093938350677f;
    static final float P4 = 0.005210652016103268f;
    static final float P5 = -0.000835572776850313f;
    static final float P6 = 0.00010472784924786538f;
    static final float P7 = -7.72392286307877e-06f;

    static final float INV_SQRT2 = 0.70710677f;
    /** Beyond this |x| erfc(|x|/sqrt 2) underflows in GELU (x/2 erfc < MIN_VALUE / 2): GELU is x or -0. */
    static final float GELU_SATURATE = 14.5f;

    /** {@code exp(x)}, within 1 ulp plus the Cody-Waite rounding (see the accuracy test); NaN stays NaN. */
    public static float exp(float x) {
        return expSplit(x, 0f);
    }

    /** {@code exp(a + b)} where {@code a} carries the magnitude and {@code b} a small (|b| &lt; 2) correction. */
    static float expSplit(float a, float b) {
        float s = a + b;
        float clamped = Math.min(Math.max(s, EXP_UNDERFLOW), EXP_OVERFLOW);
        float kf = (clamped * LOG2E + MAGIC) - MAGIC;
        float r = Math.fma(kf, -LN2_HI, a);
        r = Math.fma(kf, -LN2_LO, r);
        r = r + b;
        float q = Math.fma(E7, r, E6);
        q = Math.fma(q, r, E5);
        q = Math.fma(q, r, E4);
        q = Math.fma(q, r, E3);
        q = Math.fma(q, r, 0.5f);
        float p = Math.fma(r * r, q, r) + 1f;
        int k = (int) kf;
        int k1 = k >> 1;
        float y = p * Float.intBitsToFloat((k1 + 127) << 23) * Float.intBitsToFloat((k - k1 + 127) << 23);
        return s < EXP_UNDERFLOW ? 0f : y;
    }

    /** {@code erfc(z) = t exp(a + b + Q(t))} for {@code z >= 0} with {@code -z^2 = a + b} exactly. */
    static float erfcCore(float z, float a, float b) {
        float t = 1f / Math.fma(z, 0.5f, 1f);
        float s = (t - T_MID) * T_INV_HALF;
        float q = Q[10];
        for (int i = 9; i >= 0; i--) {
            q = Math.fma(q, s, Q[i]);
        }
        return t * expSplit(a, q + b);
    }

    /** {@code erf(x)} for float x (see the class comment for the method and the accuracy test for its bound). */
    public static float erf(float x) {
        float ax = Math.abs(x);
        float x2 = x * x;
        float p = Math.fma(P7, x2, P6);
        p = Math.fma(p, x2, P5);
        p = Math.fma(p, x2, P4);
        p = Math.fma(p, x2, P3);
        p = Math.fma(p, x2, P2);
        p = Math.fma(p, x2, P1);
        p = Math.fma(p, x2, C0_LO);
        float small = Math.fma(x, C0_HI, x * p);
        if (ax < ERF_SMALL) {
            return small;
        }
        float lo = Math.fma(x, x, -x2);
        float e = ax > ERF_ONE ? 0f : erfcCore(ax, -x2, -lo);
        return Math.copySign(1f - e, x);
    }

    /** {@code x/2 (1 + erf(x / sqrt 2))}, BERT's GELU. */
    public static float gelu(float x) {
        float z = Math.abs(x) * INV_SQRT2;
        float x2 = x * x;
        float lo = Math.fma(x, x, -x2);
        float e = Math.abs(x) > GELU_SATURATE ? 0f : erfcCore(z, -0.5f * x2, -0.5f * lo);
        // min(x, 16): e is 0 beyond the saturation, and +inf * 0 would make gelu(+inf) NaN instead of +inf
        float h = 0.5f * Math.min(x, 16f) * e;
        return x <= 0f ? h : x - h;
    }
}
