package dev.graft.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.BeforeContainer;

import org.junit.jupiter.api.Assumptions;

/**
 * The generated AVX-512 VNNI kernel ({@link JitInt8Gemm}) against {@link ScalarInt8Gemm}, bit for bit, on the same
 * random cases as the Vector API kernel ({@link Int8GemmPropertiesTest}: 1, primes, tails of every width, K not a
 * multiple of 4, extreme values, every output stage, strided and transposed destinations, 1-3 threads), plus K up to
 * 4096 with saturating values, GEMMs cut into many small downcalls, and the packing of the VNNI layout itself.
 */
class JitInt8GemmPropertiesTest {

    private static JitInt8Gemm[] jits;

    @BeforeContainer
    static void generate() {
        try {
            jits = new JitInt8Gemm[Int8GemmPropertiesTest.POOLS.length];
            for (int t = 0; t < jits.length; t++) {
                jits[t] = JitInt8Gemm.create(Int8GemmPropertiesTest.POOLS[t]);
            }
        } catch (JitInt8Gemm.UnavailableException e) {
            jits = null;
            unavailable = e.getMessage();
        }
    }

    private static String unavailable;

    private static JitInt8Gemm jit(int threads) {
        Assumptions.assumeTrue(jits != null, () -> "generated kernels unavailable here: " + unavailable);
        return jits[threads - 1];
    }

    @Property(tries = 400)
    void jitMatchesScalar(@ForAll("cases") Int8GemmPropertiesTest.Case c) {
        Int8GemmPropertiesTest.check(jit(c.threads()), c);
    }

    /** Calls of a few panels or a single row tile each: every way {@code Call} cuts the work. */
    @Property(tries = 150)
    void jitInSmallCallsMatchesScalar(@ForAll("cases") Int8GemmPropertiesTest.Case c) {
        long macs = 1 + Math.floorMod(c.seed(), 64L * 4 * ((c.k() + 3) / 4) * 14);
        Int8GemmPropertiesTest.check(jit(c.threads()).withMacsPerCall(macs), c);
    }

    @Property(tries = 25)
    void tallJitMatchesScalar(@ForAll("tallCases") Int8GemmPropertiesTest.Case c) {
        Int8GemmPropertiesTest.check(jit(c.threads()), c);
    }

    /** Long K with all-extreme operands: int32 sums near 4096*255*128, and every requantize saturation. */
    @Property(tries = 20)
    void longKMatchesScalar(@ForAll("longK") Int8GemmPropertiesTest.Case c) {
        Int8GemmPropertiesTest.check(jit(c.threads()), c);
    }

    @Property(tries = 60)
    void resultsDoNotDependOnThreadCount(@ForAll("cases") Int8GemmPropertiesTest.Case c) {
        Object one = Int8GemmPropertiesTest.run(jit(1), c);
        for (int t = 2; t <= 3; t++) {
            Int8GemmPropertiesTest.assertArrayEqualsAny(one, Int8GemmPropertiesTest.run(jit(t), c));
        }
    }

    /** The VNNI layout holds every weight where {@link PackedInt8Weights#weight} says, whatever n and k. */
    @Property(tries = 100)
    void vnniPackingKeepsEveryWeight(@ForAll("sizes") int n, @ForAll("sizes") int k) {
        Random r = new Random(31L * n + k);
        byte[] w = new byte[n * k + 3];
        r.nextBytes(w);
        PackedInt8Weights packed = PackedInt8Weights.pack(w, 3, n, k, new float[] {0.5f}, null,
                JitInt8Gemm.PANEL_WIDTH, PackedInt8Weights.Layout.VNNI);
        for (int j = 0; j < n; j++) {
            int sum = 0;
            for (int p = 0; p < k; p++) {
                assertEquals(w[3 + j * k + p], packed.weight(j, p), "W[" + j + "][" + p + "]");
                sum += w[3 + j * k + p];
            }
            assertEquals(sum, packed.columnSum(j));
        }
        int panels = (n + 63) / 64;
        assertEquals((long) panels * 64 * 4 * ((k + 3) / 4) + 12L * n, packed.sizeInBytes());
    }

    @Provide
    Arbitrary<Integer> sizes() {
        return Arbitraries.oneOf(Arbitraries.of(1, 3, 4, 5, 63, 64, 65, 127), Arbitraries.integers().between(1, 150));
    }

    @Provide
    Arbitrary<Int8GemmPropertiesTest.Case> cases() {
        return Int8GemmPropertiesTest.anyCase();
    }

    @Provide
    Arbitrary<Int8GemmPropertiesTest.Case> tallCases() {
        return Int8GemmPropertiesTest.tallCase();
    }

    @Provide
    Arbitrary<Int8GemmPropertiesTest.Case> longK() {
        return Combinators.combine(Arbitraries.integers().between(1, 13), Arbitraries.integers().between(1, 70),
                        Arbitraries.oneOf(Arbitraries.of(4093, 4095, 4096), Arbitraries.integers().between(1000, 4096)),
                        Arbitraries.of(Int8GemmPropertiesTest.Fill.MAX, Int8GemmPropertiesTest.Fill.MIN_WEIGHT,
                                Int8GemmPropertiesTest.Fill.MAX_MIN, Int8GemmPropertiesTest.Fill.RANDOM),
                        Arbitraries.of(Int8GemmPropertiesTest.Stage.class), Arbitraries.of(false, true),
                        Arbitraries.longs())
                .as((m, n, k, f, s, asym, seed) -> new Int8GemmPropertiesTest.Case(m, n, k, f, s, true, asym,
                        1 + (int) Math.floorMod(seed, 2L), seed));
    }
}
