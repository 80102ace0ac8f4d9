package dev.graft.ops;

import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.FloatRange;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.DoubleBinaryOperator;
import java.util.function.DoubleUnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Elementwise operators on random views (and broadcast partners) against the {@link Ref} oracle, which computes in
 * double from the float32 inputs.
 *
 * <p>Tolerances. The operators compute each float32 result either with one float32 operation (add, sub, mul, div,
 * leaky_relu's product) or as a double expression rounded once to float32. For the first kind the expected value
 * is exact: a double result of +, -, *, / on two floats, rounded to float, equals the float operation, because
 * double rounding is innocuous when 53 >= 2 * 24 + 2 (Figueroa, 1995). For the second kind the float result is
 * within half a float ulp of the double expression, and the implementation's double expression differs from ours
 * by a few double ulps; one float ulp covers both. GELU forms {@code 1 + erf(...)} (or {@code 1 + tanh}), which
 * cancels for large negative x: there the double rounding of erf (absolute error below 1e-14 for the series the
 * kernel uses, about 20 * 2^-53 from its largest term) is multiplied by |x|/2, hence an extra 1e-13 * |x|. erf and
 * GELU run float kernels (FastFloatMath) instead of rounding a double expression: their dense-scan error bounds,
 * 1.78 ulp for erf (exhaustive) and 5.6 ulp for GELU (the worst in GELU's far negative tail, |gelu| < 1e-18), set their
 * tolerances.
 */
class MathPropertiesTest {

    @Provide
    Arbitrary<int[]> shapes() {
        return ViewChains.shapes();
    }

    @Provide
    Arbitrary<List<Integer>> chains() {
        return ViewChains.chains();
    }

    private record Unary(Op op, DoubleUnaryOperator ref, Ref.Tolerance tol) {
    }

    private static double sigmoid(double x) {
        return 1 / (1 + Math.exp(-x));
    }

    private static final Ref.Tolerance ONE_ULP = Ref.ulps(1);

    private static Map<String, Unary> unaryOps() {
        Map<String, Unary> m = new LinkedHashMap<>();
        m.put("neg", new Unary(MathOps.NEG, x -> -x, Ref.EXACT));
        m.put("abs", new Unary(MathOps.ABS, Math::abs, Ref.EXACT));
        m.put("relu", new Unary(MathOps.RELU, x -> x < 0 ? 0 : x, Ref.EXACT));
        m.put("exp", new Unary(MathOps.EXP, Math::exp, ONE_ULP));
        m.put("log", new Unary(MathOps.LOG, Math::log, ONE_ULP));
        m.put("sqrt", new Unary(MathOps.SQRT, Math::sqrt, ONE_ULP));
        m.put("rsqrt", new Unary(MathOps.RSQRT, x -> 1 / Math.sqrt(x), ONE_ULP));
        // erf runs the float kernel FastFloatMath.erf, measured within 1.78 ulp by an exhaustive scan of every float with 1e-4 <= |x| <= 8 (kernels'
        // FastFloatMathAccuracyTest), not a double expression rounded once.
        m.put("erf", new Unary(MathOps.ERF, Ref::erf, Ref.ulps(2)));
        m.put("sigmoid", new Unary(MathOps.SIGMOID, MathPropertiesTest::sigmoid, ONE_ULP));
        m.put("tanh", new Unary(MathOps.TANH, Math::tanh, ONE_ULP));
        m.put("silu", new Unary(MathOps.SILU, x -> x * sigmoid(x), ONE_ULP));
        m.put("gelu", new Unary(MathOps.GELU, x -> 0.5 * x * (1 + Ref.erf(x / Math.sqrt(2))), null));
        m.put("gelu_tanh", new Unary(MathOps.GELU_TANH,
                x -> 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x))), null));
        return m;
    }

    @Property(tries = 50)
    void unaryOpsMatchTheReference(@ForAll("shapes") int[] shape, @ForAll("chains") List<Integer> chain,
                                   @ForAll long seed) {
        ViewChains.Pair p = ViewChains.applyChain(ViewChains.randomBase(shape, seed), chain);
        for (Map.Entry<String, Unary> e : unaryOps().entrySet()) {
            Unary u = e.getValue();
            Ref expected = p.r().map(u.ref());
            Ref.Tolerance tol = u.tol() != null ? u.tol()
                    : (ex, idx) -> (u.op() == MathOps.GELU ? 6 : 1) * Math.ulp((float) ex)
                            + 1e-13 * Math.abs(p.r().get(idx));
            Tensor out = Dispatch.apply(u.op(), p.t());
            assertEquals(DType.FLOAT32, out.dtype(), e.getKey());
            try {
                Ref.assertClose(expected, out, tol);
            } catch (AssertionError err) {
                throw new AssertionError(e.getKey() + " on " + ViewChains.describe(p) + ": " + err.getMessage(), err);
            }
        }
        // The Tensor methods dispatch to the same ops.
        Ref.assertClose(p.r().map(Math::exp), p.t().exp(), ONE_ULP);
        Ref.assertExact(p.r().map(x -> -x), p.t().neg());
        Ref.assertExact(p.r().map(Math::abs), p.t().abs());
        Ref.assertClose(p.r().map(Ref::erf), p.t().erf(), Ref.ulps(2));
    }

    @Property(tries = 50)
    void leakyReluAndClamp(@ForAll("shapes") int[] shape, @ForAll("chains") List<Integer> chain, @ForAll long seed,
                           @ForAll @FloatRange(min = -3, max = 3) float lo, @ForAll @FloatRange(min = -3, max = 3) float hi,
                           @ForAll @FloatRange(min = 0, max = 1) float slope) {
        ViewChains.Pair p = ViewChains.applyChain(ViewChains.randomBase(shape, seed), chain);
        // x * slope is a single float multiplication: exact against the double product rounded once.
        Ref.assertExact(p.r().map(x -> x < 0 ? (float) (x * slope) : x),
                Dispatch.apply(MathOps.LEAKY_RELU, p.t(), slope));
        // PyTorch's clamp is std::min(std::max(x, lo), hi): when lo > hi everything becomes hi.
        Ref.assertExact(p.r().map(x -> {
            double y = x < lo ? lo : x;
            return y > hi ? hi : y;
        }), p.t().clamp(lo, hi));
    }

    // ---------------------------------------------------------------- binary

    private record Binary(Op op, DoubleBinaryOperator ref, Ref.Tolerance tol) {
    }

    private static Map<String, Binary> binaryOps() {
        Map<String, Binary> m = new LinkedHashMap<>();
        m.put("add", new Binary(MathOps.ADD, (a, b) -> (float) (a + b), Ref.EXACT));
        m.put("sub", new Binary(MathOps.SUB, (a, b) -> (float) (a - b), Ref.EXACT));
        m.put("mul", new Binary(MathOps.MUL, (a, b) -> (float) (a * b), Ref.EXACT));
        m.put("div", new Binary(MathOps.DIV, (a, b) -> (float) (a / b), Ref.EXACT));
        m.put("maximum", new Binary(MathOps.MAXIMUM, Math::max, Ref.EXACT));
        m.put("minimum", new Binary(MathOps.MINIMUM, Math::min, Ref.EXACT));
        m.put("pow", new Binary(MathOps.POW, Math::pow, ONE_ULP));
        return m;
    }

    @Property(tries = 50)
    void binaryOpsBroadcast(@ForAll("shapes") int[] shape, @ForAll("chains") List<Integer> chain,
                            @ForAll long seed) {
        ViewChains.Pair a = ViewChains.applyChain(ViewChains.randomBase(shape, seed), chain);
        Random rnd = new Random(seed);
        ViewChains.Pair b = ViewChains.strided(ViewChains.broadcastPartner(a.r().shape, rnd), rnd, false);
        boolean swap = rnd.nextBoolean(); // the smaller operand on either side
        ViewChains.Pair x = swap ? b : a;
        ViewChains.Pair y = swap ? a : b;
        for (Map.Entry<String, Binary> e : binaryOps().entrySet()) {
            Binary op = e.getValue();
            Ref.Tolerance tol = op.tol();
            Ref expected = Ref.zip(x.r(), y.r(), op.ref());
            if (op.op() == MathOps.POW) {
                // small integer and half-integer exponents: negative bases give NaN for the latter, in both
                Ref exps = y.r().map(v -> Math.rint(v * 2) / 2);
                Tensor yExp = Tensor.of(toFloats(exps), exps.shape);
                // rounded to float so that overflow to infinity shows on both sides
                expected = Ref.zip(x.r(), exps, (u, v) -> (float) Math.pow(u, v));
                check(e.getKey(), expected, Dispatch.apply(op.op(), x.t(), yExp), tol);
                continue;
            }
            check(e.getKey(), expected, Dispatch.apply(op.op(), x.t(), y.t()), tol);
        }
        // Java number operands are 0-d tensors.
        float s = (float) rnd.nextGaussian();
        check("add scalar", a.r().map(v -> (float) (v + s)), a.t().add(s), Ref.EXACT);
        check("sub scalar", a.r().map(v -> (float) (v - s)), a.t().sub(s), Ref.EXACT);
        check("mul scalar", a.r().map(v -> (float) (v * s)), a.t().mul(s), Ref.EXACT);
        check("div scalar", a.r().map(v -> (float) (v / s)), a.t().div(s), Ref.EXACT);
        check("pow 2", a.r().map(v -> (float) (v * v)), a.t().pow(2f), Ref.EXACT);
        check("pow 3", a.r().map(v -> Math.pow(v, 3)), a.t().pow(3f), ONE_ULP);
        check("add method", Ref.zip(x.r(), y.r(), (u, v) -> (float) (u + v)), x.t().add(y.t()), Ref.EXACT);
        check("maximum method", Ref.zip(x.r(), y.r(), Math::max), x.t().maximum(y.t()), Ref.EXACT);
        check("minimum method", Ref.zip(x.r(), y.r(), Math::min), x.t().minimum(y.t()), Ref.EXACT);
    }

    @Property(tries = 50)
    void integerArithmeticPromotes(@ForAll("shapes") int[] shape, @ForAll long seed) {
        Random rnd = new Random(seed);
        ViewChains.Pair a = ViewChains.strided(shape, rnd, true);
        ViewChains.Pair b = ViewChains.strided(ViewChains.broadcastPartner(shape, rnd), rnd, true);
        Tensor ai = a.t().mul(2f).to(DType.INT32); // exact integers -6..6
        Tensor bl = b.t().mul(2f).to(DType.INT64);
        Ref ar = a.r().map(v -> 2 * v);
        Ref br = b.r().map(v -> 2 * v);
        Tensor sum = ai.add(bl);
        assertEquals(DType.INT64, sum.dtype());
        check("int add", Ref.zip(ar, br, Double::sum), sum, Ref.EXACT);
        check("int sub", Ref.zip(ar, br, (u, v) -> u - v), ai.sub(bl), Ref.EXACT);
        check("int mul", Ref.zip(ar, br, (u, v) -> u * v), ai.mul(bl), Ref.EXACT);
        Tensor same = ai.mul(ai);
        assertEquals(DType.INT32, same.dtype());
        check("int32 mul", ar.map(v -> v * v), same, Ref.EXACT);
        Tensor ratio = ai.div(bl); // true division: float
        assertEquals(DType.FLOAT32, ratio.dtype());
        check("int div", Ref.zip(ar, br, (u, v) -> (float) (u / v)), ratio, Ref.EXACT);
        Tensor mixed = ai.add(b.t());
        assertEquals(DType.FLOAT32, mixed.dtype());
        check("int + float", Ref.zip(ar, b.r(), (u, v) -> (float) (u + v)), mixed, Ref.EXACT);
        Tensor maxed = ai.maximum(bl);
        assertEquals(DType.INT64, maxed.dtype());
        check("int maximum", Ref.zip(ar, br, Math::max), maxed, Ref.EXACT);
        Tensor squared = Dispatch.apply(MathOps.POW, ai, Tensor.full(2f, 1).to(DType.INT32));
        assertEquals(DType.INT32, squared.dtype());
        check("int pow", Ref.zip(ar, new Ref(new int[] {1}, new double[] {2}), Math::pow), squared, Ref.EXACT);
        assertThrows(TensorException.class,
                () -> Dispatch.apply(MathOps.POW, ai, Tensor.full(-1f, 1).to(DType.INT32)).numel());
    }

    // ---------------------------------------------------------------- comparisons and selection

    @Property(tries = 50)
    void comparisonsGiveBool(@ForAll("shapes") int[] shape, @ForAll long seed) {
        Random rnd = new Random(seed);
        ViewChains.Pair a = ViewChains.strided(shape, rnd, true);
        ViewChains.Pair b = ViewChains.strided(ViewChains.broadcastPartner(shape, rnd), rnd, true);
        Map<String, Tensor> got = new LinkedHashMap<>();
        got.put("eq", a.t().eq(b.t()));
        got.put("ne", a.t().ne(b.t()));
        got.put("lt", a.t().lt(b.t()));
        got.put("le", a.t().le(b.t()));
        got.put("gt", a.t().gt(b.t()));
        got.put("ge", a.t().ge(b.t()));
        Map<String, DoubleBinaryOperator> ref = Map.of(
                "eq", (u, v) -> u == v ? 1 : 0, "ne", (u, v) -> u != v ? 1 : 0,
                "lt", (u, v) -> u < v ? 1 : 0, "le", (u, v) -> u <= v ? 1 : 0,
                "gt", (u, v) -> u > v ? 1 : 0, "ge", (u, v) -> u >= v ? 1 : 0);
        for (Map.Entry<String, Tensor> e : got.entrySet()) {
            assertEquals(DType.BOOL, e.getValue().dtype(), e.getKey());
            check(e.getKey(), Ref.zip(a.r(), b.r(), ref.get(e.getKey())), e.getValue(), Ref.EXACT);
            // swapped operands: the broadcast works from either side
            Tensor swapped = Dispatch.apply(opNamed(e.getKey()), b.t(), a.t());
            check(e.getKey() + " swapped", Ref.zip(b.r(), a.r(), ref.get(e.getKey())), swapped, Ref.EXACT);
        }
        check("eq scalar", a.r().map(v -> v == 0.5 ? 1 : 0), a.t().eq(0.5f), Ref.EXACT);
        check("lt scalar", a.r().map(v -> v < 0.5 ? 1 : 0), a.t().lt(0.5f), Ref.EXACT);
        check("gt scalar", a.r().map(v -> v > -1 ? 1 : 0), a.t().gt(-1f), Ref.EXACT);
        check("ge scalar", a.r().map(v -> v >= 1 ? 1 : 0), a.t().ge(1f), Ref.EXACT);
        // integers against floats compare by value
        Tensor ai = a.t().mul(2f).to(DType.INT64);
        check("int lt float", Ref.zip(a.r().map(v -> 2 * v), b.r(), (u, v) -> u < v ? 1 : 0), ai.lt(b.t()),
                Ref.EXACT);
    }

    private static Op opNamed(String name) {
        return switch (name) {
            case "eq" -> MathOps.EQ;
            case "ne" -> MathOps.NE;
            case "lt" -> MathOps.LT;
            case "le" -> MathOps.LE;
            case "gt" -> MathOps.GT;
            default -> MathOps.GE;
        };
    }

    @Property(tries = 50)
    void whereAndMaskedFill(@ForAll("shapes") int[] shape, @ForAll("chains") List<Integer> chain,
                            @ForAll long seed) {
        ViewChains.Pair x = ViewChains.applyChain(ViewChains.randomBase(shape, seed), chain);
        Random rnd = new Random(seed);
        int[] xs = x.r().shape;
        ViewChains.Pair c = ViewChains.strided(ViewChains.broadcastPartner(xs, rnd), rnd, true);
        ViewChains.Pair y = ViewChains.strided(ViewChains.broadcastPartner(xs, rnd), rnd, false);
        Tensor cond = c.t().gt(0f);
        Ref condRef = c.r().map(v -> v > 0 ? 1 : 0);
        // where(cond, x, y): all three broadcast together
        Ref expected = Ref.build(Ref.broadcastShape(Ref.broadcastShape(condRef.shape, xs), y.r().shape),
                idx -> condRef.getBroadcast(idx) != 0 ? x.r().getBroadcast(idx) : y.r().getBroadcast(idx));
        check("where", expected, Tensor.where(cond, x.t(), y.t()), Ref.EXACT);
        Ref swapped = Ref.build(expected.shape,
                idx -> condRef.getBroadcast(idx) != 0 ? y.r().getBroadcast(idx) : x.r().getBroadcast(idx));
        check("where swapped", swapped, Tensor.where(cond, y.t(), x.t()), Ref.EXACT);
        Tensor ints = Tensor.where(cond, Tensor.ofLongs(new long[] {3}), Tensor.ofInts(new int[] {7}, 1));
        assertEquals(DType.INT64, ints.dtype());
        check("where int", Ref.build(Ref.broadcastShape(condRef.shape, new int[] {1}),
                idx -> condRef.getBroadcast(idx) != 0 ? 3 : 7), ints, Ref.EXACT);
        Tensor bools = Tensor.where(cond, cond, cond.eq(cond));
        assertEquals(DType.BOOL, bools.dtype());
        check("where bool", condRef.map(v -> 1), bools, Ref.EXACT);
        // masked_fill: the mask broadcasts to x's shape
        float value = (float) rnd.nextGaussian();
        check("masked_fill", Ref.build(xs, idx -> condRef.getBroadcast(idx) != 0 ? value : x.r().get(idx)),
                x.t().maskedFill(cond, value), Ref.EXACT);
        assertThrows(DTypeException.class, () -> x.t().maskedFill(c.t(), 1f));
        assertThrows(DTypeException.class, () -> Tensor.where(c.t(), x.t(), y.t()));
    }

    // ---------------------------------------------------------------- helpers

    private static void check(String what, Ref expected, Tensor actual, Ref.Tolerance tol) {
        try {
            Ref.assertClose(expected, actual, tol);
        } catch (AssertionError e) {
            throw new AssertionError(what + ": " + e.getMessage(), e);
        }
    }

    private static float[] toFloats(Ref r) {
        float[] f = new float[r.data.length];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) r.data[i];
        }
        return f;
    }
}
