package dev.graft.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;

/**
 * {@link VectorInt8Gemm} against {@link ScalarInt8Gemm}, bit for bit, for every output stage, on random shapes
 * (1, primes, one off a vector or panel width, K across the 256-long exact blocks), random and extreme values
 * (all 0, all 255, weights all -128), symmetric and asymmetric weights, strided destinations, and 1, 2 and 3
 * threads.
 */
class Int8GemmPropertiesTest {

    enum Fill { RANDOM, ZERO, MAX, MIN_WEIGHT, MAX_MIN }

    enum Stage { INT32, REQUANTIZE, REQUANTIZE_RELU, DEQUANTIZE, DEQUANTIZE_NO_BIAS, REQUANTIZE_TRANSPOSED }

    record Case(int m, int n, int k, Fill fill, Stage stage, boolean perChannel, boolean asymmetric, int threads,
                long seed) {
    }

    static final Parallel[] POOLS = {new Parallel(1), new Parallel(2), new Parallel(3)};
    private static final Int8Gemm SCALAR = new ScalarInt8Gemm();

    @AfterContainer
    static void closePools() {
        for (Parallel p : POOLS) {
            p.close();
        }
    }

    @Property(tries = 400)
    void vectorMatchesScalar(@ForAll("cases") Case c) {
        check(new VectorInt8Gemm(POOLS[c.threads() - 1]), c);
    }

    @Property(tries = 200)
    void vectorWithTinyBlocksMatchesScalar(@ForAll("cases") Case c) {
        check(new VectorInt8Gemm(5, 8, 1, POOLS[c.threads() - 1]), c);
    }

    /** Row blocks of 13 and 20 rows: a 12-row panel followed by a short (8-row) panel holding 1 or 8 rows. */
    @Property(tries = 100)
    void vectorWithShortPanelsMatchesScalar(@ForAll("cases") Case c) {
        check(new VectorInt8Gemm(300, c.seed() % 2 == 0 ? 13 : 20, 40, POOLS[c.threads() - 1]), c);
    }

    /** The im2col entry point: activations stored transposed, same int32 results as the scalar GEMM. */
    @Property(tries = 150)
    void transposedActivationsMatchScalar(@ForAll("cases") Case c) {
        Random r = new Random(c.seed());
        int m = c.m(), n = c.n(), k = c.k();
        int ldaT = m + r.nextInt(3);
        int aOff = r.nextInt(3);
        byte[] aT = new byte[aOff + (k - 1) * ldaT + m + r.nextInt(2)];
        r.nextBytes(aT);
        byte[] a = new byte[m * k];
        for (int i = 0; i < m; i++) {
            for (int p = 0; p < k; p++) {
                a[i * k + p] = aT[aOff + p * ldaT + i];
            }
        }
        byte[] w = new byte[n * k];
        r.nextBytes(w);
        int[] zps = c.asymmetric() ? new int[] {r.nextInt(256) - 128} : null;
        int zx = r.nextInt(256);
        int[] expected = new int[m * n];
        int[] actual = new int[m * n];
        SCALAR.gemm(m, a, 0, k, zx, PackedInt8Weights.pack(w, 0, n, k, new float[] {0.01f}, zps, 7),
                new Int8Output.Int32(expected, 0, n, 1));
        VectorInt8Gemm vector = c.seed() % 2 == 0 ? new VectorInt8Gemm(POOLS[c.threads() - 1])
                : new VectorInt8Gemm(300, 20, 40, POOLS[c.threads() - 1]);
        vector.gemmTransposedA(m, aT, aOff, ldaT, zx, PackedInt8Weights.pack(w, 0, n, k, new float[] {0.01f}, zps,
                VectorInt8Gemm.panelWidth()), new Int8Output.Int32(actual, 0, n, 1));
        assertArrayEquals(expected, actual);
    }

    /** Tall A, split among the threads by rows. */
    @Property(tries = 20)
    void tallActivationsMatchScalar(@ForAll("tallCases") Case c) {
        check(new VectorInt8Gemm(POOLS[c.threads() - 1]), c);
    }

    @Provide
    Arbitrary<Case> tallCases() {
        return tallCase();
    }

    static Arbitrary<Case> tallCase() {
        return Combinators.combine(Arbitraries.integers().between(384, 420), Arbitraries.integers().between(40, 70),
                        Arbitraries.integers().between(20, 40), Arbitraries.of(Stage.class), Arbitraries.of(false, true),
                        Arbitraries.integers().between(2, 3), Arbitraries.longs())
                .as((mm, nn, kk, s, asym, t, seed) -> new Case(mm, nn, kk, Fill.RANDOM, s, true, asym, t, seed));
    }

    @Property(tries = 100)
    void resultsDoNotDependOnThreadCount(@ForAll("cases") Case c) {
        Object one = run(new VectorInt8Gemm(POOLS[0]), c);
        for (int t = 1; t < POOLS.length; t++) {
            Object other = run(new VectorInt8Gemm(POOLS[t]), c);
            assertArrayEqualsAny(one, other);
        }
    }

    @Provide
    Arbitrary<Case> cases() {
        return anyCase();
    }

