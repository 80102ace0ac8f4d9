package dev.graft.engine.quant.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.engine.nn.Conv2d;
import dev.graft.kernels.Int8Conv2d;
import dev.graft.kernels.ScalarInt8Gemm;
import dev.graft.ops.DTypeException;
import dev.graft.ops.Tensor;

import java.util.Random;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * QuantizedConv2d against a naive convolution loop plus the golden requantization, bit for bit: any stride,
 * padding, dilation and groups, depthwise included (with fbgemm's int16 pair saturation on the shapes fbgemm sends
 * to its depthwise kernel, as golden case k_20 shows).
 */
class QuantizedConv2dPropertiesTest {

    @Property(tries = 60)
    void convEqualsNaiveLoop(@ForAll long seed, @ForAll @IntRange(min = 1, max = 2) int n,
                             @ForAll @IntRange(min = 1, max = 3) int groups,
                             @ForAll @IntRange(min = 1, max = 3) int cpg, @ForAll @IntRange(min = 1, max = 3) int opg,
                             @ForAll @IntRange(min = 1, max = 3) int kernel, @ForAll @IntRange(min = 1, max = 2) int stride,
                             @ForAll @IntRange(min = 0, max = 2) int pad, @ForAll @IntRange(min = 1, max = 2) int dil,
                             @ForAll @IntRange(min = 3, max = 9) int h, @ForAll @IntRange(min = 3, max = 11) int w,
                             @ForAll boolean relu, @ForAll boolean withBias) {
        check(seed, n, groups * cpg, groups * opg, groups, kernel, stride, Math.min(pad, kernel / 2 + 1), dil, h, w,
                relu, withBias);
    }

    @Property(tries = 40)
    void depthwiseEqualsNaiveLoop(@ForAll long seed, @ForAll @IntRange(min = 1, max = 3) int c8,
                                  @ForAll boolean five, @ForAll @IntRange(min = 1, max = 2) int stride,
                                  @ForAll @IntRange(min = 5, max = 12) int h, @ForAll @IntRange(min = 5, max = 12) int w,
                                  @ForAll boolean relu, @ForAll boolean oddChannels) {
        int c = oddChannels ? 8 * c8 - 3 : 8 * c8;
        int k = five ? 5 : 3;
        // "same" padding: fbgemm's depthwise kernel (saturating) when c % 8 == 0, the exact loop otherwise
        check(seed, 1, c, c, c, k, stride, (k - 1) / 2, 1, h, w, relu, true);
    }

