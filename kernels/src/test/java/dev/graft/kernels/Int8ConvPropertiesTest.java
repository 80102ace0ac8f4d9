package dev.graft.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.Random;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;

/**
 * INT8 convolution and quantized add: the fast paths against plain-loop references, bit for bit, on random
 * geometry (stride, padding, dilation, groups, depthwise with and without fbgemm's int16 saturation) and extreme
 * values (u8 all 255 with weights all -128 is what saturates).
 */
class Int8ConvPropertiesTest {

    record Conv(int n, int c, int h, int w, int opg, int groups, int k, int stride, int pad, int dil, boolean extreme,
                boolean asym, long seed) {
    }

    @Provide
    Arbitrary<Conv> convs() {
        Arbitrary<Integer> small = Arbitraries.integers().between(1, 4);
        return Combinators.combine(Arbitraries.integers().between(1, 2), small, Arbitraries.integers().between(1, 13),
                        Arbitraries.integers().between(1, 21), small, Arbitraries.of(1, 1, 2, 3, 8),
                        Arbitraries.of(1, 2, 3, 5), Arbitraries.of(1, 2, 3))
                .as((n, cpg, h, w, opg, groups, k, stride) -> new int[] {n, cpg, h, w, opg, groups, k, stride})
                .flatMap(v -> Combinators.combine(Arbitraries.integers().between(0, 2), Arbitraries.of(1, 1, 2),
                                Arbitraries.of(false, true), Arbitraries.of(false, true), Arbitraries.longs())
                        .as((pad, dil, ext, asym, seed) -> new Conv(v[0], v[1] * v[5], v[2] + (v[6] - 1) * dil,
                                v[3] + (v[6] - 1) * dil, v[4], v[5], v[6], v[7], pad, dil, ext, asym, seed)));
    }

    @Property(tries = 300)
    void conv2dMatchesReference(@ForAll("convs") Conv p) {
        int oc = p.opg() * p.groups();
        int cpg = p.c() / p.groups();
        Random r = new Random(p.seed());
        byte[] x = new byte[p.n() * p.c() * p.h() * p.w()];
        byte[] w = new byte[oc * cpg * p.k() * p.k()];
        fill(x, r, p.extreme() ? 255 : -1);
        fill(w, r, p.extreme() ? -128 : -1);
        float[] scales = new float[oc];
        int[] zps = p.asym() ? new int[oc] : null;
        for (int o = 0; o < oc; o++) {
            scales[o] = 0.001f + r.nextFloat() * 0.01f;
            if (zps != null) {
                zps[o] = r.nextInt(256) - 128;
            }
        }
        float[] bias = new float[oc];
        for (int o = 0; o < oc; o++) {
            bias[o] = (float) r.nextGaussian();
        }
        var act = new Int8Conv2d.Activation(x, p.n(), p.c(), p.h(), p.w(), 0.01f + r.nextFloat() * 0.02f,
                p.extreme() ? 0 : r.nextInt(256));
        var geo = Int8Conv2d.Geometry.of(p.stride(), p.pad(), p.dil());
        var rq = new Int8Conv2d.Requant(0.01f + r.nextFloat(), r.nextInt(256), r.nextBoolean());
        PackedConvWeights packed = PackedConvWeights.pack(w, oc, cpg, p.k(), p.k(), p.groups(), scales, zps);
        int oh = Conv2dKernels.outputSize(p.h(), p.k(), p.stride(), p.pad(), p.dil());
        int ow = Conv2dKernels.outputSize(p.w(), p.k(), p.stride(), p.pad(), p.dil());
        byte[] expected = new byte[p.n() * oc * oh * ow];
        byte[] actual = expected.clone();
        if (packed.depthwise()) {
            for (boolean saturate : new boolean[] {false, true}) {
                Int8Conv2d.depthwiseReference(act, packed, bias, geo, rq, expected, oh, ow, saturate);
                Int8Conv2d.depthwise(act, packed, bias, geo, rq, actual, oh, ow, saturate, Parallel.shared());
                assertArrayEquals(expected, actual, "depthwise, saturate=" + saturate);
            }
        }
        naive(act, w, oc, cpg, p.k(), p.groups(), scales, zps, bias, geo, rq, oh, ow, expected);
        Int8Conv2d.conv2d(act, packed, bias, geo, rq, actual, Kernels.int8Gemm());
        if (!(packed.depthwise() && Int8Conv2d.fbgemmDepthwisePath(p.c(), oc, p.groups(), p.k(), p.k(), geo))) {
            assertArrayEquals(expected, actual, "conv2d vs exact naive loops");
        }
    }

