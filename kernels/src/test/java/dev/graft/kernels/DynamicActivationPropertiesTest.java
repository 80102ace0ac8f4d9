package dev.graft.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.Random;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * A GELU fused into the dynamic INT8 linear (per tensor: GEMM in row blocks with the whole input's qparams; per
 * token: after each block's output stage) has the bits of the plain layer followed by {@link Elementwise#gelu}, on
 * every INT8 GEMM this machine has (scalar, Vector API, generated code), for row counts below, at and above a block.
 */
class DynamicActivationPropertiesTest {

    @Property(tries = 25)
    void geluInTheOutputStageIsTheSeparateGelu(@ForAll @IntRange(min = 1, max = 400) int m,
                                               @ForAll @IntRange(min = 1, max = 1600) int n,
                                               @ForAll @IntRange(min = 1, max = 70) int k,
                                               @ForAll boolean perToken, @ForAll boolean withBias,
                                               @ForAll long seed) {
        Random r = new Random(seed);
        float[] x = new float[m * k];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (r.nextGaussian() * 3);
        }
        byte[] w = new byte[n * k];
        r.nextBytes(w);
        float[] sw = new float[n];
        for (int j = 0; j < n; j++) {
            sw[j] = 0.001f + 0.01f * r.nextFloat();
        }
        float[] bias = null;
        if (withBias) {
            bias = new float[n];
            for (int j = 0; j < n; j++) {
                bias[j] = (float) r.nextGaussian();
            }
        }
        for (Int8Gemm gemm : Kernels.availableInt8Gemms()) {
            PackedInt8Weights packed = PackedInt8Weights.pack(w, 0, n, k, sw, null, gemm);
            float[] plain = new float[m * n];
            float[] fused = new float[m * n];
            if (perToken) {
                DynamicQuantization.linearPerToken(m, x, 0, packed, bias, false, plain, 0, gemm);
                DynamicQuantization.linearPerToken(m, x, 0, packed, bias, false, Activation.GELU, fused, 0, gemm);
            } else {
                DynamicQuantization.linear(m, x, 0, packed, bias, false, plain, 0, gemm);
                DynamicQuantization.linear(m, x, 0, packed, bias, false, Activation.GELU, fused, 0, gemm);
            }
            Elementwise.gelu(plain, 0, plain, 0, plain.length);
            assertArrayEquals(plain, fused, gemm.name());
        }
    }
}