    /** Random shapes, fills, stages, symmetry and thread counts (shared with the generated kernel's properties). */
    static Arbitrary<Case> anyCase() {
        Arbitrary<Integer> m = Arbitraries.oneOf(Arbitraries.of(1, 2, 3, 4, 5, 7, 8, 9, 17),
                Arbitraries.integers().between(1, 60));
        Arbitrary<Integer> n = Arbitraries.oneOf(Arbitraries.of(1, 2, 15, 16, 17, 31, 32, 33, 63, 65, 97),
                Arbitraries.integers().between(1, 130));
        Arbitrary<Integer> k = Arbitraries.oneOf(Arbitraries.of(1, 2, 3, 7, 15, 16, 17, 255, 256, 257, 513),
                Arbitraries.integers().between(1, 300));
        return Combinators.combine(m, n, k, Arbitraries.of(Fill.class), Arbitraries.of(Stage.class),
                        Arbitraries.of(false, true), Arbitraries.of(false, true), Arbitraries.integers().between(1, 3))
                .as((mm, nn, kk, f, s, pc, asym, t) -> new Case(mm, nn, kk, f, s, pc, asym, t, 0L))
                .flatMap(c -> Arbitraries.longs().map(seed -> new Case(c.m(), c.n(), c.k(), c.fill(), c.stage(),
                        c.perChannel(), c.asymmetric(), c.threads(), seed)));
    }

    static void check(Int8Gemm gemm, Case c) {
        Object expected = run(SCALAR, c);
        Object actual = run(gemm, c);
        assertArrayEqualsAny(expected, actual);
    }

    static void assertArrayEqualsAny(Object expected, Object actual) {
        switch (expected) {
            case int[] e -> assertArrayEquals(e, (int[]) actual);
            case byte[] e -> assertArrayEquals(e, (byte[]) actual);
            case float[] e -> {
                float[] a = (float[]) actual;
                assertEquals(e.length, a.length);
                for (int i = 0; i < e.length; i++) {
                    assertEquals(Float.floatToRawIntBits(e[i]), Float.floatToRawIntBits(a[i]),
                            "element " + i + ": " + e[i] + " vs " + a[i]);
                }
            }
            default -> throw new AssertionError(expected);
        }
    }

    /** Builds the case's inputs from its seed (identically every time) and runs {@code gemm}. */
    static Object run(Int8Gemm gemm, Case c) {
        Random r = new Random(c.seed());
        int lda = c.k() + r.nextInt(3);
        int aOff = r.nextInt(3);
        byte[] a = new byte[aOff + (c.m() - 1) * lda + c.k() + r.nextInt(2)];
        byte[] w = new byte[c.n() * c.k()];
        for (int i = 0; i < a.length; i++) {
            a[i] = (byte) switch (c.fill()) {
                case ZERO -> 0;
                case MAX, MIN_WEIGHT, MAX_MIN -> 255;
                case RANDOM -> r.nextInt(256);
            };
        }
        for (int i = 0; i < w.length; i++) {
            w[i] = (byte) switch (c.fill()) {
                case ZERO -> 0;
                case MAX -> 127;
                case MIN_WEIGHT -> -128;
                case MAX_MIN -> i % 2 == 0 ? 127 : -128;
                case RANDOM -> r.nextInt(256) - 128;
            };
        }
        int zx = c.fill() == Fill.RANDOM ? r.nextInt(256) : (r.nextBoolean() ? 0 : 255);
        int channels = c.perChannel() ? c.n() : 1;
        float[] scales = new float[channels];
        int[] zps = c.asymmetric() ? new int[channels] : null;
        for (int j = 0; j < channels; j++) {
            scales[j] = 1e-4f + r.nextFloat() * 0.02f;
            if (zps != null) {
                zps[j] = c.fill() == Fill.MIN_WEIGHT ? 127 : r.nextInt(256) - 128;
            }
        }
        PackedInt8Weights pw = gemm instanceof ScalarInt8Gemm
                ? PackedInt8Weights.pack(w, 0, c.n(), c.k(), scales, zps, 7)
                : PackedInt8Weights.pack(w, 0, c.n(), c.k(), scales, zps, gemm);
        float inScale = 0.001f + r.nextFloat() * 0.05f;
        float[] bias = new float[c.n() + 1];
        for (int j = 0; j < bias.length; j++) {
            bias[j] = (float) r.nextGaussian() * 3f;
        }
        float outScale = 0.001f + r.nextFloat() * 0.2f;
        int zo = r.nextInt(256);
        int mn = c.m() * c.n();
        switch (c.stage()) {
            case INT32 -> {
                int[] out = new int[mn];
                gemm.gemm(c.m(), a, aOff, lda, zx, pw, new Int8Output.Int32(out, 0, c.n(), 1));
                return out;
            }
            case REQUANTIZE, REQUANTIZE_RELU -> {
                byte[] out = new byte[mn + 2];
                gemm.gemm(c.m(), a, aOff, lda, zx, pw, new Int8Output.Requantize(inScale, bias, 1, outScale, zo,
                        c.stage() == Stage.REQUANTIZE_RELU, out, 2, c.n(), 1));
                return out;
            }
            case REQUANTIZE_TRANSPOSED -> {
                byte[] out = new byte[mn];
                gemm.gemm(c.m(), a, aOff, lda, zx, pw, new Int8Output.Requantize(inScale, bias, 0, outScale, zo,
                        false, out, 0, 1, c.m()));
                return out;
            }
            case DEQUANTIZE, DEQUANTIZE_NO_BIAS -> {
                float[] out = new float[mn];
                gemm.gemm(c.m(), a, aOff, lda, zx, pw, new Int8Output.Dequantize(inScale,
                        c.stage() == Stage.DEQUANTIZE ? bias : null, 0, out, 0, c.n(), 1));
                return out;
            }
        }
        throw new AssertionError();
    }
}
