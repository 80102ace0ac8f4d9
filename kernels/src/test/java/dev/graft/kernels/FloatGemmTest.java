package dev.graft.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Hand-computed products, block-boundary shapes and argument validation, for every {@link FloatGemm}. */
class FloatGemmTest {

    static Stream<FloatGemm> gemms() {
        return Stream.of(new ScalarFloatGemm(), new VectorFloatGemm(), new VectorFloatGemm(3, 8, 1, 0));
    }

    @ParameterizedTest
    @MethodSource("gemms")
    void multipliesSmallMatricesExactly(FloatGemm gemm) {
        // [1 2 3]   [ 7  8]   [ 58  64]
        // [4 5 6] x [ 9 10] = [139 154]
        //           [11 12]
        float[] a = {1, 2, 3, 4, 5, 6};
        float[] b = {7, 8, 9, 10, 11, 12};
        float[] c = {-1, -1, -1, -1};
        gemm.gemm(2, 2, 3, a, 0, 3, 1, b, 0, 2, 1, c, 0, 2, false);
        assertArrayEquals(new float[] {58, 64, 139, 154}, c, gemm.name());

        gemm.gemm(2, 2, 3, a, 0, 3, 1, b, 0, 2, 1, c, 0, 2, true);
        assertArrayEquals(new float[] {116, 128, 278, 308}, c, gemm.name() + " accumulate");
    }

    @ParameterizedTest
    @MethodSource("gemms")
    void transposedOperandsViaStrides(FloatGemm gemm) {
        // A^T stored column-major and B^T stored as [n][k]: same product as above.
        float[] aT = {1, 4, 2, 5, 3, 6};
        float[] bT = {7, 9, 11, 8, 10, 12};
        float[] c = new float[4];
        gemm.gemm(2, 2, 3, aT, 0, 1, 2, bT, 0, 1, 3, c, 0, 2, false);
        assertArrayEquals(new float[] {58, 64, 139, 154}, c, gemm.name());
    }

    @ParameterizedTest
    @MethodSource("gemms")
    void emptyInnerDimensionZeroesOrKeepsC(FloatGemm gemm) {
        float[] c = {5, 6, 7};
        gemm.gemm(1, 3, 0, new float[0], 0, 0, 1, new float[0], 0, 3, 1, c, 0, 3, true);
        assertArrayEquals(new float[] {5, 6, 7}, c);
        gemm.gemm(1, 3, 0, new float[0], 0, 0, 1, new float[0], 0, 3, 1, c, 0, 3, false);
        assertArrayEquals(new float[] {0, 0, 0}, c);
        gemm.gemm(0, 3, 4, new float[0], 0, 4, 1, new float[12], 0, 3, 1, c, 0, 3, false); // m = 0: no-op
    }

    @ParameterizedTest
    @MethodSource("gemms")
    void zeroStrideBroadcastsARow(FloatGemm gemm) {
        float[] a = {1, 2};           // every row of A is [1 2]
        float[] b = {3, 4, 5, 6};     // [[3 4] [5 6]]
        float[] c = new float[6];
        gemm.gemm(3, 2, 2, a, 0, 0, 1, b, 0, 2, 1, c, 0, 2, false);
        assertArrayEquals(new float[] {13, 16, 13, 16, 13, 16}, c);
    }

    /** Shapes that straddle the default blocks (KC = 256, MC = 128, NC = 1024) and the skinny-row threshold. */
    @Test
    void vectorMatchesScalarAcrossDefaultBlockBoundaries() {
        Random random = new Random(42);
        int[][] shapes = {{129, 1025, 257}, {4, 1030, 513}, {5, 40, 600}, {136, 33, 256}};
        for (int[] s : shapes) {
            for (var layout : FloatGemmPropertiesTest.Layout.values()) {
                var g = new FloatGemmPropertiesTest.GemmCase(s[0], s[1], s[2], FloatGemmPropertiesTest.Layout.ROW_MAJOR,
                        layout, random.nextBoolean(), random.nextLong());
                FloatGemmPropertiesTest.check(new VectorFloatGemm(), g);
            }
        }
    }

