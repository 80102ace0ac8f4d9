package dev.graft.ops;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Each operator of {@link NNOps} against a plain scalar reference written here in the most obvious way (nested loops
 * over logical indices, double precision), on random shapes (sizes 1 to 7 or 11, so size-1 and prime dimensions come
 * up) and random layouts: contiguous, permuted (reversed strides) and sliced (step 2, non-zero offset).
 *
 * <p>Tolerances. The reference is exact to double precision; the operator returns float32. Where the operator
 * accumulates in double and rounds once (softmax, layer_norm, batch_norm, the average pools) the error is a few
 * float32 ulps, so {@code 1e-6 * (1 + |ref|)} (about 8 ulps at magnitude 1) is a safe bound. Bilinear upsampling
 * blends in float32 as PyTorch, with float32 weights: a handful of roundings of values at most max|x|, so
 * {@code 1e-5 * (1 + max|x|)}. Max pooling, nearest upsampling and embedding copy values: they must be exact.
 */
class NNOpsPropertiesTest {

    // ---------------------------------------------------------------- softmax

    @Property(tries = 80)
    void softmaxMatchesReference(@ForAll("shapes") int[] shape, @ForAll @IntRange(min = 0, max = 7) int dimChoice,
                                 @ForAll @IntRange(min = 0, max = 2) int layout, @ForAll long seed) {
        Random random = new Random(seed);
        int rank = shape.length;
        int dim = dimChoice % rank - (dimChoice >= 4 ? rank : 0);
        // Wide values (up to +-60) so that naive exp would lose the small entries; a row offset tests stability.
        Tensor x = arrange(random, shape, layout, 30f, 50f);
        for (boolean log : new boolean[] {false, true}) {
            Tensor y = log ? F.logSoftmax(x, dim) : F.softmax(x, dim);
            assertArrayEquals(shape, y.shape());
            double[] ref = referenceSoftmax(x.toFloatArray(), shape, Math.floorMod(dim, rank), log);
            assertClose(ref, y.toFloatArray(), 1e-6, log ? "log_softmax" : "softmax");
        }
    }

