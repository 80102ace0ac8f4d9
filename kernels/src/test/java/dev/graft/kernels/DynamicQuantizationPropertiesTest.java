package dev.graft.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Random;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * Dynamic quantization's vector loops against their scalar forms, bit for bit: the activations' min/max (NaN and
 * -0.0 as {@link Math#min}/{@link Math#max} treat them) and {@code clamp(rint(fma(x, 1/scale, zp)), 0, 255)} on
 * awkward values (NaN, infinities, -0.0, exact .5 ties, huge magnitudes) and lengths around the vector width; the
 * per-token linear's output stage likewise, and the per-token linear itself on every INT8 GEMM against a plain
 * integer reference written from torchao's formulas.
 */
class DynamicQuantizationPropertiesTest {

    private static float[] values(Random r, int n, float scale, int zp) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = switch (r.nextInt(10)) {
                case 0 -> Float.NaN;
                case 1 -> r.nextBoolean() ? Float.POSITIVE_INFINITY : Float.NEGATIVE_INFINITY;
                case 2 -> r.nextBoolean() ? -0.0f : 0.0f;
                case 3 -> (r.nextInt(600) - 300 + 0.5f - zp) * scale;  // a tie after scaling, most of the time
                case 4 -> (r.nextBoolean() ? 1 : -1) * r.nextFloat() * 1e30f;
                default -> (float) r.nextGaussian() * 100 * scale;
            };
        }
        return x;
    }

    @Property(tries = 300)
    void vectorQuantizeMatchesScalar(@ForAll @IntRange(min = 0, max = 100) int n, @ForAll long seed) {
        Random r = new Random(seed);
        float scale = 0.001f + r.nextFloat();
        int zp = r.nextInt(256);
        float[] x = values(r, n + 3, scale, zp);
        float inverse = 1f / scale;
        byte[] expected = new byte[n + 1];
        byte[] actual = new byte[n + 1];
        DynamicQuantization.quantizeReference(x, 3, n, inverse, zp, expected, 1);
        VectorQuantization.quantizeFma(x, 3, actual, 1, n, inverse, zp);
        assertArrayEquals(expected, actual);
    }

    @Property(tries = 300)
    void vectorMinMaxMatchesScalar(@ForAll @IntRange(min = 1, max = 100) int n, @ForAll long seed,
                                   @ForAll boolean withSpecials) {
        Random r = new Random(seed);
        float[] x = withSpecials ? values(r, n + 2, 0.1f, 0) : new float[n + 2];
        if (!withSpecials) {
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) r.nextGaussian();
            }
        }
        float min = Float.POSITIVE_INFINITY;
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            min = Math.min(min, x[2 + i]);
            max = Math.max(max, x[2 + i]);
        }
        float[] v = VectorQuantization.minMax(x, 2, n);
        assertEquals(Float.floatToRawIntBits(min), Float.floatToRawIntBits(v[0]), "min");
        assertEquals(Float.floatToRawIntBits(max), Float.floatToRawIntBits(v[1]), "max");
    }

    @Property(tries = 200)
    void vectorPerTokenOutputStageMatchesScalar(@ForAll @IntRange(min = 1, max = 5) int m,
                                                @ForAll @IntRange(min = 0, max = 70) int n, @ForAll long seed,
                                                @ForAll boolean withBias) {
        Random r = new Random(seed);
        int[] acc = new int[m * n];
        for (int i = 0; i < acc.length; i++) {
            acc[i] = r.nextInt(1 << 25) - (1 << 24) + (r.nextInt(4) == 0 ? r.nextInt() : 0);
        }
        float[] rowScales = new float[m];
        int[] rowZeroPoints = new int[m];
        for (int i = 0; i < m; i++) {
            rowScales[i] = (float) Math.exp(r.nextGaussian() * 3 - 4);
            rowZeroPoints[i] = r.nextInt(256);
        }
        int[] columnTerms = new int[n];
        float[] weightScales = new float[n];
        float[] bias = withBias ? new float[n] : null;
        for (int j = 0; j < n; j++) {
            columnTerms[j] = r.nextInt(1 << 18) - (1 << 17);
            weightScales[j] = (float) Math.exp(r.nextGaussian() - 5);
            if (bias != null) {
                bias[j] = (float) r.nextGaussian();
            }
        }
        float[] expected = new float[m * n + 3];
        float[] actual = new float[m * n + 3];
        DynamicQuantization.dequantizeRowsReference(m, n, acc, rowScales, rowZeroPoints, columnTerms, weightScales,
                bias, expected, 3);
        VectorQuantization.dequantizeRows(m, n, acc, rowScales, rowZeroPoints, columnTerms, weightScales, bias,
                actual, 3);
        assertArrayEquals(expected, actual);
    }

    /**
     * {@code linearPerToken} on each available INT8 GEMM (scalar, Vector API, generated code) against integers
     * computed here: per row, torchao's asymmetric u8 qparams in float32 and {@code clamp(rint(x * (1/s)) + z)};
     * then the exact dot product and {@code fma(float(acc), s * sw, bias)}. Rows in more than one block, K not a
     * multiple of 4, rows of one sign, a constant row.
     */
    @Property(tries = 40)
    void perTokenLinearEqualsIntegerReferenceOnEveryGemm(@ForAll @IntRange(min = 1, max = 30) int m,
                                                         @ForAll @IntRange(min = 1, max = 70) int k,
                                                         @ForAll @IntRange(min = 1, max = 140) int n,
                                                         @ForAll long seed, @ForAll boolean withBias,
                                                         @ForAll boolean reduceRange) {
        Random r = new Random(seed);
        float[] x = new float[m * k + 1];
        for (int i = 0; i < m; i++) {
            int kind = r.nextInt(5);
            float spread = (float) Math.exp(r.nextGaussian() * 2);
            for (int p = 0; p < k; p++) {
                float v = (float) r.nextGaussian() * spread;
                x[1 + i * k + p] = switch (kind) {
                    case 0 -> Math.abs(v);
                    case 1 -> -Math.abs(v);
                    case 2 -> 0.25f;
                    default -> v;
                };
            }
        }
        byte[] w = new byte[n * k];
        r.nextBytes(w);
        float[] sw = new float[n];
        float[] bias = withBias ? new float[n] : null;
        for (int j = 0; j < n; j++) {
            sw[j] = 0.001f + r.nextFloat() * 0.01f;
            if (bias != null) {
                bias[j] = (float) r.nextGaussian();
            }
        }
        int qmax = reduceRange ? 127 : 255;
        float[] expected = new float[m * n];
        for (int i = 0; i < m; i++) {
            float lo = 0f;
            float hi = 0f;
            for (int p = 0; p < k; p++) {
                lo = Math.min(lo, x[1 + i * k + p]);
                hi = Math.max(hi, x[1 + i * k + p]);
            }
            float s = Math.max((hi - lo) / qmax, Math.ulp(1f));
            int z = (int) Math.max(0, Math.min(qmax, -Math.rint(lo / s)));
            int[] xq = new int[k];
            for (int p = 0; p < k; p++) {
                xq[p] = (int) Math.max(0, Math.min(qmax, Math.rint(x[1 + i * k + p] * (1f / s)) + z));
            }
            for (int j = 0; j < n; j++) {
                long dot = 0;
                for (int p = 0; p < k; p++) {
                    dot += (long) (xq[p] - z) * w[j * k + p];
                }
                float scale = s * sw[j];
                expected[i * n + j] = bias == null ? (float) dot * scale : Math.fma((float) dot, scale, bias[j]);
            }
        }
        for (Int8Gemm gemm : Kernels.availableInt8Gemms()) {
            PackedInt8Weights packed = PackedInt8Weights.pack(w, 0, n, k, sw, null, gemm);
            float[] y = new float[m * n + 2];
            DynamicQuantization.linearPerToken(m, x, 1, packed, bias, reduceRange, y, 2, gemm);
            assertArrayEquals(expected, java.util.Arrays.copyOfRange(y, 2, y.length), gemm.name());
        }
    }

    @Test
    void perTokenParamsFollowTorchao() {
        DynamicQuantization.Params positive = DynamicQuantization.chooseParamsPerToken(0.5f, 2.55f, false);
        assertEquals(0.01f, (float) positive.scale());
        assertEquals(0, positive.zeroPoint());
        DynamicQuantization.Params negative = DynamicQuantization.chooseParamsPerToken(-2.55f, -1f, false);
        assertEquals(255, negative.zeroPoint());
        DynamicQuantization.Params both = DynamicQuantization.chooseParamsPerToken(-1f, 3f, true);
        assertEquals(4f / 127, (float) both.scale());
        assertEquals(32, both.zeroPoint());   // rint(1 / (4/127)) = rint(31.75)
        DynamicQuantization.Params zeros = DynamicQuantization.chooseParamsPerToken(0f, 0f, false);
        assertEquals(Math.ulp(1f), (float) zeros.scale());
        assertEquals(0, zeros.zeroPoint());
        assertThrows(IllegalArgumentException.class, () -> DynamicQuantization.chooseParamsPerToken(Float.NaN, 1f,
                false));
        assertThrows(IllegalArgumentException.class, () -> DynamicQuantization.chooseParamsPerToken(
                Float.NEGATIVE_INFINITY, 1f, false));
    }
}
