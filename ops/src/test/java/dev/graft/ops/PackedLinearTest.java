package dev.graft.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.graft.kernels.Kernels;
import dev.graft.kernels.PackedFloatWeights;

import java.util.Random;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

import org.junit.jupiter.api.Test;

/**
 * FP32 linear on weights packed once per version of their values ({@link PackedLinear}): the same bits as the GEMM
 * that packs them per call, a cached pack reused while the weights are unchanged, and an in-place write (an
 * optimizer step, a state-dict load) seen by the very next call.
 */
class PackedLinearTest {

    /** The per-call path: the start-up GEMM on the [out][in] weight, then the bias added. */
    private static float[] reference(Tensor x, Tensor w, Tensor b) {
        int rows = x.shape[0];
        int in = w.shape[1];
        int out = w.shape[0];
        float[] y = new float[rows * out];
        Kernels.floatGemm().gemm(rows, out, in, x.toFloatArray(), 0, in, 1, w.toFloatArray(), 0, 1, in, y, 0, out,
                false);
        if (b != null) {
            float[] bias = b.toFloatArray();
            for (int r = 0; r < rows; r++) {
                for (int j = 0; j < out; j++) {
                    y[r * out + j] += bias[j];
                }
            }
        }
        return y;
    }

    @Property(tries = 60)
    void sameBitsAsPackingPerCall(@ForAll @IntRange(min = 1, max = 40) int rows,
                                  @ForAll @IntRange(min = 1, max = 300) int in,
                                  @ForAll @IntRange(min = 1, max = 80) int out, @ForAll boolean withBias) {
        Random r = new Random(31L * rows + 7L * in + out);
        Tensor x = Tensor.randn(r, rows, in);
        Tensor w = Tensor.randn(r, out, in);
        Tensor b = withBias ? Tensor.randn(r, out) : null;
        float[] expected = reference(x, w, b);
        for (int call = 0; call < 2; call++) { // the second call runs on the cached pack
            float[] y = F.linear(x, w, b).toFloatArray();
            assertEquals(expected.length, y.length);
            for (int i = 0; i < y.length; i++) {
                assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(y[i]), "element " + i);
            }
        }
    }

    @Test
    void packedOnceAndRepackedAfterAnInPlaceWrite() {
        Random r = new Random(5);
        Tensor x = Tensor.randn(r, 8, 16);
        Tensor w = Tensor.randn(r, 12, 16);
        PackedFloatWeights first = PackedLinear.of(w);
        assertSame(first, PackedLinear.of(w));
        Tensor before = F.linear(x, w, null);

        Tensor updated = Tensor.randn(r, 12, 16);
        InPlace.copy(w, updated);
        assertNotSame(first, PackedLinear.of(w));
        assertArrayEquals(F.linear(x, updated, null).toFloatArray(), F.linear(x, w, null).toFloatArray());
        assertArrayEquals(reference(x, updated, null), F.linear(x, w, null).toFloatArray());
        assertEquals(false, java.util.Arrays.equals(before.toFloatArray(), F.linear(x, w, null).toFloatArray()));
    }

    @Test
    void viewsOfTheWeightTakeTheGeneralPath() {
        Random r = new Random(9);
        Tensor x = Tensor.randn(r, 6, 10);
        Tensor wT = Tensor.randn(r, 10, 7).transpose(0, 1); // [7][10], not dense: packed per call as before
        assertArrayEquals(reference(x, wT, null), F.linear(x, wT, null).toFloatArray());
    }
}
