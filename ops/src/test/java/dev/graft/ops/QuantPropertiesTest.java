package dev.graft.ops;

import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.FloatRange;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Scale;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Quantization round trips and the bookkeeping of per-channel qparams through views.
 *
 * <p>Round-trip bound: {@code q = zp + rint(fl(x * fl(1/s)))}, so {@code |(q - zp) - x/s| <= 1/2 + 2u|x/s|}
 * (two float roundings of relative size u = 2^-24), and dequantizing rounds once more:
 * {@code |s (q - zp) (1 + d) - x| <= s/2 + 3u (|x| + s)}. The tests allow {@code s/2 + 4u (|x| + s)}.
 */
class QuantPropertiesTest {

    private static final double U = 0x1p-24;

    @Provide
    Arbitrary<int[]> shapes() {
        return ViewChains.shapes(1, 4);
    }

    @Provide
    Arbitrary<List<Integer>> chains() {
        return ViewChains.chains();
    }

    @Property(tries = 60)
    void perTensorRoundTripWithinHalfAStep(@ForAll("shapes") int[] shape, @ForAll long seed,
                                           @ForAll @FloatRange(min = 0.001f, max = 1f) @Scale(4) float scale,
                                           @ForAll boolean signed, @ForAll @IntRange(min = 0, max = 255) int zpChoice) {
        DType dtype = signed ? DType.INT8 : DType.UINT8;
        int qmin = (int) dtype.minValue();
        int qmax = (int) dtype.maxValue();
        int zp = qmin + zpChoice;
        Random rnd = new Random(seed);
        // values spread over the representable range and a little beyond it on both sides
        double lo = scale * (qmin - zp);
        double hi = scale * (qmax - zp);
        ViewChains.Pair p = ViewChains.strided(shape, rnd, false);
        Ref xr = p.r().map(v -> (float) (lo + (hi - lo) * (0.5 + v / 6)));
        Tensor x = Tensor.of(toFloats(xr), xr.shape);
        Tensor q = x.quantize(scale, zp, dtype);
        assertEquals(dtype, q.dtype());
        Tensor d = q.dequantize();
        Ref.assertClose(xr.map(v -> Math.min(Math.max(v, lo), hi)), d,
                (e, idx) -> scale / 2.0 + 4 * U * (Math.abs(xr.get(idx)) + scale));
        for (long v : q.toLongArray()) {
            assertTrue(v >= qmin && v <= qmax);
        }
        // zero is exactly representable
        assertEquals(0f, Tensor.zeros(1).quantize(scale, zp, dtype).dequantize().item());
        assertEquals(zp, Tensor.zeros(1).quantize(scale, zp, dtype).getLong(0));
    }

    @Property(tries = 60)
    void perChannelAlongEveryAxis(@ForAll("shapes") int[] shape, @ForAll long seed, @ForAll boolean signed) {
        Random rnd = new Random(seed);
        DType dtype = signed ? DType.INT8 : DType.UINT8;
        int axis = rnd.nextInt(shape.length);
        int channels = shape[axis];
        float[] scales = new float[channels];
        int[] zps = new int[channels];
        for (int c = 0; c < channels; c++) {
            scales[c] = (float) Math.exp(-3 * rnd.nextDouble()); // 0.05 .. 1
            zps[c] = signed ? rnd.nextInt(21) - 10 : rnd.nextInt(256);
        }
        ViewChains.Pair x = ViewChains.strided(shape, rnd, false);
        Tensor q = x.t().quantizePerChannel(scales, zps, axis - (rnd.nextBoolean() ? shape.length : 0), dtype);
        assertEquals(new QParams.PerChannel(scales, zps, axis), q.qparams());
        Tensor d = q.dequantize();
        // each channel: within half a step of x (clamped to its channel's range)
        Ref.assertClose(Ref.build(shape, idx -> {
            int c = idx[axis];
            double lo = scales[c] * ((double) dtype.minValue() - zps[c]);
            double hi = scales[c] * ((double) dtype.maxValue() - zps[c]);
            return Math.min(Math.max(x.r().get(idx), lo), hi);
        }), d, (e, idx) -> scales[idx[axis]] / 2.0 + 4 * U * (Math.abs(x.r().get(idx)) + scales[idx[axis]]));
        // and exactly what per-tensor quantization of that channel's slice gives
        for (int c = 0; c < channels; c++) {
            Tensor slice = x.t().select(axis, c).quantize(scales[c], zps[c], dtype);
            assertArrayEquals(slice.toLongArray(), q.select(axis, c).toLongArray(), "channel " + c);
            assertArrayEquals(slice.dequantize().toFloatArray(), q.select(axis, c).dequantize().toFloatArray());
        }
    }

