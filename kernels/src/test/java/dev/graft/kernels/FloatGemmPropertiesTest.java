package dev.graft.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Random;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * {@link VectorFloatGemm} against {@link ScalarFloatGemm} on random shapes, layouts, offsets and accumulate
 * modes. Sizes are drawn so that the interesting edges come up often: 1, primes, one below / at / above a vector
 * (16) or tile width (32) or tile height (8), and k beyond one K block.
 */
class FloatGemmPropertiesTest {

    /** How an operand is laid out in its array; STRIDED is a view taking every other column. */
    enum Layout { ROW_MAJOR, COLUMN_MAJOR, STRIDED }

    record GemmCase(int m, int n, int k, Layout aLayout, Layout bLayout, boolean accumulate, long seed) {
    }

    private static final FloatGemm SCALAR = new ScalarFloatGemm();
    private static final FloatGemm VECTOR = new VectorFloatGemm();
    /** Tiny blocks and no skinny path, so every blocking loop and edge of the packed path runs on small sizes. */
    private static final FloatGemm VECTOR_TINY_BLOCKS = new VectorFloatGemm(7, 8, 1, 0);

    @Property(tries = 300)
    void vectorMatchesScalar(@ForAll("cases") GemmCase g) {
        check(VECTOR, g);
    }

    @Property(tries = 200)
    void vectorWithTinyBlocksMatchesScalar(@ForAll("cases") GemmCase g) {
        check(VECTOR_TINY_BLOCKS, g);
    }

    private static final Parallel TWO = new Parallel(2);
    private static final Parallel THREE = new Parallel(3);

    /** Any thread count gives the same bits: each element is summed by one task in the single-thread order. */
    @Property(tries = 150)
    void resultsDoNotDependOnThreadCount(@ForAll("cases") GemmCase g) {
        int scale = 1 + (int) Math.floorMod(g.seed(), 4L); // also cross the size threshold for splitting
        GemmCase big = new GemmCase(g.m() * scale, g.n() * scale, g.k() * scale, g.aLayout(), g.bLayout(),
                g.accumulate(), g.seed());
        float[] one = runOn(new VectorFloatGemm(new Parallel(1)), big);
        assertArrayEquals(one, runOn(new VectorFloatGemm(TWO), big));
        assertArrayEquals(one, runOn(new VectorFloatGemm(THREE), big));
    }

    private static float[] runOn(FloatGemm gemm, GemmCase g) {
        Random random = new Random(g.seed());
        Operand a = Operand.random(g.m(), g.k(), g.aLayout(), random);
        Operand b = Operand.random(g.k(), g.n(), g.bLayout(), random);
        float[] c = randomArray(g.m() * g.n(), random);
        gemm.gemm(g.m(), g.n(), g.k(), a.data, a.off, a.rowStride, a.colStride,
                b.data, b.off, b.rowStride, b.colStride, c, 0, g.n(), g.accumulate());
        return c;
    }

    @Provide
    Arbitrary<GemmCase> cases() {
        Arbitrary<Integer> m = Arbitraries.oneOf(
                Arbitraries.of(1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17),
                Arbitraries.integers().between(1, 70));
        Arbitrary<Integer> n = Arbitraries.oneOf(
                Arbitraries.of(1, 2, 3, 5, 15, 16, 17, 31, 32, 33, 47, 48, 49, 64, 65, 97),
                Arbitraries.integers().between(1, 130));
        Arbitrary<Integer> k = Arbitraries.oneOf(
                Arbitraries.of(1, 2, 3, 7, 15, 16, 17, 31, 33, 255, 256, 257),
                Arbitraries.integers().between(1, 300));
        Arbitrary<Layout> layout = Arbitraries.of(Layout.class);
        return Combinators.combine(m, n, k, layout, layout, Arbitraries.of(false, true), Arbitraries.longs())
                .as(GemmCase::new);
    }

    /** Runs {@code gemm} and the scalar reference on identical inputs and compares element by element. */
    static void check(FloatGemm gemm, GemmCase g) {
        Random random = new Random(g.seed());
        Operand a = Operand.random(g.m(), g.k(), g.aLayout(), random);
        Operand b = Operand.random(g.k(), g.n(), g.bLayout(), random);
        int cOff = random.nextInt(4);
        int ldc = g.n() + random.nextInt(3);
        float[] c0 = randomArray(cOff + (g.m() - 1) * ldc + g.n() + random.nextInt(3), random);
        float[] expected = c0.clone();
        float[] actual = c0.clone();

        SCALAR.gemm(g.m(), g.n(), g.k(), a.data, a.off, a.rowStride, a.colStride,
                b.data, b.off, b.rowStride, b.colStride, expected, cOff, ldc, g.accumulate());
        gemm.gemm(g.m(), g.n(), g.k(), a.data, a.off, a.rowStride, a.colStride,
                b.data, b.off, b.rowStride, b.colStride, actual, cOff, ldc, g.accumulate());

        for (int idx = 0; idx < c0.length; idx++) {
            int rel = idx - cOff;
            int i = Math.floorDiv(rel, ldc);
            int j = rel - i * ldc;
            boolean inside = rel >= 0 && i < g.m() && j < g.n();
            if (!inside) {
                // Padding between and around the rows of C must be left exactly as it was.
                int at = idx;
                assertEquals(c0[idx], actual[idx], 0f, () -> gemm.name() + " wrote outside C at " + at + " " + g);
                continue;
            }
            double absSum = g.accumulate() ? Math.abs(c0[idx]) : 0;
            for (int p = 0; p < g.k(); p++) {
                absSum += Math.abs((double) a.get(i, p) * b.get(p, j));
            }
            double tolerance = Tolerance.of(g.k() + 1, absSum);
            double diff = Math.abs((double) actual[idx] - expected[idx]);
            if (!(diff <= tolerance)) {
                fail(String.format("%s C[%d][%d] = %s, scalar %s, |diff| %.3g > tolerance %.3g, %s",
                        gemm.name(), i, j, actual[idx], expected[idx], diff, tolerance, g));
            }
        }
    }

    static float[] randomArray(int length, Random random) {
        float[] data = new float[length];
        for (int i = 0; i < length; i++) {
            data[i] = random.nextFloat() * 2 - 1;
        }
        return data;
    }

    /** A matrix living somewhere inside a larger random array. */
    record Operand(float[] data, int off, int rowStride, int colStride) {

        static Operand random(int rows, int cols, Layout layout, Random random) {
            int off = random.nextInt(5);
            int pad = random.nextInt(3);
            int rowStride;
            int colStride;
            switch (layout) {
                case ROW_MAJOR -> {
                    rowStride = cols + pad;
                    colStride = 1;
                }
                case COLUMN_MAJOR -> {
                    rowStride = 1;
                    colStride = rows + pad;
                }
                default -> {
                    rowStride = 2 * cols + pad;
                    colStride = 2;
                }
            }
            int last = off + (rows - 1) * rowStride + (cols - 1) * colStride;
            return new Operand(randomArray(last + 1 + random.nextInt(3), random), off, rowStride, colStride);
        }

        float get(int r, int q) {
            return data[off + r * rowStride + q * colStride];
        }
    }
}
