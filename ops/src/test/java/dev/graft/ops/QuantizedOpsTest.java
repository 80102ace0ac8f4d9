package dev.graft.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * Quantized operators against their formulas written out in plain Java on the integers (bit for bit), on random
 * shapes and qparams, plus the dtype refusals.
 */
class QuantizedOpsTest {

    private static final int[] SIZES = {1, 2, 3, 5, 7, 8, 13, 16, 17, 31, 33};

    @Property(tries = 60)
    void addAddReluAndMulEqualTheirFormulas(@ForAll long seed, @ForAll @IntRange(min = 0, max = 10) int ai,
                                            @ForAll @IntRange(min = 0, max = 10) int bi) {
        Random rnd = new Random(seed);
        int[] shape = {SIZES[ai], SIZES[bi]};
        Tensor a = random(rnd, shape);
        Tensor b = random(rnd, shape);
        float so = 0.005f + rnd.nextFloat() * 0.1f;
        int zo = rnd.nextInt(256);
        int[] qa = ints(a);
        int[] qb = ints(b);
        QParams.PerTensor pa = (QParams.PerTensor) a.qparams();
        QParams.PerTensor pb = (QParams.PerTensor) b.qparams();
        int[] add = ints(Dispatch.apply(QuantizedOps.ADD, a, b, so, zo));
        int[] addRelu = ints(Dispatch.apply(QuantizedOps.ADD_RELU, a, b, so, zo));
        int[] mul = ints(Dispatch.apply(QuantizedOps.MUL, a, b, so, zo));
        float inverse = 1f / so;
        float mulMultiplier = pa.scale() * pb.scale() * inverse;
        for (int i = 0; i < qa.length; i++) {
            // k_21 emulation: two float products, one sum, times the float reciprocal, ties to even
            float c = pa.scale() * (float) (qa[i] - pa.zeroPoint()) + pb.scale() * (float) (qb[i] - pb.zeroPoint());
            assertEquals(clamp(zo + (long) Math.rint(c * inverse)), add[i], "add " + i);
            assertEquals(clamp(zo + (long) Math.rint(Math.max(c, 0f) * inverse)), addRelu[i], "add_relu " + i);
            int prod = (qa[i] - pa.zeroPoint()) * (qb[i] - pb.zeroPoint());
            assertEquals(clamp(zo + (long) Math.rint((float) prod * mulMultiplier)), mul[i], "mul " + i);
        }
    }

    @Test
    void addBroadcastsLikeTheExpandedOperands() {
        Random rnd = new Random(5);
        Tensor a = random(rnd, new int[] {3, 4});
        Tensor b = random(rnd, new int[] {1, 4});
        Tensor viaBroadcast = Dispatch.apply(QuantizedOps.ADD, a, b, 0.05f, 10);
        Tensor viaCopy = Dispatch.apply(QuantizedOps.ADD, a, b.expand(3, 4).contiguous(), 0.05f, 10);
        assertArrayEquals(ints(viaCopy), ints(viaBroadcast));
    }

    @Property(tries = 40)
    void reluAndMaxPoolWorkOnTheIntegers(@ForAll long seed, @ForAll @IntRange(min = 1, max = 3) int k,
                                         @ForAll @IntRange(min = 1, max = 3) int stride,
                                         @ForAll @IntRange(min = 3, max = 12) int h,
                                         @ForAll @IntRange(min = 3, max = 12) int w, @ForAll boolean ceil) {
        Random rnd = new Random(seed);
        Tensor x = random(rnd, new int[] {2, 3, h, w});
        QParams.PerTensor q = (QParams.PerTensor) x.qparams();
        int[] relu = ints(Dispatch.apply(QuantizedOps.RELU, x));
        int[] xi = ints(x);
        for (int i = 0; i < xi.length; i++) {
            assertEquals(Math.max(xi[i], q.zeroPoint()), relu[i]);
        }
        int pad = k / 2;
        Tensor pooled = Dispatch.apply(QuantizedOps.MAX_POOL2D, x, new int[] {k}, new int[] {stride},
                new int[] {pad}, new int[] {1}, ceil);
        // Dequantizing is increasing: the pooled integers dequantize to the float max pool of the dequantized input.
        Tensor reference = Dispatch.apply(NNPoolOps.MAX_POOL2D, x.dequantize(), new int[] {k}, new int[] {stride},
                new int[] {pad}, new int[] {1}, ceil);
        assertEquals(x.qparams(), pooled.qparams());
        assertArrayEquals(reference.toFloatArray(), pooled.dequantize().toFloatArray(), 0f);
    }

