package dev.graft.engine.quant.nn;

import dev.graft.ops.DType;
import dev.graft.ops.Dispatch;
import dev.graft.ops.F;
import dev.graft.ops.QParams;
import dev.graft.ops.QuantOps;
import dev.graft.ops.QuantizedOps;
import dev.graft.ops.Tensor;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.FloatRange;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Lookup-table activations (leaky_relu, sigmoid) and the quint8 layout ops NanoDet needs (pad, bilinear upsample). */
class QuantizedLookupAndLayoutTest {

    private static Tensor all256(float scale, int zp) {
        byte[] b = new byte[256];
        for (int q = 0; q < 256; q++) {
            b[q] = (byte) q;
        }
        return QuantizedOps.wrapQuint8(b, new int[] {256}, new QParams.PerTensor(scale, zp));
    }

    private static int[] ints(Tensor q) {
        byte[] b = QuantizedOps.bytesOf(q);
        int[] out = new int[b.length];
        for (int i = 0; i < b.length; i++) {
            out[i] = b[i] & 0xFF;
        }
        return out;
    }

    @Property(tries = 60)
    void leakyReluTableIsTheFloatRoundTrip(@ForAll @FloatRange(min = 1e-3f, max = 0.5f) @net.jqwik.api.constraints.Scale(5) float inScale,
                                           @ForAll @IntRange(min = 0, max = 255) int inZp,
                                           @ForAll @FloatRange(min = 1e-3f, max = 0.5f) @net.jqwik.api.constraints.Scale(5) float outScale,
                                           @ForAll @IntRange(min = 0, max = 255) int outZp,
                                           @ForAll @FloatRange(min = 0f, max = 1f) @net.jqwik.api.constraints.Scale(4) float slope) {
        QuantizedLeakyReLU m = new QuantizedLeakyReLU(slope, outScale, outZp);
        int[] got = ints(m.call(all256(inScale, inZp)));
        for (int q = 0; q < 256; q++) {
            float x = QuantOps.dequantize(q, inScale, inZp);
            float y = x < 0f ? x * slope : x;
            assertEquals(QuantOps.quantize(y, outScale, outZp, 0, 255), got[q], "q=" + q);
        }
        assertArrayEquals(ints(m.fp32Boundary(all256(inScale, inZp))), got);
    }

    @Property(tries = 60)
    void sigmoidTableIsTheFloatRoundTrip(@ForAll @FloatRange(min = 1e-3f, max = 0.5f) @net.jqwik.api.constraints.Scale(5) float inScale,
                                         @ForAll @IntRange(min = 0, max = 255) int inZp) {
        QuantizedSigmoid m = new QuantizedSigmoid();
        Tensor x = all256(inScale, inZp);
        int[] got = ints(m.call(x));
        assertArrayEquals(ints(m.fp32Boundary(x)), got);
        float[] real = x.dequantize().toFloatArray();
        for (int q = 0; q < 256; q++) {
            double y = 1 / (1 + Math.exp(-real[q]));
            assertTrue(Math.abs(got[q] * QuantizedSigmoid.FIXED_SCALE - Math.min(y, 255 / 256.0)) <= 0.5 / 256 + 1e-6,
                    "q=" + q + " got " + got[q] + " for sigmoid " + y);
        }
    }

    @Test
    void tableIsCachedPerInputQParams() {
        QuantizedLeakyReLU m = new QuantizedLeakyReLU(0.1f, 0.02f, 30);
        byte[] a = m.table(new QParams.PerTensor(0.05f, 40));
        assertTrue(a == m.table(new QParams.PerTensor(0.05f, 40)));
        assertTrue(a != m.table(new QParams.PerTensor(0.05f, 41)));
    }

    private static Tensor randomQuint8(Random rng, float scale, int zp, int... shape) {
        int n = 1;
        for (int s : shape) {
            n *= s;
        }
        byte[] b = new byte[n];
        rng.nextBytes(b);
        return QuantizedOps.wrapQuint8(b, shape, new QParams.PerTensor(scale, zp));
    }

    @Test
    void padWithARepresentableValueIsTheFloatPad() {
        Random rng = new Random(3);
        Tensor x = randomQuint8(rng, 0.05f, 17, 2, 3, 4, 5);
        for (int[] pads : new int[][] {{1, 1, 1, 1}, {0, 2, 1, 0, 1, 1}, {-1, 2, 1, -2}, {2, 0}}) {
            for (float value : new float[] {0f, 0.05f * (100 - 17), -0.05f * 17}) {
                Tensor got = Dispatch.apply(QuantizedOps.PAD, x, pads, value);
                Tensor want = F.pad(x.dequantize(), pads, value).quantize(0.05f, 17, DType.UINT8);
                assertArrayEquals(want.shape(), got.shape());
                assertArrayEquals(ints(want), ints(got), java.util.Arrays.toString(pads) + " value " + value);
                assertEquals(x.qparams(), got.qparams());
            }
        }
    }