    @Property(tries = 200)
    void quantizedAddMatchesReference(@ForAll @IntRange(min = 0, max = 100) int len, @ForAll long seed,
                                      @ForAll boolean relu) {
        Random r = new Random(seed);
        byte[] a = new byte[len + 1];
        byte[] b = new byte[len + 2];
        fill(a, r, r.nextInt(4) == 0 ? 255 : -1);
        fill(b, r, r.nextInt(4) == 0 ? 0 : -1);
        var qa = new QuantizedAdd.QParams(r.nextFloat() * 0.1f + 1e-4f, r.nextInt(256));
        var qb = new QuantizedAdd.QParams(r.nextFloat() * 0.1f + 1e-4f, r.nextInt(256));
        var qo = new QuantizedAdd.QParams(r.nextFloat() * 0.1f + 1e-4f, r.nextInt(256));
        byte[] expected = new byte[len + 3];
        byte[] actual = new byte[len + 3];
        QuantizedAdd.addReference(a, 1, qa, b, 2, qb, qo, relu, expected, 3, len);
        QuantizedAdd.add(a, 1, qa, b, 2, qb, qo, relu, actual, 3, len);
        assertArrayEquals(expected, actual);
    }

    private static void fill(byte[] v, Random r, int constant) {
        for (int i = 0; i < v.length; i++) {
            v[i] = (byte) (constant >= -128 ? constant : r.nextInt(256));
        }
    }

    /** Seven plain loops, exact int32 accumulation of centred values, then the fbgemm requantization. */
    private static void naive(Int8Conv2d.Activation x, byte[] w, int oc, int cpg, int k, int groups, float[] scales,
                              int[] zps, float[] bias, Int8Conv2d.Geometry geo, Int8Conv2d.Requant rq, int oh, int ow,
                              byte[] out) {
        int opg = oc / groups;
        for (int img = 0; img < x.n(); img++) {
            for (int o = 0; o < oc; o++) {
                int g = o / opg;
                float atw = x.scale() * scales[o];
                float mult = atw / rq.scale();
                float biasTerm = bias[o] / atw;
                int zw = zps == null ? 0 : zps[o];
                for (int oy = 0; oy < oh; oy++) {
                    for (int ox = 0; ox < ow; ox++) {
                        int acc = 0;
                        for (int ci = 0; ci < cpg; ci++) {
                            for (int ky = 0; ky < k; ky++) {
                                for (int kx = 0; kx < k; kx++) {
                                    int iy = oy * geo.strideH() - geo.padH() + ky * geo.dilH();
                                    int ix = ox * geo.strideW() - geo.padW() + kx * geo.dilW();
                                    int xv = iy < 0 || iy >= x.h() || ix < 0 || ix >= x.w() ? x.zeroPoint()
                                            : x.data()[((img * x.c() + g * cpg + ci) * x.h() + iy) * x.w() + ix] & 0xFF;
                                    int wv = w[((o * cpg + ci) * k + ky) * k + kx];
                                    acc += (xv - x.zeroPoint()) * (wv - zw);
                                }
                            }
                        }
                        out[((img * oc + o) * oh + oy) * ow + ox] = (byte) PreparedOutput.requantize(acc, biasTerm,
                                mult, rq.zeroPoint(), rq.relu() ? rq.zeroPoint() : 0);
                    }
                }
            }
        }
    }
}