    @Property(tries = 40)
    void avgPoolsAverageTheIntegersAsAten(@ForAll long seed, @ForAll @IntRange(min = 1, max = 4) int k,
                                          @ForAll @IntRange(min = 1, max = 3) int stride,
                                          @ForAll @IntRange(min = 4, max = 11) int h,
                                          @ForAll @IntRange(min = 4, max = 11) int w, @ForAll boolean ceil,
                                          @ForAll boolean countIncludePad,
                                          @ForAll @IntRange(min = 1, max = 4) int outH) {
        Random rnd = new Random(seed);
        Tensor x = random(rnd, new int[] {1, 2, h, w});
        QParams.PerTensor q = (QParams.PerTensor) x.qparams();
        int zp = q.zeroPoint();
        int pad = k / 2;
        Tensor pooled = Dispatch.apply(QuantizedOps.AVG_POOL2D, x, new int[] {k}, new int[] {stride}, new int[] {pad},
                ceil, countIncludePad);
        // The windows (hence the output shape) are the float op's.
        assertArrayEquals(Dispatch.apply(NNPoolOps.AVG_POOL2D, x.dequantize(), new int[] {k}, new int[] {stride},
                new int[] {pad}, ceil, countIncludePad).shape(), pooled.shape());
        int[] got = ints(pooled);
        int[] xi = ints(x);
        int[] shape = pooled.shape();
        for (int i = 0; i < got.length; i++) {
            int plane = i / (shape[2] * shape[3]);
            int oy = i / shape[3] % shape[2];
            int ox = i % shape[3];
            int y0 = oy * stride - pad;
            int x0 = ox * stride - pad;
            int y1 = Math.min(y0 + k, h + pad);
            int x1 = Math.min(x0 + k, w + pad);
            int paddedSize = (y1 - y0) * (x1 - x0);
            int acc = 0;
            int count = 0;
            for (int iy = Math.max(y0, 0); iy < Math.min(y1, h); iy++) {
                for (int ix = Math.max(x0, 0); ix < Math.min(x1, w); ix++) {
                    acc += xi[(plane * h + iy) * w + ix] - zp;
                    count++;
                }
            }
            int divisor = countIncludePad ? paddedSize : count;
            float multiplier = q.scale() / q.scale() / divisor;
            assertEquals(clamp(zp + (long) Math.rint((float) acc * multiplier)), got[i], "avg " + i);
        }

        int outW = Math.min(outH + 1, w);
        Tensor adaptive = Dispatch.apply(QuantizedOps.ADAPTIVE_AVG_POOL2D, x, new int[] {outH, outW});
        int[] ad = ints(adaptive);
        for (int i = 0; i < ad.length; i++) {
            int plane = i / (outH * outW);
            int oy = i / outW % outH;
            int ox = i % outW;
            int ys = oy * h / outH;
            int ye = ((oy + 1) * h + outH - 1) / outH;
            int xs = ox * w / outW;
            int xe = ((ox + 1) * w + outW - 1) / outW;
            int acc = 0;
            for (int iy = ys; iy < ye; iy++) {
                for (int ix = xs; ix < xe; ix++) {
                    acc += xi[(plane * h + iy) * w + ix] - zp;
                }
            }
            int size = (ye - ys) * (xe - xs);
            assertEquals(clamp(zp + (long) Math.rint((float) acc * (q.scale() / q.scale() / size))), ad[i]);
        }
        assertEquals(x.qparams(), adaptive.qparams());
    }

    @Property(tries = 40)
    void catRequantizesEachInput(@ForAll long seed, @ForAll @IntRange(min = 1, max = 4) int parts,
                                 @ForAll @IntRange(min = 0, max = 2) int dim) {
        Random rnd = new Random(seed);
        Tensor[] xs = new Tensor[parts];
        for (int t = 0; t < parts; t++) {
            int[] shape = {2, 3, 4};
            shape[dim] = 1 + rnd.nextInt(4);
            xs[t] = random(rnd, shape);
        }
        if (parts > 1 && rnd.nextBoolean()) {
            xs[1] = Tensor.quantized(DType.UINT8, xs[1].toByteArray(), xs[1].shape(), xs[0].qparams());
        }
        float so = 0.01f + rnd.nextFloat() * 0.1f;
        int zo = rnd.nextInt(256);
        Tensor out = Dispatch.apply(QuantizedOps.CAT, xs, dim, so, zo);
        Tensor[] expectedParts = new Tensor[parts];
        for (int t = 0; t < parts; t++) {
            int[] xi = ints(xs[t]);
            QParams.PerTensor q = (QParams.PerTensor) xs[t].qparams();
            byte[] re = new byte[xi.length];
            for (int i = 0; i < xi.length; i++) {
                float real = q.scale() * (float) (xi[i] - q.zeroPoint());
                re[i] = (byte) QuantOps.quantize(real, so, zo, 0, 255);
            }
            expectedParts[t] = Tensor.quantized(DType.UINT8, re, xs[t].shape(), new QParams.PerTensor(so, zo));
        }
        Tensor expected = Dispatch.apply(MovementOps.CAT, expectedParts, dim);
        assertArrayEquals(expected.shape(), out.shape());
        assertArrayEquals(ints(expected), ints(out));
        assertEquals(new QParams.PerTensor(so, zo), out.qparams());
    }