    /** Views of a per-channel tensor: dequantize(view(q)) == view(dequantize(q)), with the right channel qparams. */
    @Property(tries = 80)
    void perChannelViewsKeepTheirChannels(@ForAll("shapes") int[] shape, @ForAll("chains") List<Integer> chain,
                                          @ForAll long seed) {
        Random rnd = new Random(seed);
        int axis = rnd.nextInt(shape.length);
        float[] scales = new float[shape[axis]];
        int[] zps = new int[shape[axis]];
        for (int c = 0; c < scales.length; c++) {
            scales[c] = 0.01f * (c + 1); // a different scale per channel, so a mix-up shows
            zps[c] = c - 3;
        }
        Tensor q = Tensor.randn(rnd, shape).quantizePerChannel(scales, zps, axis, DType.INT8);
        Tensor d = q.dequantize();
        // Track the channel of every element through the chain: a tensor holding each element's channel index.
        Tensor channelOf = Tensor.ofLongs(channelIndices(shape, axis), shape).to(DType.FLOAT32);
        for (int code : chain) {
            ViewChains.Pair before = new ViewChains.Pair(d, Ref.of(d));
            Tensor next;
            try {
                next = ViewChains.step(new ViewChains.Pair(q, Ref.of(d)), code).t();
            } catch (DTypeException refused) {
                // reshape-like steps refuse per-channel tensors; everything else must work
                int kind = code % 6;
                assertTrue(kind == 3 || kind == 4 || kind == 5, "refused step " + kind + ": " + refused.getMessage());
                continue;
            }
            ViewChains.Pair dv = ViewChains.step(before, code);
            Tensor cv = ViewChains.step(new ViewChains.Pair(channelOf, Ref.of(channelOf)), code).t();
            q = next;
            d = dv.t();
            channelOf = cv;
            assertArrayEquals(d.toFloatArray(), q.dequantize().toFloatArray());
            checkQParamsMatchChannels(q, channelOf, scales, zps);
        }
        // copies keep the qparams too
        Tensor c = q.contiguous();
        assertEquals(q.qparams(), c.qparams());
        assertArrayEquals(d.toFloatArray(), c.dequantize().toFloatArray());
    }

    private static void checkQParamsMatchChannels(Tensor q, Tensor channelOf, float[] scales, int[] zps) {
        float[] ch = channelOf.toFloatArray();
        if (ch.length == 0) {
            return;
        }
        if (q.qparams() instanceof QParams.PerTensor pt) {
            for (float c : ch) {
                assertEquals(scales[(int) c], pt.scale());
                assertEquals(zps[(int) c], pt.zeroPoint());
            }
            return;
        }
        QParams.PerChannel pc = assertInstanceOf(QParams.PerChannel.class, q.qparams());
        assertEquals(q.size(pc.axis()), pc.channels());
        for (int[] idx : Ref.indices(q.shape())) {
            int original = (int) channelOf.getFloat(idx);
            assertEquals(scales[original], pc.scale(idx[pc.axis()]));
            assertEquals(zps[original], pc.zeroPoint(idx[pc.axis()]));
        }
    }

    private static long[] channelIndices(int[] shape, int axis) {
        List<int[]> all = Ref.indices(shape);
        long[] out = new long[all.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = all.get(i)[axis];
        }
        return out;
    }

    // ---------------------------------------------------------------- examples