    private static double[] referenceSoftmax(float[] x, int[] shape, int dim, boolean log) {
        int outer = product(shape, 0, dim);
        int size = shape[dim];
        int inner = product(shape, dim + 1, shape.length);
        double[] out = new double[x.length];
        for (int o = 0; o < outer; o++) {
            for (int i = 0; i < inner; i++) {
                double max = Double.NEGATIVE_INFINITY;
                for (int k = 0; k < size; k++) {
                    max = Math.max(max, x[(o * size + k) * inner + i]);
                }
                double sum = 0;
                for (int k = 0; k < size; k++) {
                    sum += Math.exp(x[(o * size + k) * inner + i] - max);
                }
                for (int k = 0; k < size; k++) {
                    double v = x[(o * size + k) * inner + i] - max;
                    out[(o * size + k) * inner + i] = log ? v - Math.log(sum) : Math.exp(v) / sum;
                }
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- layer_norm

    @Property(tries = 80)
    void layerNormMatchesReference(@ForAll("shapes") int[] shape, @ForAll @IntRange(min = 1, max = 4) int trailing,
                                   @ForAll boolean withWeight, @ForAll boolean withBias,
                                   @ForAll @IntRange(min = 0, max = 2) int layout, @ForAll long seed) {
        Random random = new Random(seed);
        int k = Math.min(trailing, shape.length);
        int[] normalized = Arrays.copyOfRange(shape, shape.length - k, shape.length);
        float eps = new float[] {1e-5f, 1e-3f, 0.1f}[random.nextInt(3)];
        Tensor x = arrange(random, shape, layout, 4f, 3f);
        Tensor w = withWeight ? arrange(random, normalized, layout, 2f, 0f) : null;
        Tensor b = withBias ? arrange(random, normalized, layout, 2f, 0f) : null;
        Tensor y = F.layerNorm(x, normalized, w, b, eps);
        assertArrayEquals(shape, y.shape());
        int n = product(normalized, 0, k);
        float[] xs = x.toFloatArray();
        float[] ws = w == null ? null : w.toFloatArray();
        float[] bs = b == null ? null : b.toFloatArray();
        double[] ref = new double[xs.length];
        for (int row = 0; row < xs.length / n; row++) {
            double mean = 0;
            for (int j = 0; j < n; j++) {
                mean += xs[row * n + j];
            }
            mean /= n;
            double var = 0;
            for (int j = 0; j < n; j++) {
                var += (xs[row * n + j] - mean) * (xs[row * n + j] - mean);
            }
            var /= n;
            for (int j = 0; j < n; j++) {
                double v = (xs[row * n + j] - mean) / Math.sqrt(var + eps);
                ref[row * n + j] = v * (ws == null ? 1 : ws[j]) + (bs == null ? 0 : bs[j]);
            }
        }
        assertClose(ref, y.toFloatArray(), 1e-6, "layer_norm");
    }

    // ---------------------------------------------------------------- batch_norm

    @Property(tries = 80)
    void batchNormMatchesReference(@ForAll("shapes") int[] anyShape, @ForAll boolean withWeight,
                                   @ForAll boolean withBias, @ForAll @IntRange(min = 0, max = 2) int layout,
                                   @ForAll long seed) {
        Random random = new Random(seed);
        int[] shape = anyShape.length >= 2 ? anyShape : new int[] {anyShape[0], 3};
        int c = shape[1];
        int inner = product(shape, 2, shape.length);
        Tensor x = arrange(random, shape, layout, 3f, 1f);
        Tensor mean = arrange(random, new int[] {c}, layout, 1f, 0f);
        Tensor var = arrange(random, new int[] {c}, layout, 1f, 0f).abs().add(0.05f);
        Tensor w = withWeight ? arrange(random, new int[] {c}, layout, 2f, 0f) : null;
        Tensor b = withBias ? arrange(random, new int[] {c}, layout, 2f, 0f) : null;
        float eps = 1e-5f;
        Tensor y = F.batchNorm(x, mean, var, w, b, eps);
        assertArrayEquals(shape, y.shape());
        float[] xs = x.toFloatArray();
        double[] ref = new double[xs.length];
        for (int i = 0; i < xs.length; i++) {
            int ch = i / inner % c;
            double v = (xs[i] - mean.getFloat(ch)) / Math.sqrt(var.getFloat(ch) + (double) eps);
            ref[i] = v * (w == null ? 1 : w.getFloat(ch)) + (b == null ? 0 : b.getFloat(ch));
        }
        assertClose(ref, y.toFloatArray(), 1e-6, "batch_norm");
    }

    // ---------------------------------------------------------------- embedding

    @Property(tries = 60)
    void embeddingMatchesReference(@ForAll @Size(max = 3) List<@IntRange(min = 1, max = 5) Integer> idShape,
                                   @ForAll @IntRange(min = 1, max = 11) int vocabulary,
                                   @ForAll @IntRange(min = 1, max = 7) int width, @ForAll boolean longIds,
                                   @ForAll @IntRange(min = 0, max = 2) int layout, @ForAll long seed) {
        Random random = new Random(seed);
        int[] shape = idShape.stream().mapToInt(Integer::intValue).toArray();
        int count = product(shape, 0, shape.length);
        long[] ids = new long[count];
        for (int i = 0; i < count; i++) {
            ids[i] = random.nextInt(vocabulary);
        }
        Tensor idTensor = longIds ? Tensor.ofLongs(ids, shape) : Tensor.ofLongs(ids, shape).to(DType.INT32);
        Tensor weight = arrange(random, new int[] {vocabulary, width}, layout, 1f, 0f);
        Tensor y = F.embedding(idTensor, weight);
        int[] expectedShape = Arrays.copyOf(shape, shape.length + 1);
        expectedShape[shape.length] = width;
        assertArrayEquals(expectedShape, y.shape());
        float[] got = y.toFloatArray();
        for (int i = 0; i < count; i++) {
            for (int j = 0; j < width; j++) {
                assertEquals(weight.getFloat((int) ids[i], j), got[i * width + j]);
            }
        }
        // One id moved out of range must be refused, naming the id.
        if (count > 0) {
            ids[random.nextInt(count)] = random.nextBoolean() ? vocabulary : -1;
            ShapeException e = assertThrows(ShapeException.class,
                    () -> F.embedding(Tensor.ofLongs(ids, shape), weight));
            assertTrue(e.getMessage().contains("V=" + vocabulary), e.getMessage());
        }
    }

    // ---------------------------------------------------------------- pooling

    @Property(tries = 100)
    void maxPoolMatchesReference(@ForAll("images") int[] shape, @ForAll("windows") int[] kh,
                                 @ForAll("windows") int[] kw, @ForAll @IntRange(min = 1, max = 2) int dh,
                                 @ForAll @IntRange(min = 1, max = 2) int dw, @ForAll boolean ceil,
                                 @ForAll @IntRange(min = 0, max = 2) int layout, @ForAll long seed) {
        Random random = new Random(seed);
        Tensor x = arrange(random, shape, layout, 5f, 0f);
        int h = shape[shape.length - 2];
        int w = shape[shape.length - 1];
        int oh = referencePooledSize(h, kh[0], kh[1], kh[2], dh, ceil);
        int ow = referencePooledSize(w, kw[0], kw[1], kw[2], dw, ceil);
        int[] kernel = {kh[0], kw[0]};
        int[] stride = {kh[1], kw[1]};
        int[] pad = {kh[2], kw[2]};
        int[] dilation = {dh, dw};
        if (oh < 1 || ow < 1) {
            assertThrows(ShapeException.class, () -> F.maxPool2d(x, kernel, stride, pad, dilation, ceil));
            return;
        }
        Tensor y = F.maxPool2d(x, kernel, stride, pad, dilation, ceil);
        assertArrayEquals(outShape(shape, oh, ow), y.shape());
        float[] xs = x.toFloatArray();
        float[] got = y.toFloatArray();
        int planes = xs.length / (h * w);
        for (int p = 0; p < planes; p++) {
            for (int i = 0; i < oh; i++) {
                for (int j = 0; j < ow; j++) {
                    float best = Float.NEGATIVE_INFINITY;
                    for (int a = 0; a < kernel[0]; a++) {
                        for (int b = 0; b < kernel[1]; b++) {
                            int r = i * stride[0] - pad[0] + a * dh;
                            int c = j * stride[1] - pad[1] + b * dw;
                            if (r >= 0 && r < h && c >= 0 && c < w) {
                                best = Math.max(best, xs[(p * h + r) * w + c]);
                            }
                        }
                    }
                    assertEquals(best, got[(p * oh + i) * ow + j], "max_pool2d at plane " + p + " (" + i + "," + j
                            + ")");
                }
            }
        }
    }

    @Property(tries = 100)
    void avgPoolMatchesReference(@ForAll("images") int[] shape, @ForAll("windows") int[] kh,
                                 @ForAll("windows") int[] kw, @ForAll boolean ceil, @ForAll boolean countIncludePad,
                                 @ForAll @IntRange(min = 0, max = 2) int layout, @ForAll long seed) {
        Random random = new Random(seed);
        Tensor x = arrange(random, shape, layout, 5f, 0f);
        int h = shape[shape.length - 2];
        int w = shape[shape.length - 1];
        int oh = referencePooledSize(h, kh[0], kh[1], kh[2], 1, ceil);
        int ow = referencePooledSize(w, kw[0], kw[1], kw[2], 1, ceil);
        int[] kernel = {kh[0], kw[0]};
        int[] stride = {kh[1], kw[1]};
        int[] pad = {kh[2], kw[2]};
        if (oh < 1 || ow < 1) {
            assertThrows(ShapeException.class, () -> F.avgPool2d(x, kernel, stride, pad, ceil, countIncludePad));
            return;
        }
        Tensor y = F.avgPool2d(x, kernel, stride, pad, ceil, countIncludePad);
        assertArrayEquals(outShape(shape, oh, ow), y.shape());
        float[] xs = x.toFloatArray();
        int planes = xs.length / (h * w);
        double[] ref = new double[planes * oh * ow];
        for (int p = 0; p < planes; p++) {
            for (int i = 0; i < oh; i++) {
                for (int j = 0; j < ow; j++) {
                    // Window positions inside the padded input count for countIncludePad; real ones for the sum.
                    double sum = 0;
                    int inPadded = 0;
                    int real = 0;
                    for (int a = 0; a < kernel[0]; a++) {
                        for (int b = 0; b < kernel[1]; b++) {
                            int r = i * stride[0] - pad[0] + a;
                            int c = j * stride[1] - pad[1] + b;
                            if (r < h + pad[0] && c < w + pad[1]) {
                                inPadded++;
                            }
                            if (r >= 0 && r < h && c >= 0 && c < w) {
                                sum += xs[(p * h + r) * w + c];
                                real++;
                            }
                        }
                    }
                    ref[(p * oh + i) * ow + j] = real == 0 ? 0 : sum / (countIncludePad ? inPadded : real);
                }
            }
        }
        assertClose(ref, y.toFloatArray(), 1e-6, "avg_pool2d");
    }

    /** The output length from PyTorch's documented formula, with ceil done in real numbers. */
    private static int referencePooledSize(int in, int k, int s, int pad, int d, boolean ceil) {
        double span = (in + 2.0 * pad - d * (k - 1.0) - 1) / s;
        int size = (int) (ceil ? Math.ceil(span) : Math.floor(span)) + 1;
        // ceil_mode: a last window that would start in the right padding (or beyond) is dropped.
        if (ceil && (size - 1) * s >= in + pad) {
            size--;
        }
        return size;
    }

    @Property(tries = 80)
    void adaptiveAvgPoolMatchesReference(@ForAll("images") int[] shape, @ForAll @IntRange(min = 1, max = 9) int oh,
                                         @ForAll @IntRange(min = 1, max = 9) int ow,
                                         @ForAll @IntRange(min = 0, max = 2) int layout, @ForAll long seed) {
        Random random = new Random(seed);
        Tensor x = arrange(random, shape, layout, 5f, 0f);
        int h = shape[shape.length - 2];
        int w = shape[shape.length - 1];
        Tensor y = F.adaptiveAvgPool2d(x, oh, ow);
        assertArrayEquals(outShape(shape, oh, ow), y.shape());
        float[] xs = x.toFloatArray();
        int planes = xs.length / (h * w);
        double[] ref = new double[planes * oh * ow];
        for (int p = 0; p < planes; p++) {
            for (int i = 0; i < oh; i++) {
                int r0 = (int) Math.floor((double) i * h / oh);
                int r1 = (int) Math.ceil((double) (i + 1) * h / oh);
                for (int j = 0; j < ow; j++) {
                    int c0 = (int) Math.floor((double) j * w / ow);
                    int c1 = (int) Math.ceil((double) (j + 1) * w / ow);
                    double sum = 0;
                    for (int r = r0; r < r1; r++) {
                        for (int c = c0; c < c1; c++) {
                            sum += xs[(p * h + r) * w + c];
                        }
                    }
                    ref[(p * oh + i) * ow + j] = sum / ((r1 - r0) * (c1 - c0));
                }
            }
        }
        assertClose(ref, y.toFloatArray(), 1e-6, "adaptive_avg_pool2d");
    }

    // ---------------------------------------------------------------- upsampling

    @Property(tries = 80)
    void upsampleNearestMatchesReference(@ForAll("batchedImages") int[] shape,
                                         @ForAll @IntRange(min = 1, max = 23) int oh,
                                         @ForAll @IntRange(min = 1, max = 23) int ow,
                                         @ForAll @IntRange(min = 0, max = 2) int layout, @ForAll long seed) {
        Random random = new Random(seed);
        Tensor x = arrange(random, shape, layout, 5f, 0f);
        int h = shape[2];
        int w = shape[3];
        Tensor y = F.upsampleNearest(x, new int[] {oh, ow});
        assertArrayEquals(outShape(shape, oh, ow), y.shape());
        float[] xs = x.toFloatArray();
        float[] got = y.toFloatArray();
        // PyTorch's legacy 'nearest' computes the scale in float32: floor(dst * (float) (in / out)).
        float scaleH = (float) h / oh;
        float scaleW = (float) w / ow;
        for (int p = 0; p < shape[0] * shape[1]; p++) {
            for (int i = 0; i < oh; i++) {
                int r = Math.min((int) Math.floor(i * scaleH), h - 1);
                for (int j = 0; j < ow; j++) {
                    int c = Math.min((int) Math.floor(j * scaleW), w - 1);
                    assertEquals(xs[(p * h + r) * w + c], got[(p * oh + i) * ow + j]);
                }
            }
        }
    }

    @Property(tries = 80)
    void upsampleBilinearMatchesReference(@ForAll("batchedImages") int[] shape,
                                          @ForAll @IntRange(min = 1, max = 23) int oh,
                                          @ForAll @IntRange(min = 1, max = 23) int ow, @ForAll boolean alignCorners,
                                          @ForAll @IntRange(min = 0, max = 2) int layout, @ForAll long seed) {
        Random random = new Random(seed);
        Tensor x = arrange(random, shape, layout, 5f, 0f);
        int h = shape[2];
        int w = shape[3];
        Tensor y = F.upsampleBilinear(x, new int[] {oh, ow}, alignCorners);
        assertArrayEquals(outShape(shape, oh, ow), y.shape());
        float[] xs = x.toFloatArray();
        double[] ref = new double[shape[0] * shape[1] * oh * ow];
        double maxAbs = 0;
        for (float v : xs) {
            maxAbs = Math.max(maxAbs, Math.abs(v));
        }
        for (int p = 0; p < shape[0] * shape[1]; p++) {
            for (int i = 0; i < oh; i++) {
                double sy = source(i, h, oh, alignCorners);
                int r0 = Math.min((int) Math.floor(sy), h - 1);
                int r1 = Math.min(r0 + 1, h - 1);
                double ly = Math.min(sy - r0, 1);
                for (int j = 0; j < ow; j++) {
                    double sx = source(j, w, ow, alignCorners);
                    int c0 = Math.min((int) Math.floor(sx), w - 1);
                    int c1 = Math.min(c0 + 1, w - 1);
                    double lx = Math.min(sx - c0, 1);
                    double top = (1 - lx) * xs[(p * h + r0) * w + c0] + lx * xs[(p * h + r0) * w + c1];
                    double bottom = (1 - lx) * xs[(p * h + r1) * w + c0] + lx * xs[(p * h + r1) * w + c1];
                    ref[(p * oh + i) * ow + j] = (1 - ly) * top + ly * bottom;
                }
            }
        }
        float[] got = y.toFloatArray();
        for (int i = 0; i < got.length; i++) {
            if (Math.abs(got[i] - ref[i]) > 1e-5 * (1 + maxAbs)) {
                fail("upsample_bilinear2d element " + i + ": expected " + ref[i] + ", got " + got[i]);
            }
        }
    }

    /** The continuous source coordinate of output index {@code dst}, clamped at 0. */
    private static double source(int dst, int in, int out, boolean alignCorners) {
        if (alignCorners) {
            return out > 1 ? dst * (in - 1.0) / (out - 1.0) : 0;
        }
        return Math.max(0, (dst + 0.5) * in / out - 0.5);
    }

    // ---------------------------------------------------------------- split and cat

    @Property(tries = 60)
    void splitIntoChunksThenCatIsTheIdentity(@ForAll("shapes") int[] shape,
                                             @ForAll @IntRange(min = 0, max = 3) int dimChoice,
                                             @ForAll @IntRange(min = 1, max = 8) int size,
                                             @ForAll @IntRange(min = 0, max = 2) int layout, @ForAll long seed) {
        Tensor x = arrange(new Random(seed), shape, layout, 1f, 0f);
        int dim = dimChoice % shape.length;
        Tensor[] pieces = F.split(x, size, dim);
        assertEquals((shape[dim] + size - 1) / size, pieces.length);
        assertArrayEquals(x.toFloatArray(), F.cat(pieces, dim).toFloatArray());
    }

    // ---------------------------------------------------------------- generators and helpers

    /** Shapes of rank 1 to 4 with sizes 1 to 7 (includes 1 and the primes 2, 3, 5, 7). */
    @Provide
    Arbitrary<int[]> shapes() {
        return sizes(1, 7, 1, 4);
    }

    /** [N,C,H,W] or [C,H,W] with H, W up to 11. */
    @Provide
    Arbitrary<int[]> images() {
        Arbitrary<int[]> chw = sizes(1, 11, 2, 2)
                .flatMap(hw -> Arbitraries.integers().between(1, 3).map(c -> new int[] {c, hw[0], hw[1]}));
        return Arbitraries.oneOf(chw, batchedImages());
    }

    @Provide
    Arbitrary<int[]> batchedImages() {
        return sizes(1, 11, 2, 2)
                .flatMap(hw -> sizes(1, 3, 2, 2).map(nc -> new int[] {nc[0], nc[1], hw[0], hw[1]}));
    }

    /** Arrays of {@code minLength..maxLength} sizes, each in {@code min..max}. */
    private static Arbitrary<int[]> sizes(int min, int max, int minLength, int maxLength) {
        return Arbitraries.integers().between(min, max).list().ofMinSize(minLength).ofMaxSize(maxLength)
                .map(list -> list.stream().mapToInt(Integer::intValue).toArray());
    }

    /** {kernel, stride, padding} with kernel 1..4, stride 1..3 and padding at most kernel/2 (PyTorch's limit). */
    @Provide
    Arbitrary<int[]> windows() {
        return Arbitraries.integers().between(1, 4).flatMap(k -> Arbitraries.integers().between(1, 3)
                .flatMap(s -> Arbitraries.integers().between(0, k / 2).map(p -> new int[] {k, s, p})));
    }

    /**
     * A tensor of the given logical shape with values {@code offset + spread * N(0,1)}, laid out as: 0 contiguous,
     * 1 a permuted view (the data stored with reversed dims), 2 a sliced view (every other row of a larger tensor,
     * starting at 1).
     */
    private static Tensor arrange(Random random, int[] shape, int layout, float spread, float offset) {
        int rank = shape.length;
        int[] stored = shape.clone();
        if (layout == 1) {
            for (int d = 0; d < rank; d++) {
                stored[d] = shape[rank - 1 - d];
            }
        } else if (layout == 2) {
            stored[0] = 2 * shape[0] + 1;
        }
        float[] data = new float[product(stored, 0, rank)];
        for (int i = 0; i < data.length; i++) {
            data[i] = offset + spread * (float) random.nextGaussian();
        }
        Tensor base = Tensor.of(data, stored);
        if (layout == 1) {
            int[] reverse = new int[rank];
            for (int d = 0; d < rank; d++) {
                reverse[d] = rank - 1 - d;
            }
            return base.permute(reverse);
        }
        if (layout == 2) {
            return base.slice(0, 1, stored[0], 2);
        }
        return base;
    }

    private static int[] outShape(int[] shape, int oh, int ow) {
        int[] out = shape.clone();
        out[out.length - 2] = oh;
        out[out.length - 1] = ow;
        return out;
    }

    private static int product(int[] shape, int from, int to) {
        int p = 1;
        for (int d = from; d < to; d++) {
            p *= shape[d];
        }
        return p;
    }

    /** |got - ref| <= relative * (1 + |ref|) elementwise. */
    private static void assertClose(double[] ref, float[] got, double relative, String op) {
        assertEquals(ref.length, got.length, op + ": element count");
        for (int i = 0; i < got.length; i++) {
            if (!(Math.abs(got[i] - ref[i]) <= relative * (1 + Math.abs(ref[i])))) {
                fail(op + " element " + i + ": expected " + ref[i] + ", got " + got[i]);
            }
        }
    }
}
