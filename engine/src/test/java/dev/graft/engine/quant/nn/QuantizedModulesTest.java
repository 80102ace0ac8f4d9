package dev.graft.engine.quant.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.engine.nn.Embedding;
import dev.graft.engine.nn.LayerNorm;
import dev.graft.ops.DType;
import dev.graft.ops.DTypeException;
import dev.graft.ops.F;
import dev.graft.ops.QParams;
import dev.graft.ops.QuantOps;
import dev.graft.ops.Tensor;

import java.util.Random;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/** LayerNorm, Embedding, GELU (lookup table) and Softmax on quantized tensors against their stated formulas. */
class QuantizedModulesTest {

    @Property(tries = 30)
    void layerNormIsTheFloatLayerNormOfTheDequantizedInputQuantized(@ForAll long seed,
                                                                    @ForAll @IntRange(min = 1, max = 5) int rows,
                                                                    @ForAll @IntRange(min = 1, max = 70) int features) {
        Random rnd = new Random(seed);
        LayerNorm norm = new LayerNorm(features);
        norm.loadStateDict(java.util.Map.of("weight", Tensor.rand(rnd, 0.5f, 1.5f, features),
                "bias", Tensor.rand(rnd, -0.5f, 0.5f, features)));
        Tensor x = GoldenFormula.quint8(GoldenFormula.randomU8(rnd, rows * features), new int[] {rows, features},
                0.05f, rnd.nextInt(256));
        float so = 0.03f;
        int zo = 128;
        Tensor y = QuantizedLayerNorm.fromFloat(norm, so, zo).call(x);
        float[] ref = F.layerNorm(x.dequantize(), new int[] {features}, norm.weight(), norm.bias(), norm.eps())
                .toFloatArray();
        int[] got = GoldenFormula.unsigned(y);
        for (int i = 0; i < ref.length; i++) {
            assertEquals(QuantOps.quantize(ref[i], so, zo, 0, 255), got[i], "element " + i);
        }
        assertEquals(new QParams.PerTensor(so, zo), y.qparams());
    }

    @Property(tries = 30)
    void embeddingDequantizesTheSelectedRows(@ForAll long seed, @ForAll @IntRange(min = 1, max = 40) int count,
                                             @ForAll @IntRange(min = 1, max = 33) int dim) {
        Random rnd = new Random(seed);
        Embedding emb = new Embedding(count, dim, rnd);
        float[] w = emb.weight().toFloatArray();
        float[] scales = GoldenFormula.symmetricScales(w, count, dim);
        QuantizedEmbedding q = QuantizedEmbedding.fromFloat(emb, scales, null);
        long[] ids = new long[6];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = rnd.nextInt(count);
        }
        Tensor y = q.call(Tensor.ofLongs(ids, 2, 3));
        assertArrayEquals(new int[] {2, 3, dim}, y.shape());
        assertEquals(DType.FLOAT32, y.dtype());
        float[] got = y.toFloatArray();
        for (int i = 0; i < ids.length; i++) {
            int r = (int) ids[i];
            for (int c = 0; c < dim; c++) {
                int wq = GoldenFormula.quantizeWeight(w[r * dim + c], scales[r], 0);
                assertEquals(Float.floatToIntBits(scales[r] * (float) wq), Float.floatToIntBits(got[i * dim + c]));
                assertEquals(w[r * dim + c], got[i * dim + c], scales[r] / 2 + 1e-6f);
            }
        }
        assertThrows(IndexOutOfBoundsException.class, () -> q.call(Tensor.ofLongs(new long[] {count}, 1)));
        assertTrue(q.toString().contains("output=float32"), q.toString());
    }

    @Property(tries = 30)
    void geluTableEqualsTheFp32Boundary(@ForAll long seed, @ForAll boolean tanh,
                                        @ForAll @IntRange(min = 1, max = 300) int size) {
        Random rnd = new Random(seed);
        float sx = 0.005f + rnd.nextFloat() * 0.1f;
        Tensor x = GoldenFormula.quint8(GoldenFormula.randomU8(rnd, size), new int[] {size}, sx, rnd.nextInt(256));
        QuantizedGELU gelu = new QuantizedGELU(tanh, 0.02f, 10);
        Tensor lut = gelu.call(x);
        assertArrayEquals(gelu.fp32Boundary(x).toByteArray(), lut.toByteArray());
        // and both are the golden formula element by element
        float[] real = x.dequantize().toFloatArray();
        int[] got = GoldenFormula.unsigned(lut);
        for (int i = 0; i < size; i++) {
            float g = (tanh ? F.geluTanh(Tensor.of(new float[] {real[i]}, 1)) : F.gelu(Tensor.of(new float[] {real[i]}, 1)))
                    .toFloatArray()[0];
            assertEquals(QuantOps.quantize(g, 0.02f, 10, 0, 255), got[i], "element " + i);
        }
    }

    @Property(tries = 30)
    void softmaxModesMatchTheirFormulas(@ForAll long seed, @ForAll @IntRange(min = 1, max = 40) int len,
                                        @ForAll @IntRange(min = 0, max = 2) int dim) {
        Random rnd = new Random(seed);
        int[] shape = {3, 4, 5};
        shape[dim] = len;
        int n = shape[0] * shape[1] * shape[2];
        float sx = 0.01f + rnd.nextFloat() * 0.2f;
        Tensor x = GoldenFormula.quint8(GoldenFormula.randomU8(rnd, n), shape, sx, rnd.nextInt(256));
        Tensor fp32 = new QuantizedSoftmax(dim).call(x);
        Tensor expected = F.softmax(x.dequantize(), dim).quantize(1f / 256, 0, DType.UINT8);
        assertArrayEquals(expected.toByteArray(), fp32.toByteArray());
        Tensor table = new QuantizedSoftmax(dim, 1f / 256, 0, QuantizedSoftmax.Mode.EXP_TABLE).call(x);
        // the table variant differs from the FP32 path by at most one step (a different rounding of the exponent)
        int[] a = GoldenFormula.unsigned(fp32);
        int[] b = GoldenFormula.unsigned(table);
        for (int i = 0; i < n; i++) {
            assertTrue(Math.abs(a[i] - b[i]) <= 1, "element " + i + ": " + a[i] + " vs " + b[i]);
        }
    }

    @Test
    void refuseFloatInputsAndDescribeThemselves() {
        Tensor f = Tensor.zeros(2, 4);
        assertThrows(DTypeException.class, () -> new QuantizedGELU(false, 0.1f, 0).call(f));
        assertThrows(DTypeException.class, () -> new QuantizedSoftmax(-1).call(f));
        assertThrows(DTypeException.class, () -> QuantizedLayerNorm.fromFloat(new LayerNorm(4), 0.1f, 0).call(f));
        assertTrue(new QuantizedGELU(false, 0.1f, 3).toString().contains("lut=256"));
        assertTrue(new QuantizedSoftmax(-1).toString().contains("zero_point=0"));
    }
}
