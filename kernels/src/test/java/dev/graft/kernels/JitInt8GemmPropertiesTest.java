package dev.graft.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

import org.junit.jupiter.api.Assumptions;

/**
 * The generated kernel ({@link JitInt8Gemm}, the ISA this JVM selects; {@link AmxGemmPropertiesTest},
 * {@link Avx512VnniGemmPropertiesTest} and {@link AvxVnniGemmPropertiesTest} run the same properties on each ISA's
 * code, forced) against {@link ScalarInt8Gemm}, bit for bit, on the same
 * random cases as the Vector API kernel ({@link Int8GemmPropertiesTest}: 1, primes, tails of every width, K not a
 * multiple of 4, extreme values, every output stage, strided and transposed destinations, 1-3 threads), plus K up to
 * 4096 with saturating values, GEMMs cut into many small downcalls, and the packing of the VNNI layout itself.
 */
class JitInt8GemmPropertiesTest {

    private static final Map<String, JitInt8Gemm[]> JITS = new HashMap<>();
    private static final Map<String, String> UNAVAILABLE = new HashMap<>();

    /** The ISA under test: null for the one this JVM selects; {@link AvxVnniGemmPropertiesTest} forces AVX-VNNI. */
    JitInt8Gemm.Isa isa() {
        return null;
    }