    @Test
    void specialValues() {
        Tensor x = Tensor.of(new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 1e30f, -1e30f},
                5);
        assertArrayEquals(new long[] {0, 255, 0, 255, 0}, x.quantize(0.1f, 7, DType.UINT8).toLongArray());
        assertArrayEquals(new long[] {-128, 127, -128, 127, -128}, x.quantize(0.1f, 0, DType.INT8).toLongArray());
    }

    @Test
    void selectAlongTheAxisGivesPerTensor() {
        Tensor q = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3)
                .quantizePerChannel(new float[] {0.5f, 0.25f, 1f}, new int[] {1, 2, 3}, 1, DType.UINT8);
        Tensor col = q.select(1, 1);
        assertEquals(new QParams.PerTensor(0.25f, 2), col.qparams());
        assertArrayEquals(new float[] {2, 5}, col.dequantize().toFloatArray());
        Tensor row = q.select(0, 1);
        assertEquals(new QParams.PerChannel(new float[] {0.5f, 0.25f, 1f}, new int[] {1, 2, 3}, 0), row.qparams());
        assertArrayEquals(new float[] {4, 5, 6}, row.dequantize().toFloatArray());
        Tensor sliced = q.slice(1, -2, 3, 1);
        assertEquals(new QParams.PerChannel(new float[] {0.25f, 1f}, new int[] {2, 3}, 1), sliced.qparams());
        assertEquals(new QParams.PerChannel(new float[] {0.5f, 0.25f, 1f}, new int[] {1, 2, 3}, 0), q.t().qparams());
    }

    @Test
    void catJoinsPerChannelQParamsAlongTheAxis() {
        Tensor a = Tensor.of(new float[] {1, 2, 3, 4}, 2, 2)
                .quantizePerChannel(new float[] {0.5f, 0.25f}, new int[] {0, 1}, 0, DType.INT8);
        Tensor b = Tensor.of(new float[] {5, 6}, 1, 2)
                .quantizePerChannel(new float[] {0.125f}, new int[] {2}, 0, DType.INT8);
        Tensor c = Dispatch.apply(MovementOps.CAT, new Tensor[] {a, b}, 0);
        assertEquals(new QParams.PerChannel(new float[] {0.5f, 0.25f, 0.125f}, new int[] {0, 1, 2}, 0), c.qparams());
        assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, c.dequantize().toFloatArray());
        // across the other axis the qparams must agree
        Tensor c1 = Dispatch.apply(MovementOps.CAT, new Tensor[] {a, a}, 1);
        assertEquals(a.qparams(), c1.qparams());
        assertArrayEquals(new float[] {1, 2, 1, 2, 3, 4, 3, 4}, c1.dequantize().toFloatArray());
        assertThrows(ShapeException.class, () -> Dispatch.apply(MovementOps.CAT, new Tensor[] {a, b}, 1));
        Tensor pt = Tensor.of(new float[] {5, 6}, 1, 2).quantize(0.5f, 0, DType.INT8);
        assertThrows(ShapeException.class, () -> Dispatch.apply(MovementOps.CAT, new Tensor[] {a, pt}, 0));
        assertThrows(ShapeException.class, () -> Dispatch.apply(MovementOps.CAT, new Tensor[] {pt, a}, 0));
    }

    @Test
    void argumentErrors() {
        Tensor x = Tensor.zeros(2, 3);
        assertThrows(DTypeException.class, () -> x.quantize(1f, 0, DType.INT32));
        assertThrows(TensorException.class, () -> x.quantize(1f, 300, DType.UINT8));
        assertThrows(TensorException.class, () -> x.quantize(1f, -1, DType.UINT8));
        assertThrows(TensorException.class, () -> x.quantize(1f, 128, DType.INT8));
        assertThrows(IllegalArgumentException.class, () -> x.quantize(0f, 0, DType.INT8));
        assertThrows(DTypeException.class, () -> Tensor.arange(3).quantize(1f, 0, DType.INT8));
        assertThrows(DTypeException.class, x::dequantize);
        assertThrows(DTypeException.class, () -> x.quantize(1f, 0, DType.INT8).quantize(1f, 0, DType.INT8));
        assertThrows(ShapeException.class,
                () -> x.quantizePerChannel(new float[] {1f, 1f}, new int[] {0, 0}, 1, DType.INT8));
        assertThrows(ShapeException.class,
                () -> x.quantizePerChannel(new float[] {1f, 1f}, new int[] {0, 0}, 2, DType.INT8));
        assertThrows(ShapeException.class,
                () -> Tensor.scalar(1f).quantizePerChannel(new float[] {1f}, new int[] {0}, 0, DType.INT8));
        Tensor q = x.quantize(1f, 0, DType.INT8);
        assertThrows(DTypeException.class, () -> q.add(q));
        assertThrows(DTypeException.class, q::exp);
        assertThrows(DTypeException.class, () -> q.to(DType.FLOAT32));
        assertThrows(DTypeException.class, () -> q.matmul(q.t()));
    }

    private static float[] toFloats(Ref r) {
        float[] f = new float[r.data.length];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) r.data[i];
        }
        return f;
    }
}
