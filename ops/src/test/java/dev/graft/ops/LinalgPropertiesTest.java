package dev.graft.ops;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * matmul (1-d operands, broadcast batches, transposed and strided views), linear and conv2d against plain loops in
 * double.
 *
 * <p>Tolerance: the kernels accumulate k products in float32 in an order of their choosing (blocked, fused
 * multiply-add). Whatever the order, the error of such a sum is at most {@code gamma_k * sum |a_i b_i|} with
 * {@code gamma_k = k u / (1 - k u) ~ k * 2^-24} (Higham, Accuracy and Stability, section 3.1); a bias added in float
 * and the final rounding add one more {@code u} each, hence {@code (k + 2) * 2^-24 * (sum |a b| + |bias|)}.
 */
class LinalgPropertiesTest {

    private static final double U = 0x1p-24;

    private static Ref.Tolerance productTolerance(Ref absProducts, int k) {
        return (e, idx) -> (k + 2) * U * absProducts.get(idx) + Float.MIN_VALUE;
    }

    /** Reference matmul for operands of rank >= 2 (batch dims broadcast): value and sum of |products|. */
    private static Ref[] matmulRef(Ref a, Ref b) {
        int ra = a.rank();
        int rb = b.rank();
        int m = a.shape[ra - 2];
        int k = a.shape[ra - 1];
        int n = b.shape[rb - 1];
        int[] batch = Ref.broadcastShape(Arrays.copyOf(a.shape, ra - 2), Arrays.copyOf(b.shape, rb - 2));
        int[] out = Arrays.copyOf(batch, batch.length + 2);
        out[batch.length] = m;
        out[batch.length + 1] = n;
        double[][] results = new double[2][];
        for (int which = 0; which < 2; which++) {
            boolean abs = which == 1;
            results[which] = Ref.build(out, idx -> {
                double s = 0;
                for (int p = 0; p < k; p++) {
                    double x = a.getBroadcast(withLast2(idx, idx[idx.length - 2], p));
                    double y = b.getBroadcast(withLast2(idx, p, idx[idx.length - 1]));
                    s += abs ? Math.abs(x * y) : x * y;
                }
                return s;
            }).data;
        }
        return new Ref[] {new Ref(out, results[0]), new Ref(out, results[1])};
    }

    /** {@code idx} with its last two entries replaced (the batch part is read with broadcasting). */
    private static int[] withLast2(int[] idx, int r, int c) {
        int[] o = idx.clone();
        o[o.length - 2] = r;
        o[o.length - 1] = c;
        return o;
    }

    @Property(tries = 80)
    void matmulMatchesReference(@ForAll @IntRange(min = 1, max = 7) int m, @ForAll @IntRange(min = 1, max = 7) int k,
                                @ForAll @IntRange(min = 1, max = 7) int n, @ForAll @IntRange(min = 0, max = 3) int kind,
                                @ForAll long seed) {
        Random rnd = new Random(seed);
        // kind 0: both >= 2-d with broadcast batches; 1: a is 1-d; 2: b is 1-d; 3: both 1-d
        int[] batch = ViewChains.randomShape(rnd, 2);
        int[] aShape = kind == 1 || kind == 3 ? new int[] {k} : concat(ViewChains.broadcastPartner(batch, rnd), m, k);
        int[] bShape = kind == 2 || kind == 3 ? new int[] {k} : concat(ViewChains.broadcastPartner(batch, rnd), k, n);
        ViewChains.Pair a = ViewChains.strided(aShape, rnd, false);
        ViewChains.Pair b = ViewChains.strided(bShape, rnd, false);
        Tensor got = a.t().matmul(b.t());
        // The reference promotes 1-d operands the obvious way and removes the added dims afterwards.
        Ref a2 = aShape.length == 1 ? a.r().reshape(1, k) : a.r();
        Ref b2 = bShape.length == 1 ? b.r().reshape(k, 1) : b.r();
        Ref[] ref = matmulRef(a2, b2);
        int[] outShape = ref[0].shape;
        if (aShape.length == 1) {
            outShape = MovementOps.remove(outShape, outShape.length - 2);
        }
        if (bShape.length == 1) {
            outShape = MovementOps.remove(outShape, outShape.length - 1);
        }
        Ref expected = ref[0].reshape(outShape);
        Ref abs = ref[1].reshape(outShape);
        Ref.assertClose(expected, got, productTolerance(abs, k));
        // the same product with B given as a transposed view of a contiguous B^T
        if (bShape.length >= 2) {
            Tensor bt = b.t().transpose(-1, -2).contiguous().transpose(-1, -2);
            Ref.assertClose(expected, a.t().matmul(bt), productTolerance(abs, k));
        }
    }

