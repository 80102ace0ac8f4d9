package dev.graft.kernels;

import static dev.graft.kernels.FastFloatMath.C0_HI;
import static dev.graft.kernels.FastFloatMath.C0_LO;
import static dev.graft.kernels.FastFloatMath.E3;
import static dev.graft.kernels.FastFloatMath.E4;
import static dev.graft.kernels.FastFloatMath.E5;
import static dev.graft.kernels.FastFloatMath.E6;
import static dev.graft.kernels.FastFloatMath.E7;
import static dev.graft.kernels.FastFloatMath.ERF_ONE;
import static dev.graft.kernels.FastFloatMath.ERF_SMALL;
import static dev.graft.kernels.FastFloatMath.EXP_OVERFLOW;
import static dev.graft.kernels.FastFloatMath.EXP_UNDERFLOW;
import static dev.graft.kernels.FastFloatMath.GELU_SATURATE;
import static dev.graft.kernels.FastFloatMath.INV_SQRT2;
import static dev.graft.kernels.FastFloatMath.LN2_HI;
import static dev.graft.kernels.FastFloatMath.LN2_LO;
import static dev.graft.kernels.FastFloatMath.LOG2E;
import static dev.graft.kernels.FastFloatMath.MAGIC;
import static dev.graft.kernels.FastFloatMath.Q;
import static dev.graft.kernels.FastFloatMath.T_INV_HALF;
import static dev.graft.kernels.FastFloatMath.T_MID;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link FastFloatMath} on the Vector API: the same operations in the same order, so every lane is bit-identical to
 * the scalar function. Methods are kept small (each well under C2's inlining budget for vector code) and take whole
 * vectors; the loops over arrays live in {@link Elementwise} and {@link VectorNormalization}.
 */
final class VectorFloatMath {

    static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    static final int LANES = SPECIES.length();

    private VectorFloatMath() {
    }

    /** {@code exp(a + b)}, as {@link FastFloatMath#expSplit}. */
    static FloatVector expSplit(FloatVector a, FloatVector b) {
        FloatVector s = a.add(b);
        FloatVector clamped = s.max(EXP_UNDERFLOW).min(EXP_OVERFLOW);
        FloatVector kf = clamped.mul(LOG2E).add(MAGIC).sub(MAGIC);
        FloatVector r = kf.fma(FloatVector.broadcast(SPECIES, -LN2_HI), a);
        r = kf.fma(FloatVector.broadcast(SPECIES, -LN2_LO), r).add(b);
        FloatVector p = expPolynomial(r);
        IntVector k = (IntVector) kf.convert(VectorOperators.F2I, 0);
        IntVector k1 = k.lanewise(VectorOperators.ASHR, 1);
        FloatVector scale1 = k1.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector scale2 = k.sub(k1).add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector y = p.mul(scale1).mul(scale2);
        return y.blend(0f, s.compare(VectorOperators.LT, EXP_UNDERFLOW));
    }

    /** {@code 1 + r + r^2 q(r)}. */
    private static FloatVector expPolynomial(FloatVector r) {
        FloatVector q = r.fma(E7, E6);
        q = q.fma(r, FloatVector.broadcast(SPECIES, E5));
        q = q.fma(r, FloatVector.broadcast(SPECIES, E4));
        q = q.fma(r, FloatVector.broadcast(SPECIES, E3));
        q = q.fma(r, FloatVector.broadcast(SPECIES, 0.5f));
        return r.mul(r).fma(q, r).add(1f);
    }

    /** {@code erfc(z)} for z &gt;= 0 with {@code -z^2 = a + b}, as {@link FastFloatMath#erfcCore}. */
    static FloatVector erfcCore(FloatVector z, FloatVector a, FloatVector b) {
        FloatVector t = FloatVector.broadcast(SPECIES, 1f).div(z.fma(0.5f, 1f));
        FloatVector s = t.sub(T_MID).mul(T_INV_HALF);
        FloatVector q = FloatVector.broadcast(SPECIES, Q[10]);
        for (int i = 9; i >= 0; i--) {
            q = q.fma(s, FloatVector.broadcast(SPECIES, Q[i]));
        }
        return t.mul(expSplit(a, q.add(b)));
    }

    /** {@code erf} on |x| &lt; 1.25: the odd polynomial. */
    private static FloatVector erfSmall(FloatVector x) {
        FloatVector x2 = x.mul(x);
        FloatVector p = x2.fma(FastFloatMath.P7, FastFloatMath.P6);
        p = p.fma(x2, FloatVector.broadcast(SPECIES, FastFloatMath.P5));
        p = p.fma(x2, FloatVector.broadcast(SPECIES, FastFloatMath.P4));
        p = p.fma(x2, FloatVector.broadcast(SPECIES, FastFloatMath.P3));
        p = p.fma(x2, FloatVector.broadcast(SPECIES, FastFloatMath.P2));
        p = p.fma(x2, FloatVector.broadcast(SPECIES, FastFloatMath.P1));
        p = p.fma(x2, FloatVector.broadcast(SPECIES, C0_LO));
        return x.fma(FloatVector.broadcast(SPECIES, C0_HI), x.mul(p));
    }

    /** {@code erf(x)}, as {@link FastFloatMath#erf}; the erfc branch is skipped when no lane needs it. */
    static FloatVector erf(FloatVector x) {
        FloatVector small = erfSmall(x);
        FloatVector ax = x.abs();
        VectorMask<Float> isSmall = ax.compare(VectorOperators.LT, ERF_SMALL);
        if (isSmall.allTrue()) {
            return small;
        }
        FloatVector x2 = x.mul(x);
        FloatVector lo = x.fma(x, x2.neg());
        FloatVector e = erfcCore(ax, x2.neg(), lo.neg()).blend(0f, ax.compare(VectorOperators.GT, ERF_ONE));
        FloatVector large = FloatVector.broadcast(SPECIES, 1f).sub(e);
        // copySign: the sign bit of x on |1 - e|, which is non-negative
        FloatVector signed = large.lanewise(VectorOperators.NEG, x.compare(VectorOperators.LT, 0f));
        signed = signed.blend(x, x.test(VectorOperators.IS_NAN));
        return signed.blend(small, isSmall);
    }

    /** {@code x/2 (1 + erf(x / sqrt 2))}, as {@link FastFloatMath#gelu}. */
    static FloatVector gelu(FloatVector x) {
        FloatVector ax = x.abs();
        FloatVector x2 = x.mul(x);
        FloatVector lo = x.fma(x, x2.neg());
        FloatVector e = erfcCore(ax.mul(INV_SQRT2), x2.mul(-0.5f), lo.mul(-0.5f))
                .blend(0f, ax.compare(VectorOperators.GT, GELU_SATURATE));
        FloatVector h = x.min(16f).mul(0.5f).mul(e);
        return x.sub(h).blend(h, x.compare(VectorOperators.LE, 0f));
    }
}