    @Property(tries = 50)
    void matmulEqualsExactIntegerProductRequantized(@ForAll long seed, @ForAll @IntRange(min = 0, max = 10) int mi,
                                                    @ForAll @IntRange(min = 0, max = 10) int ki,
                                                    @ForAll @IntRange(min = 0, max = 10) int ni,
                                                    @ForAll @IntRange(min = 1, max = 3) int heads,
                                                    @ForAll boolean transposedRight, @ForAll boolean sharedRight) {
        Random rnd = new Random(seed);
        int m = SIZES[mi];
        int k = SIZES[ki];
        int n = SIZES[ni];
        Tensor a = random(rnd, new int[] {heads, m, k});
        Tensor b;
        if (sharedRight) {
            b = random(rnd, new int[] {k, n});
        } else if (transposedRight) {
            // attention: q @ k^T with k^T a permuted view
            b = random(rnd, new int[] {heads, n, k}).transpose(1, 2);
        } else {
            b = random(rnd, new int[] {heads, k, n});
        }
        QParams.PerTensor qa = (QParams.PerTensor) a.qparams();
        QParams.PerTensor qb = (QParams.PerTensor) b.qparams();
        float so = 0.01f + rnd.nextFloat();
        int zo = rnd.nextInt(256);
        Tensor out = Dispatch.apply(QuantizedOps.MATMUL, a, b, so, zo);
        assertArrayEquals(new int[] {heads, m, n}, out.shape());
        int[] ai = ints(a);
        int[] bi = ints(b);
        int[] got = ints(out);
        float atw = qa.scale() * qb.scale();
        float mult = atw / so;
        for (int h = 0; h < heads; h++) {
            int bBase = sharedRight ? 0 : h * k * n;
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    int acc = 0;
                    for (int p = 0; p < k; p++) {
                        acc += (ai[(h * m + i) * k + p] - qa.zeroPoint()) * (bi[bBase + p * n + j] - qb.zeroPoint());
                    }
                    int expected = clamp((long) Math.rint((float) acc * mult) + zo);
                    assertEquals(expected, got[(h * m + i) * n + j], "h=" + h + " i=" + i + " j=" + j);
                }
            }
        }
    }

    @Test
    void viewsCarryQParamsThroughReshapePermuteAndFlatten() {
        Tensor x = random(new Random(9), new int[] {2, 3, 4});
        Tensor y = x.permute(2, 0, 1).reshape(4, 6).flatten(0, 1);
        assertEquals(x.qparams(), y.qparams());
        Tensor relu = Dispatch.apply(QuantizedOps.RELU, y);
        assertEquals(24, relu.numel());
    }

    @Test
    void refusesWrongDtypesNamingTheOp() {
        Tensor f = Tensor.zeros(2, 2);
        Tensor s8 = Tensor.quantized(DType.INT8, new byte[4], new int[] {2, 2}, new QParams.PerTensor(0.1f, 0));
        Tensor perChannel = Tensor.quantized(DType.UINT8, new byte[4], new int[] {2, 2},
                new QParams.PerChannel(new float[] {0.1f, 0.2f}, new int[] {0, 0}, 0));
        Tensor u8 = random(new Random(1), new int[] {2, 2});
        for (Tensor bad : new Tensor[] {f, s8, perChannel}) {
            for (Op op : new Op[] {QuantizedOps.ADD, QuantizedOps.ADD_RELU, QuantizedOps.MUL, QuantizedOps.MATMUL}) {
                DTypeException e = assertThrows(DTypeException.class, () -> Dispatch.apply(op, u8, bad, 0.1f, 0));
                assertTrue(e.getMessage().startsWith(op.name()), e.getMessage());
            }
            assertThrows(DTypeException.class, () -> Dispatch.apply(QuantizedOps.RELU, bad));
            assertThrows(DTypeException.class,
                    () -> Dispatch.apply(QuantizedOps.CAT, new Tensor[] {u8, bad}, 0, 0.1f, 0));
            assertThrows(DTypeException.class, () -> Dispatch.apply(QuantizedOps.ADAPTIVE_AVG_POOL2D,
                    bad.reshape(1, 1, 2, 2), new int[] {1}));
        }
        assertThrows(TensorException.class, () -> Dispatch.apply(QuantizedOps.ADD, u8, u8, 0.1f, 300));
    }

    // ---------------------------------------------------------------- helpers

    static Tensor random(Random rnd, int[] shape) {
        byte[] data = new byte[Shapes.numel("random", shape)];
        rnd.nextBytes(data);
        return Tensor.quantized(DType.UINT8, data, shape,
                new QParams.PerTensor(0.002f + rnd.nextFloat() * 0.1f, rnd.nextInt(256)));
    }

    static int[] ints(Tensor q) {
        byte[] b = q.toByteArray();
        int[] out = new int[b.length];
        for (int i = 0; i < b.length; i++) {
            out[i] = b[i] & 0xFF;
        }
        return out;
    }

    static int clamp(long q) {
        return (int) Math.max(0, Math.min(255, q));
    }
}