    private static void check(long seed, int n, int c, int oc, int groups, int k, int stride, int pad, int dil, int h,
                              int w, boolean relu, boolean withBias) {
        Random rnd = new Random(seed);
        int cpg = c / groups;
        Conv2d conv = new Conv2d(c, oc, new int[] {k, k}, new int[] {stride, stride}, new int[] {pad, pad},
                new int[] {dil, dil}, groups, withBias, rnd);
        int oh = Math.floorDiv(h + 2 * pad - dil * (k - 1) - 1, stride) + 1;
        int ow = Math.floorDiv(w + 2 * pad - dil * (k - 1) - 1, stride) + 1;
        if (oh < 1 || ow < 1) {
            return;
        }
        float[] wf = conv.weight().toFloatArray();
        int taps = cpg * k * k;
        float[] scales = GoldenFormula.symmetricScales(wf, oc, taps);
        float sx = 0.01f + rnd.nextFloat() * 0.05f;
        int zx = rnd.nextInt(256);
        float so = 0.02f + rnd.nextFloat() * 0.3f;
        int zo = rnd.nextInt(256);
        byte[] x = GoldenFormula.randomU8(rnd, n * c * h * w);
        float[] bias = withBias ? conv.bias().toFloatArray() : null;
        int[] wq = new int[wf.length];
        for (int i = 0; i < wf.length; i++) {
            wq[i] = GoldenFormula.quantizeWeight(wf[i], scales[i / taps], 0);
        }
        boolean saturate = Int8Conv2d.fbgemmDepthwisePath(c, oc, groups, k, k, Int8Conv2d.Geometry.of(stride, pad, dil));
        int[] expected = new int[n * oc * oh * ow];
        int opg = oc / groups;
        for (int img = 0; img < n; img++) {
            for (int o = 0; o < oc; o++) {
                int g = o / opg;
                for (int oy = 0; oy < oh; oy++) {
                    for (int ox = 0; ox < ow; ox++) {
                        int acc = 0;
                        int t = 0;
                        for (int ci = 0; ci < cpg; ci++) {
                            for (int ky = 0; ky < k; ky++) {
                                for (int kx = 0; kx < k; kx++, t++) {
                                    int iy = oy * stride - pad + ky * dil;
                                    int ix = ox * stride - pad + kx * dil;
                                    int xv = iy < 0 || iy >= h || ix < 0 || ix >= w ? zx
                                            : x[((img * c + g * cpg + ci) * h + iy) * w + ix] & 0xFF;
                                    int wv = wq[o * taps + t];
                                    acc += (xv - zx) * wv;
                                }
                            }
                        }
                        expected[((img * oc + o) * oh + oy) * ow + ox] = GoldenFormula.requantize(acc, sx,
                                scales[o], bias, o, so, zo, relu);
                    }
                }
                if (saturate) {
                    // fbgemm's depthwise kernel: raw u8*s8 products summed in saturating int16 pairs
                    for (int oy = 0; oy < oh; oy++) {
                        for (int ox = 0; ox < ow; ox++) {
                            int acc = saturatedAt(x, img, c, h, w, o, k, stride, pad, zx, wq, taps, oy, ox);
                            expected[((img * oc + o) * oh + oy) * ow + ox] = GoldenFormula.requantize(acc, sx,
                                    scales[o], bias, o, so, zo, relu);
                        }
                    }
                }
            }
        }
        Tensor xq = GoldenFormula.quint8(x, new int[] {n, c, h, w}, sx, zx);
        QuantizedConv2d fast = QuantizedConv2d.fromFloat(conv, scales, null, so, zo, relu);
        assertArrayEquals(expected, GoldenFormula.unsigned(fast.call(xq)), "start-up gemm, saturate=" + saturate);
        QuantizedConv2d scalar = new QuantizedConv2d(fast.weight(), conv.bias(), fast.stride(), fast.padding(),
                fast.dilation(), groups, so, zo, relu, new ScalarInt8Gemm());
        assertArrayEquals(expected, GoldenFormula.unsigned(scalar.call(xq)), "scalar gemm");
    }

    /** fbgemm depthwise: {@code sum of sat16(x[t]w[t] + x[t+1]w[t+1]) - zx*sum(w)} (weights symmetric). */
    private static int saturatedAt(byte[] x, int img, int c, int h, int w, int o, int k, int stride, int pad, int zx,
                                   int[] wq, int taps, int oy, int ox) {
        int sum = 0;
        int tapSum = 0;
        for (int t = 0; t < taps; t += 2) {
            int pair = value(x, img, c, h, w, o, k, stride, pad, zx, oy, ox, t) * wq[o * taps + t];
            tapSum += wq[o * taps + t];
            if (t + 1 < taps) {
                pair += value(x, img, c, h, w, o, k, stride, pad, zx, oy, ox, t + 1) * wq[o * taps + t + 1];
                tapSum += wq[o * taps + t + 1];
            }
            sum += Math.max(-32768, Math.min(32767, pair));
        }
        return sum - zx * tapSum;
    }

    private static int value(byte[] x, int img, int c, int h, int w, int ch, int k, int stride, int pad, int zx, int oy,
                             int ox, int t) {
        int iy = oy * stride - pad + t / k;
        int ix = ox * stride - pad + t % k;
        return iy < 0 || iy >= h || ix < 0 || ix >= w ? zx : x[((img * c + ch) * h + iy) * w + ix] & 0xFF;
    }

    @Test
    void refusesFloatInputAndDescribesItself() {
        Conv2d conv = new Conv2d(2, 4, 3, 1, 1);
        QuantizedConv2d q = QuantizedConv2d.fromFloat(conv, new float[] {0.01f}, null, 0.05f, 3, false);
        DTypeException e = assertThrows(DTypeException.class, () -> q.call(Tensor.zeros(1, 2, 5, 5)));
        assertTrue(e.getMessage().contains("QuantizedConv2d"), e.getMessage());
        assertTrue(q.toString().contains("kernel_size=(3, 3)") && q.toString().contains("zero_point=3"),
                q.toString());
        Tensor y = q.call(GoldenFormula.quint8(new byte[2 * 25], new int[] {2, 5, 5}, 0.1f, 0));
        assertArrayEquals(new int[] {4, 5, 5}, y.shape());
    }
}