    /** One shared instance, many threads: each call must use its own packing buffers. */
    @Test
    void oneVectorGemmIsSafeToShareAcrossThreads() throws Exception {
        FloatGemm shared = new VectorFloatGemm();
        try (ExecutorService pool = Executors.newFixedThreadPool(4)) {
            List<Future<?>> results = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                long seed = t;
                results.add(pool.submit(() -> {
                    Random random = new Random(seed);
                    for (int call = 0; call < 15; call++) {
                        var g = new FloatGemmPropertiesTest.GemmCase(9 + random.nextInt(60), 1 + random.nextInt(90),
                                1 + random.nextInt(90), FloatGemmPropertiesTest.Layout.ROW_MAJOR,
                                FloatGemmPropertiesTest.Layout.ROW_MAJOR, false, random.nextLong());
                        FloatGemmPropertiesTest.check(shared, g);
                    }
                }));
            }
            for (Future<?> result : results) {
                result.get(); // rethrows a failed comparison
            }
        }
    }

    @ParameterizedTest
    @MethodSource("gemms")
    void rejectsOutOfBoundsOperands(FloatGemm gemm) {
        float[] a = new float[6];
        float[] b = new float[6];
        float[] c = new float[4];
        var tooShortA = assertThrows(IllegalArgumentException.class,
                () -> gemm.gemm(2, 2, 4, a, 0, 4, 1, b, 0, 2, 1, c, 0, 2, false));
        assertTrue(tooShortA.getMessage().contains("A[2 x 4]"), tooShortA.getMessage());
        assertTrue(tooShortA.getMessage().contains("Gemm"), tooShortA.getMessage());

        var offsetB = assertThrows(IllegalArgumentException.class,
                () -> gemm.gemm(2, 2, 3, a, 0, 3, 1, b, 1, 2, 1, c, 0, 2, false));
        assertTrue(offsetB.getMessage().contains("B[3 x 2]"), offsetB.getMessage());

        var smallC = assertThrows(IllegalArgumentException.class,
                () -> gemm.gemm(2, 2, 3, a, 0, 3, 1, b, 0, 2, 1, c, 1, 2, false));
        assertTrue(smallC.getMessage().contains("C[2 x 2]"), smallC.getMessage());

        var negativeStride = assertThrows(IllegalArgumentException.class,
                () -> gemm.gemm(2, 2, 3, a, 0, -3, 1, b, 0, 2, 1, c, 0, 2, false));
        assertTrue(negativeStride.getMessage().contains("strides (-3, 1)"), negativeStride.getMessage());
    }

    @ParameterizedTest
    @MethodSource("gemms")
    void rejectsBadSizesAndOverlappingRows(FloatGemm gemm) {
        float[] x = new float[16];
        var negative = assertThrows(IllegalArgumentException.class,
                () -> gemm.gemm(-1, 2, 2, x, 0, 2, 1, x, 0, 2, 1, x, 0, 2, false));
        assertTrue(negative.getMessage().contains("m=-1"), negative.getMessage());
        var overlap = assertThrows(IllegalArgumentException.class,
                () -> gemm.gemm(2, 3, 1, x, 0, 1, 1, x, 0, 3, 1, new float[16], 0, 2, false));
        assertTrue(overlap.getMessage().contains("ldc=2"), overlap.getMessage());
        assertThrows(NullPointerException.class,
                () -> gemm.gemm(1, 1, 1, null, 0, 1, 1, x, 0, 1, 1, x, 0, 1, false));
    }

    @Test
    void rejectsBadBlockSizes() {
        assertThrows(IllegalArgumentException.class, () -> new VectorFloatGemm(0, 8, 32, 0));
    }
}