    @Test
    void padWithMinusInfinityFeedsMaxPoolingExactly() {
        Random rng = new Random(4);
        Tensor x = randomQuint8(rng, 0.03f, 90, 1, 4, 9, 9);
        int[] pads = {1, 1, 1, 1};
        Tensor q = Dispatch.apply(QuantizedOps.MAX_POOL2D, Dispatch.apply(QuantizedOps.PAD, x, pads,
                Float.NEGATIVE_INFINITY), new int[] {3, 3}, new int[] {2, 2}, new int[] {0, 0}, new int[] {1, 1}, false);
        Tensor f = F.maxPool2d(F.pad(x.dequantize(), pads, Float.NEGATIVE_INFINITY), new int[] {3, 3},
                new int[] {2, 2}, new int[] {0, 0}, new int[] {1, 1}, false);
        assertArrayEquals(f.toFloatArray(), q.dequantize().toFloatArray());
    }

    /** ATen's quantized upsample_bilinear2d written out plainly, one output element at a time. */
    private static int atenBilinear(byte[] in, int h, int w, int plane, int oy, int ox, int oh, int ow, boolean align,
                                    int zp) {
        float rh = align ? (oh > 1 ? (float) (h - 1) / (oh - 1) : 0f) : (float) h / oh;
        float rw = align ? (ow > 1 ? (float) (w - 1) / (ow - 1) : 0f) : (float) w / ow;
        float h1r = align ? rh * oy : Math.max(rh * (oy + 0.5f) - 0.5f, 0f);
        float w1r = align ? rw * ox : Math.max(rw * (ox + 0.5f) - 0.5f, 0f);
        int h1 = (int) h1r;
        int w1 = (int) w1r;
        int h1p = h1 < h - 1 ? 1 : 0;
        int w1p = w1 < w - 1 ? 1 : 0;
        float h1l = h1r - h1;
        float h0l = 1f - h1l;
        float w1l = w1r - w1;
        float w0l = 1f - w1l;
        int p = plane * h * w + h1 * w + w1;
        float r = h0l * (w0l * (in[p] & 0xFF) + w1l * (in[p + w1p] & 0xFF))
                + h1l * (w0l * (in[p + h1p * w] & 0xFF) + w1l * (in[p + h1p * w + w1p] & 0xFF)) - zp;
        return Math.max(0, Math.min(255, zp + (int) Math.rint(r)));
    }

    @Test
    void upsampleBilinearIsAtensQuantizedKernelBitForBit() {
        Random rng = new Random(5);
        int[][] cases = {{13, 13, 26, 26}, {26, 26, 52, 52}, {5, 7, 9, 4}, {4, 4, 4, 4}, {3, 5, 1, 1}};
        for (int[] c : cases) {
            for (boolean align : new boolean[] {false, true}) {
                int zp = rng.nextInt(256);
                Tensor x = randomQuint8(rng, 0.02f, zp, 2, 3, c[0], c[1]);
                Tensor got = Dispatch.apply(QuantizedOps.UPSAMPLE_BILINEAR2D, x, new int[] {c[2], c[3]}, align);
                assertArrayEquals(new int[] {2, 3, c[2], c[3]}, got.shape());
                byte[] in = QuantizedOps.bytesOf(x);
                int[] g = ints(got);
                int i = 0;
                for (int plane = 0; plane < 6; plane++) {
                    for (int y = 0; y < c[2]; y++) {
                        for (int xo = 0; xo < c[3]; xo++, i++) {
                            assertEquals(atenBilinear(in, c[0], c[1], plane, y, xo, c[2], c[3], align, zp), g[i]);
                        }
                    }
                }
                // And within one step of the FP32 upsample of the dequantized input.
                float[] f = F.upsampleBilinear(x.dequantize(), new int[] {c[2], c[3]}, align).toFloatArray();
                float[] q = got.dequantize().toFloatArray();
                for (int k = 0; k < f.length; k++) {
                    assertTrue(Math.abs(f[k] - q[k]) <= 0.02f * 0.5f + 1e-5f, "element " + k);
                }
            }
        }
    }
}
