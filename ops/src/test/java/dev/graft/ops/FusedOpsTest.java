package dev.graft.ops;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fused {@code attention} operator has the bits of the five operators it replaces, run one by one
 * ({@code matmul -> div|mul -> add -> softmax -> matmul}), on the layouts BERT feeds it: Q, K and V as permuted
 * views of {@code [B, S, H*D]} projections, or contiguous; masks {@code [B, 1, 1, Sk]}, {@code [B, H, Sq, Sk]} or
 * none; awkward sizes (1, primes, head sizes that are not a multiple of the vector width) and BERT's {@code -FLT_MAX}
 * padding scores. Its result is laid out as {@code [B, Sq, H, Dv]}, so the permute back is contiguous.
 */
class FusedOpsTest {

    private static Tensor random(Random r, int... shape) {
        int n = 1;
        for (int s : shape) {
            n *= s;
        }
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (r.nextGaussian() * 2);
        }
        return Tensor.wrap(v, shape);
    }

    /** [B, S, H*D] -> [B, H, S, D] through unflatten and permute, as BERT's attention does (a strided view). */
    private static Tensor heads(Tensor projected, int heads) {
        return projected.unflatten(-1, heads, projected.size(2) / heads).permute(0, 2, 1, 3);
    }

    private static Tensor unfused(Tensor q, Tensor k, Tensor v, Tensor mask, float scale, boolean divide) {
        Tensor s = (Tensor) Dispatch.call(LinalgOps.MATMUL, q, k.transpose(-1, -2));
        if (!Float.isNaN(scale)) {
            s = (Tensor) Dispatch.call(divide ? MathOps.DIV : MathOps.MUL, s, scale);
        }
        if (mask != null) {
            s = (Tensor) Dispatch.call(MathOps.ADD, s, mask);
        }
        Tensor p = (Tensor) Dispatch.call(NNOps.SOFTMAX, s, -1);
        return (Tensor) Dispatch.call(LinalgOps.MATMUL, p, v);
    }

    private static Tensor fused(Tensor q, Tensor k, Tensor v, Tensor mask, float scale, boolean divide) {
        return (Tensor) Dispatch.call(FusedOps.ATTENTION, q, k, v, mask, scale, divide);
    }

    @Property(tries = 60)
    void hasTheBitsOfTheUnfusedOperators(@ForAll @IntRange(min = 1, max = 3) int batch,
                                         @ForAll @IntRange(min = 1, max = 5) int heads,
                                         @ForAll @IntRange(min = 1, max = 37) int sq,
                                         @ForAll @IntRange(min = 1, max = 37) int sk,
                                         @ForAll @IntRange(min = 1, max = 41) int d,
                                         @ForAll @IntRange(min = 0, max = 2) int maskKind,
                                         @ForAll @IntRange(min = 0, max = 2) int scaleKind,
                                         @ForAll boolean permuted, @ForAll long seed) {
        Random r = new Random(seed);
        int dv = r.nextBoolean() ? d : 1 + r.nextInt(19);
        Tensor q;
        Tensor k;
        Tensor v;
        if (permuted) {
            q = heads(random(r, batch, sq, heads * d), heads);
            k = heads(random(r, batch, sk, heads * d), heads);
            v = heads(random(r, batch, sk, heads * dv), heads);
        } else {
            q = random(r, batch, heads, sq, d);
            k = random(r, batch, heads, sk, d);
            v = random(r, batch, heads, sk, dv);
        }
        Tensor mask = switch (maskKind) {
            case 0 -> null;
            case 1 -> paddingMask(r, batch, sk);
            default -> random(r, batch, heads, sq, sk);
        };
        float scale = scaleKind == 0 ? Float.NaN : (float) Math.sqrt(d);
        boolean divide = scaleKind == 1;
        Tensor want = unfused(q, k, v, mask, scale, divide);
        Tensor got = fused(q, k, v, mask, scale, divide);
        assertArrayEquals(want.shape(), got.shape());
        assertArrayEquals(want.contiguous().toFloatArray(), got.contiguous().toFloatArray(), 0f,
                "fused attention == matmul, scale, mask, softmax, matmul");
        assertTrue(got.permute(0, 2, 1, 3).isContiguous(), "stored as [B, Sq, H, Dv]");
    }

    /** BERT's additive padding mask [B, 1, 1, Sk]: 0 for real keys, -FLT_MAX for padding (at least one real). */
    private static Tensor paddingMask(Random r, int batch, int sk) {
        float[] m = new float[batch * sk];
        for (int b = 0; b < batch; b++) {
            int real = 1 + r.nextInt(sk);
            for (int j = real; j < sk; j++) {
                m[b * sk + j] = -Float.MAX_VALUE;
            }
        }
        return Tensor.wrap(m, batch, 1, 1, sk);
    }

    @Test
    void bertSizesAtSeveralBatchesHaveTheSameBits() {
        Random r = new Random(7);
        for (int batch : new int[] {1, 4}) {
            for (int s : new int[] {1, 19, 128}) {
                Tensor q = heads(random(r, batch, s, 384), 12);
                Tensor k = heads(random(r, batch, s, 384), 12);
                Tensor v = heads(random(r, batch, s, 384), 12);
                Tensor mask = paddingMask(r, batch, s);
                assertArrayEquals(unfused(q, k, v, mask, 5.656854f, true).contiguous().toFloatArray(),
                        fused(q, k, v, mask, 5.656854f, true).contiguous().toFloatArray(), 0f, batch + "x" + s);
            }
        }
    }

    @Test
    void badShapesAreShapeErrorsNamingTheOperator() {
        Random r = new Random(1);
        Tensor q = random(r, 1, 2, 3, 4);
        ShapeException e = assertThrows(ShapeException.class,
                () -> fused(q, random(r, 1, 2, 3, 5), random(r, 1, 2, 3, 4), null, Float.NaN, false));
        assertTrue(e.getMessage().startsWith("attention:"), e.getMessage());
        assertThrows(ShapeException.class,
                () -> fused(q, random(r, 1, 2, 3, 4), random(r, 1, 2, 3, 4), random(r, 2, 1, 1, 3), Float.NaN, false));
        assertThrows(ShapeException.class,
                () -> fused(random(r, 2, 3, 4), random(r, 2, 3, 4), random(r, 2, 3, 4), null, Float.NaN, false));
    }

    @Test
    void isRegisteredForSavedGraphsAndHasNoGradient() {
        assertEquals(FusedOps.ATTENTION, OpRegistry.find("attention"));
        Random r = new Random(2);
        Object[] args = {random(r, 1, 1, 2, 2), random(r, 1, 1, 2, 2), random(r, 1, 1, 2, 2), null, Float.NaN, false};
        Tensor out = (Tensor) Dispatch.call(FusedOps.ATTENTION, args);
        assertFalse(Float.isNaN(out.getFloat(0, 0, 0, 0)));
        TensorException e = assertThrows(TensorException.class, () -> FusedOps.ATTENTION.backward(args, out,
                out, new boolean[] {true, true, true, false, false, false}));
        assertTrue(e.getMessage().startsWith("attention"), e.getMessage());
    }

    @Property(tries = 40)
    void linearGeluIsGeluOfLinear(@ForAll @IntRange(min = 1, max = 3) int batch,
                                  @ForAll @IntRange(min = 1, max = 70) int rows,
                                  @ForAll @IntRange(min = 1, max = 90) int in, @ForAll @IntRange(min = 1, max = 70) int out,
                                  @ForAll boolean withBias, @ForAll long seed) {
        Random r = new Random(seed);
        Tensor x = random(r, batch, rows, in);
        Tensor w = random(r, out, in);
        Tensor b = withBias ? random(r, out) : null;
        Tensor want = (Tensor) Dispatch.call(MathOps.GELU, Dispatch.call(LinalgOps.LINEAR, x, w, b));
        Tensor got = (Tensor) Dispatch.call(FusedOps.LINEAR_GELU, x, w, b);
        assertArrayEquals(want.shape(), got.shape());
        assertArrayEquals(want.toFloatArray(), got.toFloatArray(), 0f);
    }

    @Property(tries = 40)
    void addLayerNormIsLayerNormOfTheSum(@ForAll @IntRange(min = 1, max = 40) int rows,
                                         @ForAll @IntRange(min = 1, max = 131) int features,
                                         @ForAll boolean affine, @ForAll boolean permutedResidual, @ForAll long seed) {
        Random r = new Random(seed);
        Tensor a = random(r, 2, rows, features);
        Tensor b = permutedResidual ? random(r, rows, 2, features).permute(1, 0, 2) : random(r, 2, rows, features);
        Tensor w = affine ? random(r, features) : null;
        Tensor bias = affine ? random(r, features) : null;
        int[] normalized = {features};
        Tensor want = (Tensor) Dispatch.call(NNOps.LAYER_NORM, Dispatch.call(MathOps.ADD, a, b), normalized, w, bias,
                1e-12f);
        Tensor got = (Tensor) Dispatch.call(FusedOps.ADD_LAYER_NORM, a, b, normalized, w, bias, 1e-12f);
        assertArrayEquals(want.toFloatArray(), got.toFloatArray(), 0f);
    }

    @Property(tries = 40)
    void quantizedSoftmaxIsTheFloatStepsBetweenTwoInt8Products(@ForAll @IntRange(min = 1, max = 3) int batch,
                                                               @ForAll @IntRange(min = 1, max = 4) int heads,
                                                               @ForAll @IntRange(min = 1, max = 29) int sq,
                                                               @ForAll @IntRange(min = 1, max = 43) int sk,
                                                               @ForAll @IntRange(min = 0, max = 2) int maskKind,
                                                               @ForAll boolean divide, @ForAll long seed) {
        Random r = new Random(seed);
        byte[] q = new byte[batch * heads * sq * sk];
        r.nextBytes(q);
        float inScale = 0.01f + r.nextFloat();
        int inZero = r.nextInt(256);
        Tensor scores = Tensor.contiguous(Storage.ofBytes(DType.UINT8, q), new int[] {batch, heads, sq, sk},
                new QParams.PerTensor(inScale, inZero));
        Tensor mask = switch (maskKind) {
            case 0 -> null;
            case 1 -> paddingMask(r, batch, sk);
            default -> random(r, batch, heads, sq, sk);
        };
        float c = divide ? 5.656854f : 0.125f;
        Tensor x = (Tensor) Dispatch.call(QuantOps.DEQUANTIZE, scores);
        x = (Tensor) Dispatch.call(divide ? MathOps.DIV : MathOps.MUL, x, c);
        if (mask != null) {
            x = (Tensor) Dispatch.call(MathOps.ADD, x, mask);
        }
        x = (Tensor) Dispatch.call(NNOps.SOFTMAX, x, -1);
        Tensor want = (Tensor) Dispatch.call(QuantOps.QUANTIZE_PER_TENSOR, x, 1f / 255, 0, DType.UINT8);
        Tensor got = (Tensor) Dispatch.call(FusedOps.QUANTIZED_SOFTMAX, scores, c, divide, mask, 1f / 255, 0,
                DType.UINT8);
        assertArrayEquals(want.toByteArray(), got.toByteArray());
        assertEquals(want.qparams(), got.qparams());
    }

    @Property(tries = 40)
    void channelScaleQuantizeIsQuantizeOfTheScaledInput(@ForAll @IntRange(min = 1, max = 3) int batch,
                                                       @ForAll @IntRange(min = 1, max = 45) int rows,
                                                       @ForAll @IntRange(min = 1, max = 131) int k,
                                                       @ForAll boolean permuted, @ForAll long seed) {
        Random r = new Random(seed);
        Tensor x = permuted ? random(r, rows, batch, k).permute(1, 0, 2) : random(r, batch, rows, k);
        float[] f = new float[k];
        for (int j = 0; j < k; j++) {
            f[j] = 0.05f + 3 * r.nextFloat();
        }
        Tensor factors = Tensor.wrap(f, k);
        float scale = 0.01f + 0.1f * r.nextFloat();
        int zero = r.nextInt(256);
        Tensor want = (Tensor) Dispatch.call(QuantOps.QUANTIZE_PER_TENSOR, Dispatch.call(MathOps.MUL, x, factors),
                scale, zero, DType.UINT8);
        Tensor got = (Tensor) Dispatch.call(FusedOps.CHANNEL_SCALE_QUANTIZE, x, factors, scale, zero, DType.UINT8);
        assertArrayEquals(want.shape(), got.shape());
        assertArrayEquals(want.toByteArray(), got.toByteArray());
        assertEquals(want.qparams(), got.qparams());
    }
}
