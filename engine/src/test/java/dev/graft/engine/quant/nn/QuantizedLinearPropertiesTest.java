package dev.graft.engine.quant.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.engine.nn.Linear;
import dev.graft.kernels.DynamicQuantization;
import dev.graft.kernels.ScalarInt8Gemm;
import dev.graft.ops.DType;
import dev.graft.ops.DTypeException;
import dev.graft.ops.QParams;
import dev.graft.ops.Tensor;

import java.util.Random;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * QuantizedLinear and DynamicQuantizedLinear against the golden formula in plain Java (integer inputs, float weights
 * quantized independently), bit for bit, on random shapes; plus accuracy against the float Linear.
 */
class QuantizedLinearPropertiesTest {

    /** Sizes with 1, primes and the tails around the panel widths. */
    private static final int[] SIZES = {1, 2, 3, 7, 13, 16, 31, 32, 33, 47, 64, 65, 97};

    @Property(tries = 60)
    void staticLinearEqualsGoldenFormula(@ForAll long seed, @ForAll @IntRange(min = 1, max = 9) int m,
                                         @ForAll @IntRange(min = 0, max = 12) int ki,
                                         @ForAll @IntRange(min = 0, max = 12) int ni,
                                         @ForAll boolean relu, @ForAll boolean withBias, @ForAll boolean perTensor) {
        int k = SIZES[ki];
        int n = SIZES[ni];
        Random rnd = new Random(seed);
        Linear linear = new Linear(k, n, withBias, rnd);
        float[] w = linear.weight().toFloatArray();
        float[] scales = GoldenFormula.symmetricScales(w, n, k);
        if (perTensor) {
            scales = new float[] {max(scales)};
        }
        float sx = 0.02f + rnd.nextFloat() * 0.05f;
        int zx = rnd.nextInt(256);
        float so = 0.01f + rnd.nextFloat() * 0.2f;
        int zo = rnd.nextInt(256);
        byte[] x = GoldenFormula.randomU8(rnd, m * k);
        for (boolean scalar : new boolean[] {false, true}) {
            QuantizedLinear q = scalar
                    ? new QuantizedLinear(QuantizedWeights.quantize("t", linear.weight(), scales, null),
                    linear.bias(), so, zo, relu, new ScalarInt8Gemm())
                    : QuantizedLinear.fromFloat(linear, scales, null, so, zo, relu);
            Tensor y = q.call(GoldenFormula.quint8(x, new int[] {m, k}, sx, zx));
            assertArrayEquals(new int[] {m, n}, y.shape());
            assertEquals(new QParams.PerTensor(so, zo), y.qparams());
            float[] bias = withBias ? linear.bias().toFloatArray() : null;
            int[] expected = new int[m * n];
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    float sw = scales[perTensor ? 0 : j];
                    int acc = 0;
                    for (int p = 0; p < k; p++) {
                        acc += ((x[i * k + p] & 0xFF) - zx) * GoldenFormula.quantizeWeight(w[j * k + p], sw, 0);
                    }
                    expected[i * n + j] = GoldenFormula.requantize(acc, sx, sw, bias, j, so, zo, relu);
                }
            }
            assertArrayEquals(expected, GoldenFormula.unsigned(y), scalar ? "scalar gemm" : "start-up gemm");
        }
    }

    @Property(tries = 40)
    void staticLinearIsCloseToFloat(@ForAll long seed, @ForAll @IntRange(min = 1, max = 5) int m,
                                    @ForAll @IntRange(min = 0, max = 12) int ki,
                                    @ForAll @IntRange(min = 0, max = 12) int ni) {
        int k = SIZES[ki];
        int n = SIZES[ni];
        Random rnd = new Random(seed);
        Linear linear = new Linear(k, n, true, rnd);
        float[] w = linear.weight().toFloatArray();
        float[] scales = GoldenFormula.symmetricScales(w, n, k);
        float sx = 0.05f;
        int zx = 128;
        Tensor xq = GoldenFormula.quint8(GoldenFormula.randomU8(rnd, m * k), new int[] {m, k}, sx, zx);
        float[] ref = linear.call(xq.dequantize()).toFloatArray();
        float lo = Math.min(0, min(ref));
        float hi = Math.max(0, max(ref));
        float so = Math.max((hi - lo) / 255f, 1e-4f);
        int zo = (int) Math.max(0, Math.min(255, Math.round(-lo / so)));
        float[] y = QuantizedLinear.fromFloat(linear, scales, null, so, zo, false).call(xq).dequantize().toFloatArray();
        float[] xd = xq.dequantize().toFloatArray();
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                // Output rounding (half a step, plus a step for the zero point's rounding at the range's ends) and
                // the weight rounding (half a weight step per input).
                double weightError = 0;
                for (int p = 0; p < k; p++) {
                    weightError += Math.abs(xd[i * k + p]) * scales[j] / 2;
                }
                double bound = 1.5 * so + weightError + 1e-4;
                double err = Math.abs(y[i * n + j] - ref[i * n + j]);
                assertTrue(err <= bound, "element " + i + "," + j + ": error " + err + " > " + bound);
            }
        }
    }

    @Property(tries = 60)
    void dynamicLinearEqualsGoldenFormula(@ForAll long seed, @ForAll @IntRange(min = 1, max = 9) int m,
                                          @ForAll @IntRange(min = 0, max = 12) int ki,
                                          @ForAll @IntRange(min = 0, max = 12) int ni,
                                          @ForAll boolean reduceRange, @ForAll boolean withBias) {
        int k = SIZES[ki];
        int n = SIZES[ni];
        Random rnd = new Random(seed);
        Linear linear = new Linear(k, n, withBias, rnd);
        float[] w = linear.weight().toFloatArray();
        float[] scales = GoldenFormula.symmetricScales(w, n, k);
        float[] x = GoldenFormula.randomFloats(rnd, m * k, 0.5f + rnd.nextFloat() * 4);
        if (rnd.nextBoolean()) {
            for (int i = 0; i < x.length; i++) {
                x[i] = Math.abs(x[i]);
            }
        }
        DynamicQuantizedLinear q = DynamicQuantizedLinear.fromFloat(linear, scales, null, reduceRange);
        Tensor y = q.call(Tensor.of(x, m, k));
        float min = Math.min(0, min(x));
        float max = Math.max(0, max(x));
        DynamicQuantization.Params p = DynamicQuantization.chooseParams(min, max, reduceRange);
        float sx = (float) p.scale();
        float inverse = 1f / sx;
        float[] bias = withBias ? linear.bias().toFloatArray() : null;
        float[] got = y.toFloatArray();
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                int acc = 0;
                for (int pp = 0; pp < k; pp++) {
                    int xq = (int) Math.max(0, Math.min(255, Math.rint(Math.fma(x[i * k + pp], inverse,
                            (float) p.zeroPoint()))));
                    acc += (xq - p.zeroPoint()) * GoldenFormula.quantizeWeight(w[j * k + pp], scales[j], 0);
                }
                float expected = GoldenFormula.dequantizeOutput(acc, sx, scales[j], bias, j);
                assertEquals(Float.floatToIntBits(expected), Float.floatToIntBits(got[i * n + j]),
                        "element " + i + "," + j + ": " + expected + " vs " + got[i * n + j]);
            }
        }
    }

    /**
     * Per-token activations from first principles (torchao's {@code _uint8_asymm_per_token_quant}: per row, in
     * float32, {@code s = max((max(hi,0) - min(lo,0)) / 255, eps)}, {@code z = clamp(-rint(min(lo,0) / s), 0, 255)},
     * {@code q = clamp(rint(x * (1/s)) + z, 0, 255)}), then the exact dot product and the dynamic float output with the
     * row's scale; the default GEMM and the scalar one, on a 3-d input.
     */
    @Property(tries = 40)
    void dynamicPerTokenLinearEqualsGoldenFormula(@ForAll long seed, @ForAll @IntRange(min = 1, max = 9) int m,
                                                  @ForAll @IntRange(min = 0, max = 12) int ki,
                                                  @ForAll @IntRange(min = 0, max = 12) int ni,
                                                  @ForAll boolean withBias) {
        int k = SIZES[ki];
        int n = SIZES[ni];
        Random rnd = new Random(seed);
        Linear linear = new Linear(k, n, withBias, rnd);
        float[] w = linear.weight().toFloatArray();
        float[] scales = GoldenFormula.symmetricScales(w, n, k);
        float[] x = new float[2 * m * k];
        for (int i = 0; i < 2 * m; i++) {
            // Rows of very different ranges: what one per-tensor scale serves badly.
            float spread = (float) Math.exp(rnd.nextGaussian() * 2);
            for (int p = 0; p < k; p++) {
                x[i * k + p] = (float) rnd.nextGaussian() * spread + (i % 3 == 0 ? spread : 0);
            }
        }
        float[] bias = withBias ? linear.bias().toFloatArray() : null;
        float[] expected = new float[2 * m * n];
        for (int i = 0; i < 2 * m; i++) {
            float lo = 0f;
            float hi = 0f;
            for (int p = 0; p < k; p++) {
                lo = Math.min(lo, x[i * k + p]);
                hi = Math.max(hi, x[i * k + p]);
            }
            float s = Math.max((hi - lo) / 255f, Math.ulp(1f));
            int z = (int) Math.max(0, Math.min(255, -Math.rint(lo / s)));
            for (int j = 0; j < n; j++) {
                int acc = 0;
                for (int p = 0; p < k; p++) {
                    int xq = (int) Math.max(0, Math.min(255, Math.rint(x[i * k + p] * (1f / s)) + z));
                    acc += (xq - z) * GoldenFormula.quantizeWeight(w[j * k + p], scales[j], 0);
                }
                expected[i * n + j] = GoldenFormula.dequantizeOutput(acc, s, scales[j], bias, j);
            }
        }
        Tensor qw = QuantizedWeights.quantize("t", linear.weight(), scales, null);
        for (DynamicQuantizedLinear q : new DynamicQuantizedLinear[] {
                DynamicQuantizedLinear.fromFloat(linear, scales, null, false, true),
                new DynamicQuantizedLinear(qw, linear.bias(), false, true, new ScalarInt8Gemm())}) {
            assertTrue(q.perToken());
            Tensor y = q.call(Tensor.of(x, 2, m, k));
            assertArrayEquals(new int[] {2, m, n}, y.shape());
            float[] got = y.toFloatArray();
            for (int e = 0; e < got.length; e++) {
                assertEquals(Float.floatToIntBits(expected[e]), Float.floatToIntBits(got[e]),
                        "element " + e + ": " + expected[e] + " vs " + got[e]);
            }
        }
    }

    @Test
    void perTokenIsSavedAndOldFilesReadAsPerTensor() {
        Linear linear = new Linear(6, 3, true, new Random(4));
        float[] scales = GoldenFormula.symmetricScales(linear.weight().toFloatArray(), 3, 6);
        DynamicQuantizedLinear perToken = DynamicQuantizedLinear.fromFloat(linear, scales, null, false, true);
        dev.graft.engine.save.ModuleRecord r = dev.graft.engine.save.ModuleCodecs.encode(perToken, "fc");
        assertEquals(true, r.config().get("per_token"));
        assertTrue(((DynamicQuantizedLinear) dev.graft.engine.save.ModuleCodecs.decode(r, "fc")).perToken());
        assertTrue(perToken.toString().contains("activations=per_token"), perToken.toString());
        r.config().remove("per_token");   // as written before per-token activations existed
        DynamicQuantizedLinear old = (DynamicQuantizedLinear) dev.graft.engine.save.ModuleCodecs.decode(r, "fc");
        assertTrue(!old.perToken() && !old.reduceRange());
    }

    @Test
    void dynamicDefaultsToReduceRangeAndKeepsLeadingDimensions() {
        Linear linear = new Linear(5, 3, true, new Random(1));
        DynamicQuantizedLinear q = DynamicQuantizedLinear.fromFloat(linear,
                GoldenFormula.symmetricScales(linear.weight().toFloatArray(), 3, 5), null);
        assertTrue(q.reduceRange());
        Tensor x = Tensor.rand(new Random(2), -1, 1, 2, 4, 5);
        Tensor y = q.call(x);
        assertArrayEquals(new int[] {2, 4, 3}, y.shape());
        assertTrue(q.activationParams(x).zeroPoint() <= 127);
        float[] ref = linear.call(x).toFloatArray();
        float[] got = y.toFloatArray();
        for (int i = 0; i < ref.length; i++) {
            assertEquals(ref[i], got[i], 0.05, "element " + i);
        }
        assertTrue(q.toString().contains("reduce_range=true"), q.toString());
    }

    @Test
    void refusesWrongInputsAndDescribesItself() {
        Linear linear = new Linear(4, 2, true, new Random(3));
        QuantizedLinear q = QuantizedLinear.fromFloat(linear, new float[] {0.01f, 0.02f}, null, 0.1f, 7, true);
        DTypeException e = assertThrows(DTypeException.class, () -> q.call(Tensor.zeros(1, 4)));
        assertTrue(e.getMessage().contains("QuantizedLinear"), e.getMessage());
        Tensor int8 = Tensor.quantized(DType.INT8, new byte[4], new int[] {1, 4}, new QParams.PerTensor(0.1f, 0));
        assertThrows(DTypeException.class, () -> q.call(int8));
        assertThrows(IllegalArgumentException.class,
                () -> q.call(GoldenFormula.quint8(new byte[3], new int[] {1, 3}, 0.1f, 0)));
        assertEquals(DType.INT8, q.weight().dtype());
        assertTrue(q.weight().qparams() instanceof QParams.PerChannel);
        String repr = q.toString();
        assertTrue(repr.contains("scale=0.1") && repr.contains("zero_point=7") && repr.contains("relu"), repr);
        assertThrows(DTypeException.class, () -> DynamicQuantizedLinear.fromFloat(linear, new float[] {0.01f}, null)
                .call(int8));
    }

    static float max(float[] v) {
        float r = Float.NEGATIVE_INFINITY;
        for (float f : v) {
            r = Math.max(r, f);
        }
        return r;
    }

    static float min(float[] v) {
        float r = Float.POSITIVE_INFINITY;
        for (float f : v) {
            r = Math.min(r, f);
        }
        return r;
    }
}