    @Property(tries = 60)
    void linearMatchesReference(@ForAll @IntRange(min = 1, max = 7) int in, @ForAll @IntRange(min = 1, max = 7) int out,
                                @ForAll boolean withBias, @ForAll boolean transposedWeight, @ForAll long seed) {
        Random rnd = new Random(seed);
        int[] lead = ViewChains.randomShape(rnd, 2);
        ViewChains.Pair x = ViewChains.strided(concat(lead, in), rnd, false);
        Tensor w = transposedWeight ? Tensor.randn(rnd, in, out).t() : Tensor.randn(rnd, out, in);
        Ref wr = Ref.of(w);
        Tensor bias = withBias ? Tensor.randn(rnd, out) : null;
        Ref br = withBias ? Ref.of(bias) : null;
        Tensor y = Dispatch.apply(LinalgOps.LINEAR, x.t(), w, bias);
        int[] yShape = concat(lead, out);
        Ref expected = Ref.build(yShape, idx -> {
            double s = 0;
            for (int i = 0; i < in; i++) {
                s += x.r().get(withLast(idx, i)) * wr.get(idx[idx.length - 1], i);
            }
            return s + (br == null ? 0 : br.get(idx[idx.length - 1]));
        });
        Ref abs = Ref.build(yShape, idx -> {
            double s = 0;
            for (int i = 0; i < in; i++) {
                s += Math.abs(x.r().get(withLast(idx, i)) * wr.get(idx[idx.length - 1], i));
            }
            return s + (br == null ? 0 : Math.abs(br.get(idx[idx.length - 1])));
        });
        Ref.assertClose(expected, y, productTolerance(abs, in));
    }

    private static int[] withLast(int[] idx, int v) {
        int[] o = idx.clone();
        o[o.length - 1] = v;
        return o;
    }

    @Property(tries = 80)
    void conv2dMatchesNaiveLoop(@ForAll @IntRange(min = 1, max = 2) int batch,
                                @ForAll @IntRange(min = 0, max = 2) int groupKind,
                                @ForAll @IntRange(min = 1, max = 3) int cpg, @ForAll @IntRange(min = 1, max = 3) int opg,
                                @ForAll @IntRange(min = 1, max = 7) int h, @ForAll @IntRange(min = 1, max = 7) int w,
                                @ForAll @IntRange(min = 1, max = 3) int kh, @ForAll @IntRange(min = 1, max = 3) int kw,
                                @ForAll @IntRange(min = 1, max = 3) int sh, @ForAll @IntRange(min = 1, max = 2) int sw,
                                @ForAll @IntRange(min = 0, max = 2) int ph, @ForAll @IntRange(min = 0, max = 1) int pw,
                                @ForAll @IntRange(min = 1, max = 2) int dh, @ForAll @IntRange(min = 1, max = 2) int dw,
                                @ForAll boolean withBias, @ForAll long seed) {
        // groupKind 0: groups 1; 1: groups 2; 2: depthwise (groups == c == oc)
        int groups = groupKind == 0 ? 1 : groupKind == 1 ? 2 : 2 + cpg;
        int c = groupKind == 2 ? groups : cpg * groups;
        int oc = groupKind == 2 ? groups : opg * groups;
        int perGroupIn = c / groups;
        Random rnd = new Random(seed);
        ViewChains.Pair x = ViewChains.strided(new int[] {batch, c, h, w}, rnd, false);
        ViewChains.Pair wt = ViewChains.strided(new int[] {oc, perGroupIn, kh, kw}, rnd, false);
        Tensor bias = withBias ? Tensor.randn(rnd, oc) : null;
        Object[] args = {x.t(), wt.t(), bias, new int[] {sh, sw}, new int[] {ph, pw}, new int[] {dh, dw}, groups};
        int oh = Math.floorDiv(h + 2 * ph - dh * (kh - 1) - 1, sh) + 1;
        int ow = Math.floorDiv(w + 2 * pw - dw * (kw - 1) - 1, sw) + 1;
        if (oh <= 0 || ow <= 0) {
            assertThrows(ShapeException.class, () -> Dispatch.apply(LinalgOps.CONV2D, args));
            return;
        }
        Tensor y = Dispatch.apply(LinalgOps.CONV2D, args);
        assertArrayEquals(new int[] {batch, oc, oh, ow}, y.shape());
        double[] b = withBias ? Ref.of(bias).data : new double[oc];
        int opgActual = oc / groups;
        Ref[] ref = new Ref[2];
        for (int which = 0; which < 2; which++) {
            boolean abs = which == 1;
            ref[which] = Ref.build(y.shape(), idx -> {
                int img = idx[0];
                int o = idx[1];
                int g = o / opgActual;
                double s = 0;
                for (int ci = 0; ci < perGroupIn; ci++) {
                    for (int ky = 0; ky < kh; ky++) {
                        for (int kx = 0; kx < kw; kx++) {
                            int iy = idx[2] * sh - ph + ky * dh;
                            int ix = idx[3] * sw - pw + kx * dw;
                            if (iy >= 0 && iy < h && ix >= 0 && ix < w) {
                                double p = x.r().get(img, g * perGroupIn + ci, iy, ix) * wt.r().get(o, ci, ky, kx);
                                s += abs ? Math.abs(p) : p;
                            }
                        }
                    }
                }
                return s + (abs ? Math.abs(b[o]) : b[o]);
            });
        }
        Ref.assertClose(ref[0], y, productTolerance(ref[1], perGroupIn * kh * kw));
    }

