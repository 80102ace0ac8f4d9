package dev.graft.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * {@link VectorFloatGemm#linear} on pre-packed weights against the scalar GEMM plus bias and ReLU, within the
 * summation-order bound of {@link Tolerance}; and bit-identical for 1, 2 and 3 threads.
 */
class FloatLinearPropertiesTest {

    private static final Parallel TWO = new Parallel(2);
    private static final Parallel THREE = new Parallel(3);

    @Property(tries = 200)
    void linearMatchesScalar(@ForAll @IntRange(min = 1, max = 40) int m, @ForAll @IntRange(min = 1, max = 100) int n,
                             @ForAll @IntRange(min = 1, max = 600) int k, @ForAll boolean relu,
                             @ForAll boolean withBias, @ForAll long seed) {
        Random r = new Random(seed);
        float[] x = FloatGemmPropertiesTest.randomArray(m * k, r);
        float[] w = FloatGemmPropertiesTest.randomArray(n * k, r);
        float[] bias = withBias ? FloatGemmPropertiesTest.randomArray(n, r) : null;
        float[] expected = new float[m * n];
        new ScalarFloatGemm().gemm(m, n, k, x, 0, k, 1, w, 0, 1, k, expected, 0, n, false);
        PackedFloatWeights packed = PackedFloatWeights.pack(w, 0, n, k);
        float[] actual = new float[m * n];
        new VectorFloatGemm(new Parallel(1)).linear(m, x, 0, k, packed, bias, relu, actual, 0, n);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double absSum = 0;
                for (int p = 0; p < k; p++) {
                    absSum += Math.abs((double) x[i * k + p] * w[j * k + p]);
                }
                float e = expected[i * n + j] + (bias == null ? 0f : bias[j]);
                e = relu ? Math.max(e, 0f) : e;
                assertEquals(e, actual[i * n + j], Tolerance.of(k + 1, absSum + (bias == null ? 0 : Math.abs(bias[j]))),
                        "(" + i + ", " + j + ")");
            }
        }
        float[] threaded = new float[m * n];
        new VectorFloatGemm(THREE).linear(m, x, 0, k, packed, bias, relu, threaded, 0, n);
        assertArrayEquals(actual, threaded);
    }

    /** Tall x (enough row panels that the threads split it by rows): the same bits for 1, 2 and 3 threads. */
    @Property(tries = 20)
    void tallLinearIsBitIdenticalForAnyThreadCount(@ForAll @IntRange(min = 384, max = 450) int m,
                                                   @ForAll @IntRange(min = 40, max = 70) int n,
                                                   @ForAll @IntRange(min = 60, max = 90) int k,
                                                   @ForAll boolean relu, @ForAll long seed) {
        Random r = new Random(seed);
        float[] x = FloatGemmPropertiesTest.randomArray(m * k, r);
        float[] w = FloatGemmPropertiesTest.randomArray(n * k, r);
        float[] bias = FloatGemmPropertiesTest.randomArray(n, r);
        PackedFloatWeights packed = PackedFloatWeights.pack(w, 0, n, k);
        float[] one = new float[m * n];
        new VectorFloatGemm(new Parallel(1)).linear(m, x, 0, k, packed, bias, relu, one, 0, n);
        for (Parallel pool : new Parallel[] {TWO, THREE}) {
            float[] threaded = new float[m * n];
            new VectorFloatGemm(pool).linear(m, x, 0, k, packed, bias, relu, threaded, 0, n);
            assertArrayEquals(one, threaded);
        }
    }

    /** The GELU epilogue gives the bits of the linear without it followed by {@link Elementwise#gelu}. */
    @Property(tries = 60)
    void geluEpilogueIsTheSeparateGelu(@ForAll @IntRange(min = 1, max = 300) int m,
                                       @ForAll @IntRange(min = 1, max = 70) int n,
                                       @ForAll @IntRange(min = 1, max = 300) int k, @ForAll boolean withBias,
                                       @ForAll @IntRange(min = 1, max = 3) int threads, @ForAll long seed) {
        Random r = new Random(seed);
        float[] x = new float[m * k];
        float[] w = new float[n * k];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (r.nextGaussian() * 0.2);
        }
        float[] bias = withBias ? new float[n] : null;
        if (bias != null) {
            for (int j = 0; j < n; j++) {
                bias[j] = (float) r.nextGaussian();
            }
        }
        PackedFloatWeights packed = PackedFloatWeights.pack(w, 0, n, k);
        Parallel pool = threads == 1 ? new Parallel(1) : threads == 2 ? TWO : THREE;
        float[] plain = new float[m * n];
        new VectorFloatGemm(pool).linear(m, x, 0, k, packed, bias, Activation.NONE, plain, 0, n);
        Elementwise.gelu(plain, 0, plain, 0, plain.length);
        float[] fused = new float[m * n];
        new VectorFloatGemm(pool).linear(m, x, 0, k, packed, bias, Activation.GELU, fused, 0, n);
        assertArrayEquals(plain, fused);
    }
}