    /** The kernels of {@link #isa()} on 1-3 threads, generated once per ISA (and skipped where they cannot run). */
    JitInt8Gemm jit(int threads) {
        JitInt8Gemm.Isa isa = isa();
        String key = String.valueOf(isa);
        JitInt8Gemm[] jits;
        synchronized (JITS) {
            if (!JITS.containsKey(key)) {
                try {
                    JitInt8Gemm[] made = new JitInt8Gemm[Int8GemmPropertiesTest.POOLS.length];
                    for (int t = 0; t < made.length; t++) {
                        Parallel pool = Int8GemmPropertiesTest.POOLS[t];
                        made[t] = isa == null ? JitInt8Gemm.create(pool) : JitInt8Gemm.create(pool, isa);
                    }
                    JITS.put(key, made);
                } catch (JitInt8Gemm.UnavailableException e) {
                    JITS.put(key, null);
                    UNAVAILABLE.put(key, e.getMessage());
                }
            }
            jits = JITS.get(key);
        }
        String why = UNAVAILABLE.get(key);
        // A CPU or JVM without the ISA skips; code that fails its own self-test here is a bug, not a skip.
        if (jits == null && why.startsWith("the start-up self-test failed")) {
            throw new AssertionError(isa + ": " + why);
        }
        Assumptions.assumeTrue(jits != null, () -> "generated kernels unavailable here: " + why);
        if (isa != null) {
            assertEquals(isa, jits[0].isa());
        }
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

    /**
     * The convolution form: im2col activations ({@code k} rows of {@code m} pixels) into an NCHW-like destination
     * ({@code out[channel*colStride + pixel]}), the generated weight-rows kernel against the scalar GEMM.
     */
    @Property(tries = 200)
    void weightRowsFormMatchesScalar(@ForAll("cases") Int8GemmPropertiesTest.Case c) {
        Random r = new Random(c.seed());
        int m = c.m(), n = c.n(), k = c.k();
        int ldaT = m + r.nextInt(3);
        int aOff = r.nextInt(3);
        byte[] aT = new byte[aOff + (k - 1) * ldaT + m + r.nextInt(2)];
        r.nextBytes(aT);
        if (c.fill() == Int8GemmPropertiesTest.Fill.MAX) {
            java.util.Arrays.fill(aT, (byte) 255);
        }
        byte[] a = new byte[m * k];
        for (int i = 0; i < m; i++) {
            for (int p = 0; p < k; p++) {
                a[i * k + p] = aT[aOff + p * ldaT + i];
            }
        }
        byte[] w = new byte[n * k];
        r.nextBytes(w);
        float[] scales = new float[n];
        for (int j = 0; j < n; j++) {
            scales[j] = 1e-4f + r.nextFloat() * 0.02f;
        }
        int[] zps = c.asymmetric() ? new int[] {r.nextInt(256) - 128} : null;
        float[] bias = new float[n + 1];
        for (int j = 0; j < bias.length; j++) {
            bias[j] = (float) r.nextGaussian() * 3f;
        }
        int zx = r.nextInt(256);
        int colStride = m + r.nextInt(3);
        int off = r.nextInt(4);
        boolean relu = r.nextBoolean();
        float inScale = 0.001f + r.nextFloat() * 0.05f;
        float outScale = 0.001f + r.nextFloat() * 0.2f;
        int zo = r.nextInt(256);
        JitInt8Gemm jit = jit(c.threads());
        PackedInt8Weights pw = PackedInt8Weights.pack(w, 0, n, k, scales, zps, jit);
        PackedInt8Weights ref = PackedInt8Weights.pack(w, 0, n, k, scales, zps, 7);
        int size = off + (n - 1) * colStride + m;
        switch (c.stage()) {
            case DEQUANTIZE, DEQUANTIZE_NO_BIAS -> {
                float[] expected = new float[size];
                float[] actual = new float[size];
                float[] b = c.stage() == Int8GemmPropertiesTest.Stage.DEQUANTIZE ? bias : null;
                new ScalarInt8Gemm().gemm(m, a, 0, k, zx, ref, new Int8Output.Dequantize(inScale, b, 1, expected, off,
                        1, colStride));
                jit.gemmTransposedA(m, aT, aOff, ldaT, zx, pw, new Int8Output.Dequantize(inScale, b, 1, actual, off,
                        1, colStride));
                Int8GemmPropertiesTest.assertArrayEqualsAny(expected, actual);
            }
            case INT32 -> {
                int[] expected = new int[size];
                int[] actual = new int[size];
                new ScalarInt8Gemm().gemm(m, a, 0, k, zx, ref, new Int8Output.Int32(expected, off, 1, colStride));
                jit.gemmTransposedA(m, aT, aOff, ldaT, zx, pw, new Int8Output.Int32(actual, off, 1, colStride));
                Int8GemmPropertiesTest.assertArrayEqualsAny(expected, actual);
            }
            default -> {
                byte[] expected = new byte[size];
                byte[] actual = new byte[size];
                new ScalarInt8Gemm().gemm(m, a, 0, k, zx, ref, new Int8Output.Requantize(inScale, bias, 1, outScale,
                        zo, relu, expected, off, 1, colStride));
                jit.withMacsPerCall(1 + Math.floorMod(c.seed(), 1L << 16)).gemmTransposedA(m, aT, aOff, ldaT, zx, pw,
                        new Int8Output.Requantize(inScale, bias, 1, outScale, zo, relu, actual, off, 1, colStride));
                Int8GemmPropertiesTest.assertArrayEqualsAny(expected, actual);
            }
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
        // K groups padded to whole AMX steps of 16 groups, and every byte that is not a weight is zero: an AMX
        // tile reads the padding (past K and past N) and must meet zero weights there.
        int panels = (n + 63) / 64;
        int groups = ((k + 3) / 4 + 15) / 16 * 16;
        assertEquals((long) panels * 64 * 4 * groups + 12L * n, packed.sizeInBytes());
        long nonZeroWeights = 0;
        for (int i = 0; i < n * k; i++) {
            nonZeroWeights += w[3 + i] != 0 ? 1 : 0;
        }
        long nonZeroBytes = 0;
        java.lang.foreign.MemorySegment all = packed.vnni();
        for (long b = 0; b < all.byteSize(); b++) {
            nonZeroBytes += all.get(java.lang.foreign.ValueLayout.JAVA_BYTE, b) != 0 ? 1 : 0;
        }
        assertEquals(nonZeroWeights, nonZeroBytes, "bytes outside the weights must be zero");
    }

    /**
     * The one-pass packer of a u8 right operand ({@code packShiftedRows}) gives every INT8 GEMM this JVM has the
     * same weights, sums, zero points and bytes as packing the shifted transpose with {@code pack}.
     */
    @Property(tries = 60)
    void shiftedRowsPackLikeTheTransposedCopy(@ForAll("sizes") int n, @ForAll("sizes") int k,
                                              @ForAll("padding") int pad) {
        Random r = new Random(17L * n + k + pad);
        int ldb = n + pad;
        int off = pad % 5;
        byte[] b = new byte[off + (k - 1) * ldb + n + pad];
        r.nextBytes(b);
        int zero = r.nextInt(256) - 128;
        float scale = 0.01f + r.nextFloat();
        byte[] w = new byte[n * k];
        for (int p = 0; p < k; p++) {
            for (int j = 0; j < n; j++) {
                w[j * k + p] = (byte) ((b[off + p * ldb + j] & 0xFF) - 128);
            }
        }
        for (Int8Gemm gemm : Kernels.availableInt8Gemms()) {
            PackedInt8Weights expected = PackedInt8Weights.pack(w, 0, n, k, new float[] {scale}, new int[] {zero},
                    gemm);
            PackedInt8Weights actual = PackedInt8Weights.packShiftedRows(b, off, ldb, k, n, scale, zero, gemm);
            assertEquals(expected.toString(), actual.toString(), gemm.name());
            assertEquals(expected.sizeInBytes(), actual.sizeInBytes(), gemm.name());
            for (int j = 0; j < n; j++) {
                assertEquals(expected.columnSum(j), actual.columnSum(j), gemm.name() + " sum " + j);
                assertEquals(expected.zeroPoint(j), actual.zeroPoint(j), gemm.name());
                assertEquals(expected.scale(j), actual.scale(j), gemm.name());
                for (int p = 0; p < k; p++) {
                    assertEquals(expected.weight(j, p), actual.weight(j, p), gemm.name() + " W[" + j + "][" + p + "]");
                }
            }
            if (gemm instanceof JitInt8Gemm) {
                assertEquals(expected.vnni().byteSize(), actual.vnni().byteSize());
                assertEquals(-1L, expected.vnni().mismatch(actual.vnni()), "every packed byte, padding included");
            }
        }
    }

    /**
     * The one-pass packer of a u8 operand stored as weight rows ({@code packShifted}, attention's K read in place)
     * gives every INT8 GEMM this JVM has the same weights, sums, zero points and bytes as packing the shifted copy.
     */
    @Property(tries = 60)
    void shiftedWeightRowsPackLikeTheShiftedCopy(@ForAll("sizes") int n, @ForAll("sizes") int k,
                                                 @ForAll("padding") int pad) {
        Random r = new Random(31L * n + k + pad);
        int ldw = k + pad;
        int off = pad % 5;
        byte[] b = new byte[off + (n - 1) * ldw + k + pad];
        r.nextBytes(b);
        int zero = r.nextInt(256) - 128;
        float scale = 0.01f + r.nextFloat();
        byte[] w = new byte[n * k];
        for (int j = 0; j < n; j++) {
            for (int p = 0; p < k; p++) {
                w[j * k + p] = (byte) ((b[off + j * ldw + p] & 0xFF) - 128);
            }
        }
        for (Int8Gemm gemm : Kernels.availableInt8Gemms()) {
            PackedInt8Weights expected = PackedInt8Weights.pack(w, 0, n, k, new float[] {scale}, new int[] {zero},
                    gemm);
            PackedInt8Weights actual = PackedInt8Weights.packShifted(b, off, ldw, n, k, scale, zero, gemm);
            assertEquals(expected.toString(), actual.toString(), gemm.name());
            assertEquals(expected.sizeInBytes(), actual.sizeInBytes(), gemm.name());
            for (int j = 0; j < n; j++) {
                assertEquals(expected.columnSum(j), actual.columnSum(j), gemm.name() + " sum " + j);
                assertEquals(expected.zeroPoint(j), actual.zeroPoint(j), gemm.name());
                assertEquals(expected.scale(j), actual.scale(j), gemm.name());
                for (int p = 0; p < k; p++) {
                    assertEquals(expected.weight(j, p), actual.weight(j, p), gemm.name() + " W[" + j + "][" + p + "]");
                }
            }
            if (gemm instanceof JitInt8Gemm) {
                assertEquals(-1L, expected.vnni().mismatch(actual.vnni()), "every packed byte, padding included");
            }
        }
    }

    /** Long rows of extreme bytes: the packers' running sums across many groups of four (all 0 and all 255). */
    @org.junit.jupiter.api.Test
    void shiftedPackersSumLongRowsOfExtremeBytes() {
        for (int fill : new int[] {0, 255}) {
            int n = 37;
            int k = 1031;
            byte[] rowsNK = new byte[n * k];
            java.util.Arrays.fill(rowsNK, (byte) fill);
            for (Int8Gemm gemm : Kernels.availableInt8Gemms()) {
                PackedInt8Weights a = PackedInt8Weights.packShifted(rowsNK, 0, k, n, k, 0.5f, 3, gemm);
                PackedInt8Weights b = PackedInt8Weights.packShiftedRows(rowsNK, 0, n, k, n, 0.5f, 3, gemm);
                for (int j = 0; j < n; j++) {
                    assertEquals(k * (fill - 128), a.columnSum(j), gemm.name() + " packShifted sum " + j);
                    assertEquals(k * (fill - 128), b.columnSum(j), gemm.name() + " packShiftedRows sum " + j);
                    assertEquals(fill - 128, a.weight(j, k - 1));
                    assertEquals(fill - 128, b.weight(j, 517));
                }
            }
        }
    }

    @Provide
    Arbitrary<Integer> padding() {
        return Arbitraries.integers().between(0, 9);
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