    // ---------------------------------------------------------------- examples and errors

    @Test
    void matmulSmallExample() {
        Tensor a = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
        Tensor b = Tensor.of(new float[] {7, 8, 9, 10, 11, 12}, 3, 2);
        assertArrayEquals(new float[] {58, 64, 139, 154}, a.matmul(b).toFloatArray());
        assertEquals(32f, Tensor.of(new float[] {1, 2, 3}, 3).matmul(Tensor.of(new float[] {4, 5, 6}, 3)).item());
        assertEquals(0, Tensor.of(new float[] {1, 2, 3}, 3).matmul(Tensor.of(new float[] {4, 5, 6}, 3)).dim());
    }

    @Test
    void matmulOfOffsetAndExpandedViews() {
        Random rnd = new Random(11);
        Tensor big = Tensor.randn(rnd, 9, 8);
        Tensor a = big.slice(0, 2, 7, 1).narrow(1, 1, 6);          // [5, 6], offset 17, row stride 8
        Tensor b = Tensor.randn(rnd, 1, 6, 1).expand(3, 6, 4);     // stride 0 in the batch and in the columns
        Tensor c = Tensor.randn(rnd, 6).unsqueeze(0).expand(5, 6); // every row the same
        for (Tensor[] pair : new Tensor[][] {{a, b}, {c, b}, {a, c.t()}, {b.transpose(1, 2), a.t()}}) {
            Ref[] ref = matmulRef(Ref.of(pair[0]), Ref.of(pair[1]));
            Ref.assertClose(ref[0], pair[0].matmul(pair[1]), productTolerance(ref[1], pair[0].size(-1)));
        }
        Tensor x = big.slice(1, 0, 8, 2); // [9, 4] with column stride 2
        Tensor w = Tensor.randn(rnd, 3, 4);
        Ref[] ref = matmulRef(Ref.of(x), Ref.of(w.t()));
        Ref.assertClose(ref[0], Dispatch.apply(LinalgOps.LINEAR, x, w, null), productTolerance(ref[1], 4));
    }

    @Test
    void matmulEmptyDimensions() {
        Tensor z = Tensor.zeros(2, 0).matmul(Tensor.zeros(0, 3)); // k = 0: the product is zero
        assertArrayEquals(new int[] {2, 3}, z.shape());
        assertArrayEquals(new float[6], z.toFloatArray());
        assertArrayEquals(new int[] {0, 3}, Tensor.zeros(0, 4).matmul(Tensor.zeros(4, 3)).shape());
        assertArrayEquals(new int[] {0, 2, 3}, Tensor.zeros(0, 2, 4).matmul(Tensor.zeros(4, 3)).shape());
    }

