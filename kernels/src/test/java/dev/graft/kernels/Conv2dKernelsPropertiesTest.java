package dev.graft.kernels;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.Arrays;
import java.util.Random;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * {@link Conv2dKernels#conv2d} (im2col + GEMM, pointwise and depthwise paths) against the plain-loop
 * {@link Conv2dKernels#conv2dReference} over random geometry.
 */
class Conv2dKernelsPropertiesTest {

    /** One convolution problem; {@code c = groups * cPerGroup}, {@code oc = groups * ocPerGroup}. */
    record ConvCase(int n, int groups, int cPerGroup, int ocPerGroup, int h, int w, int kh, int kw,
                    int strideH, int strideW, int padH, int padW, int dilH, int dilW, boolean bias, long seed) {
        int c() {
            return groups * cPerGroup;
        }

        int oc() {
            return groups * ocPerGroup;
        }

        int oh() {
            return Conv2dKernels.outputSize(h, kh, strideH, padH, dilH);
        }

        int ow() {
            return Conv2dKernels.outputSize(w, kw, strideW, padW, dilW);
        }
    }

    private static final FloatGemm[] GEMMS = {new ScalarFloatGemm(), new VectorFloatGemm()};

    @Property(tries = 250)
    void groupedConvolutionMatchesReference(@ForAll("general") ConvCase cc) {
        check(cc);
    }

    @Property(tries = 120)
    void depthwiseConvolutionMatchesReference(@ForAll("depthwise") ConvCase cc) {
        check(cc);
    }

    @Property(tries = 60)
    void pointwiseConvolutionMatchesReference(@ForAll("pointwise") ConvCase cc) {
        check(cc);
    }

    @Provide
    Arbitrary<ConvCase> general() {
        return cases(Arbitraries.integers().between(1, 3), Arbitraries.integers().between(1, 3),
                Arbitraries.integers().between(1, 4), Arbitraries.integers().between(1, 4));
    }

    /** groups == c == oc: one input and one output channel per group. */
    @Provide
    Arbitrary<ConvCase> depthwise() {
        return cases(Arbitraries.integers().between(1, 6), Arbitraries.just(1),
                Arbitraries.just(1), Arbitraries.integers().between(1, 5));
    }

    /** 1x1 kernel, stride 1, no padding: the path that feeds the input planes to the GEMM without im2col. */
    @Provide
    Arbitrary<ConvCase> pointwise() {
        Arbitrary<Integer> small = Arbitraries.integers().between(1, 4);
        Arbitrary<Integer> side = Arbitraries.integers().between(1, 12);
        return Combinators.combine(small, Arbitraries.integers().between(1, 2), small, small, side, side,
                        Arbitraries.of(false, true), Arbitraries.longs())
                .as((n, groups, cpg, opg, h, w, bias, seed) ->
                        new ConvCase(n, groups, cpg, opg, h, w, 1, 1, 1, 1, 0, 0, 1, 1, bias, seed));
    }

    private static Arbitrary<ConvCase> cases(Arbitrary<Integer> groups, Arbitrary<Integer> cPerGroup,
                                             Arbitrary<Integer> ocPerGroup, Arbitrary<Integer> kernel) {
        // Input sides are drawn as "just big enough for one output" plus extra, so no draw is wasted.
        Arbitrary<Integer> extra = Arbitraries.integers().between(0, 10);
        Arbitrary<Integer> stride = Arbitraries.integers().between(1, 3);
        Arbitrary<Integer> pad = Arbitraries.integers().between(0, 2);
        Arbitrary<Integer> dil = Arbitraries.integers().between(1, 3);
        Arbitrary<int[]> geometry = Combinators.combine(extra, extra, kernel, kernel, stride, stride, pad, pad)
                .as((eh, ew, kh, kw, sh, sw, ph, pw) -> new int[] {eh, ew, kh, kw, sh, sw, ph, pw});
        return Combinators.combine(Arbitraries.integers().between(1, 2), groups, cPerGroup, ocPerGroup,
                        geometry, dil, dil, Arbitraries.longs())
                .as((n, g, cpg, opg, geo, dh, dw, seed) -> {
                    int kh = geo[2];
                    int kw = geo[3];
                    int h = Math.max(1, dh * (kh - 1) + 1 - 2 * geo[6]) + geo[0];
                    int w = Math.max(1, dw * (kw - 1) + 1 - 2 * geo[7]) + geo[1];
                    return new ConvCase(n, g, cpg, opg, h, w, kh, kw, geo[4], geo[5], geo[6], geo[7], dh, dw,
                            (seed & 1) == 0, seed);
                });
    }

    static void check(ConvCase cc) {
        Random random = new Random(cc.seed());
        float[] x = FloatGemmPropertiesTest.randomArray(cc.n() * cc.c() * cc.h() * cc.w(), random);
        float[] weight = FloatGemmPropertiesTest.randomArray(cc.oc() * cc.cPerGroup() * cc.kh() * cc.kw(), random);
        float[] bias = cc.bias() ? FloatGemmPropertiesTest.randomArray(cc.oc(), random) : null;
        int outLength = cc.n() * cc.oc() * cc.oh() * cc.ow();

        float[] expected = new float[outLength];
        reference(cc, x, weight, bias, expected);
        // The same reference on magnitudes gives, per output, the sum of |term| the tolerance scales with.
        float[] absSums = new float[outLength];
        reference(cc, abs(x), abs(weight), bias == null ? null : abs(bias), absSums);
        int terms = cc.cPerGroup() * cc.kh() * cc.kw() + 2; // products, bias, and the rounding of each product

        for (FloatGemm gemm : GEMMS) {
            float[] actual = new float[outLength];
            Arrays.fill(actual, Float.NaN); // every element must be written
            Conv2dKernels.conv2d(x, cc.n(), cc.c(), cc.h(), cc.w(), weight, bias, cc.oc(), cc.kh(), cc.kw(),
                    cc.strideH(), cc.strideW(), cc.padH(), cc.padW(), cc.dilH(), cc.dilW(), cc.groups(),
                    actual, gemm);
            for (int i = 0; i < outLength; i++) {
                double diff = Math.abs((double) actual[i] - expected[i]);
                double tolerance = Tolerance.of(terms, absSums[i]);
                if (!(diff <= tolerance)) {
                    fail(String.format("conv2d with %s: out[%d] = %s, reference %s, |diff| %.3g > %.3g, %s",
                            gemm.name(), i, actual[i], expected[i], diff, tolerance, cc));
                }
            }
        }
    }

    private static void reference(ConvCase cc, float[] x, float[] weight, float[] bias, float[] out) {
        Conv2dKernels.conv2dReference(x, cc.n(), cc.c(), cc.h(), cc.w(), weight, bias, cc.oc(), cc.kh(), cc.kw(),
                cc.strideH(), cc.strideW(), cc.padH(), cc.padW(), cc.dilH(), cc.dilW(), cc.groups(), out);
    }

    private static float[] abs(float[] values) {
        float[] result = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            result[i] = Math.abs(values[i]);
        }
        return result;
    }
}