    @Test
    void matmulErrors() {
        assertThrows(ShapeException.class, () -> Tensor.zeros(2, 3).matmul(Tensor.zeros(2, 3)));
        assertThrows(ShapeException.class, () -> Tensor.zeros(3).matmul(Tensor.zeros(4)));
        assertThrows(ShapeException.class, () -> Tensor.scalar(1f).matmul(Tensor.zeros(1)));
        assertThrows(ShapeException.class, () -> Tensor.zeros(2, 2, 3).matmul(Tensor.zeros(3, 3, 4)));
        assertThrows(DTypeException.class, () -> Tensor.arange(3).matmul(Tensor.zeros(3)));
    }

    @Test
    void linearErrors() {
        Tensor w = Tensor.zeros(4, 3);
        assertThrows(ShapeException.class, () -> Dispatch.apply(LinalgOps.LINEAR, Tensor.zeros(2, 4), w, null));
        assertThrows(ShapeException.class, () -> Dispatch.apply(LinalgOps.LINEAR, Tensor.scalar(1f), w, null));
        assertThrows(ShapeException.class, () -> Dispatch.apply(LinalgOps.LINEAR, Tensor.zeros(3), Tensor.zeros(3), null));
        assertThrows(ShapeException.class, () -> Dispatch.apply(LinalgOps.LINEAR, Tensor.zeros(3), w, Tensor.zeros(3)));
        assertThrows(DTypeException.class, () -> Dispatch.apply(LinalgOps.LINEAR, Tensor.zeros(3), w,
                Tensor.zeros(DType.INT64, 4)));
        assertArrayEquals(new int[] {4}, Dispatch.apply(LinalgOps.LINEAR, Tensor.zeros(3), w, null).shape());
        assertArrayEquals(new int[] {0, 4}, Dispatch.apply(LinalgOps.LINEAR, Tensor.zeros(0, 3), w, null).shape());
    }

    @Test
    void conv2dErrors() {
        Tensor x = Tensor.zeros(1, 2, 5, 5);
        Tensor w = Tensor.zeros(4, 2, 3, 3);
        int[] one = {1};
        int[] zero = {0};
        assertThrows(ShapeException.class, () -> conv(x, w, null, new int[] {0}, zero, one, 1));
        assertThrows(ShapeException.class, () -> conv(x, w, null, one, new int[] {-1}, one, 1));
        assertThrows(ShapeException.class, () -> conv(x, w, null, one, zero, new int[] {0, 1}, 1));
        assertThrows(ShapeException.class, () -> conv(x, w, null, new int[] {1, 1, 1}, zero, one, 1));
        assertThrows(ShapeException.class, () -> conv(x, w, null, one, zero, one, 2)); // weight[1] != C/groups
        assertThrows(ShapeException.class, () -> conv(x, w, null, one, zero, one, 0));
        assertThrows(ShapeException.class, () -> conv(x, w, Tensor.zeros(3), one, zero, one, 1));
        assertThrows(DTypeException.class, () -> conv(x, w, Tensor.zeros(DType.INT64, 4), one, zero, one, 1));
        assertThrows(ShapeException.class, () -> conv(Tensor.zeros(1, 2, 2, 2), w, null, one, zero, one, 1));
        assertThrows(ShapeException.class, () -> conv(Tensor.zeros(2, 5, 5), w, null, one, zero, one, 1));
        assertThrows(DTypeException.class, () -> conv(x.to(DType.INT32), w, null, one, zero, one, 1));
        // an empty batch gives an empty output, as in PyTorch
        assertArrayEquals(new int[] {0, 4, 3, 3}, conv(Tensor.zeros(0, 2, 5, 5), w, null, one, zero, one, 1).shape());
    }

    private static Tensor conv(Tensor x, Tensor w, Tensor b, int[] stride, int[] padding, int[] dilation, int groups) {
        return Dispatch.apply(LinalgOps.CONV2D, x, w, b, stride, padding, dilation, groups);
    }

    private static int[] concat(int[] a, int... b) {
        int[] o = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, o, a.length, b.length);
        return o;
    }
}
