package dev.graft.engine.quant.nn;

import dev.graft.engine.LeafModule;
import dev.graft.engine.Module;
import dev.graft.engine.nn.Embedding;
import dev.graft.ops.DType;
import dev.graft.ops.DTypeException;
import dev.graft.ops.QuantOps;
import dev.graft.ops.Tensor;

import java.util.Arrays;

/**
 * Quantized embedding: qint8 weight {@code [num, dim]} with one scale and zero point per row (per channel along
 * axis 0), a quarter of the float table's size. Like PyTorch's {@code nn.quantized.Embedding} the output is
 * float32: the selected rows dequantized, {@code out = scale[row] * (q - zp[row])} with {@code QuantOps}'s float
 * arithmetic, so it equals {@code embedding(ids, dequantize(weight))} bit for bit. (PyTorch stores quint8 rows with
 * float qparams; qint8 keeps the weights symmetric like every other Graft weight. A following quantized block
 * quantizes the float rows with its own input qparams.)
 */
public final class QuantizedEmbedding extends Module implements LeafModule {

    private final Tensor weight;
    private final byte[] rows;
    private final float[] scales;
    private final int[] zeroPoints;
    private final int count;
    private final int dim;

    /** {@code weight}: qint8 {@code [num, dim]}, per channel along axis 0 (or per tensor). */
    public QuantizedEmbedding(Tensor weight) {
        QuantizedWeights.requireInt8Weight("QuantizedEmbedding", weight);
        if (weight.dim() != 2) {
            throw new IllegalArgumentException("QuantizedEmbedding: weight must be [num, dim], got "
                    + Arrays.toString(weight.shape()));
        }
        this.weight = weight.concrete();
        this.count = weight.size(0);
        this.dim = weight.size(1);
        this.rows = this.weight.toByteArray();
        float[] s = QuantizedWeights.scales(weight);
        int[] z = QuantizedWeights.zeroPoints(weight);
        this.scales = s.length == count ? s : filled(s[0], count);
        this.zeroPoints = z.length == count ? z : filledInt(z[0], count);
    }

    /** Quantizes {@code embedding}'s table with one scale (and zero point; null: 0) per row, or one for all. */
    public static QuantizedEmbedding fromFloat(Embedding embedding, float[] rowScales, int[] rowZeroPoints) {
        return new QuantizedEmbedding(QuantizedWeights.quantize("QuantizedEmbedding", embedding.weight(), rowScales,
                rowZeroPoints));
    }

    @Override
    protected Tensor forward(Tensor... inputs) {
        Tensor ids = single(inputs);
        if (ids.dtype() != DType.INT64 && ids.dtype() != DType.INT32) {
            throw new DTypeException("QuantizedEmbedding: ids must be int64 or int32, got " + ids.dtype());
        }
        long[] index = ids.toLongArray();
        float[] out = new float[Math.multiplyExact(index.length, dim)];
        for (int i = 0; i < index.length; i++) {
            long r = index[i];
            if (r < 0 || r >= count) {
                throw new IndexOutOfBoundsException("QuantizedEmbedding: id " + r + " at position " + i
                        + " is outside [0, " + count + ")");
            }
            int row = (int) r;
            float s = scales[row];
            int z = zeroPoints[row];
            int src = row * dim;
            int dst = i * dim;
            for (int c = 0; c < dim; c++) {
                out[dst + c] = QuantOps.dequantize(rows[src + c], s, z);
            }
        }
        int[] shape = Arrays.copyOf(ids.shape(), ids.dim() + 1);
        shape[ids.dim()] = dim;
        return Tensor.wrap(out, shape);
    }

    private static float[] filled(float v, int n) {
        float[] a = new float[n];
        Arrays.fill(a, v);
        return a;
    }

    private static int[] filledInt(int v, int n) {
        int[] a = new int[n];
        Arrays.fill(a, v);
        return a;
    }

    /** The qint8 weight {@code [num, dim]} with its per-row qparams. */
    public Tensor weight() {
        return weight;
    }

    public int numEmbeddings() {
        return count;
    }

    public int embeddingDim() {
        return dim;
    }

    @Override
    protected String extraRepr() {
        return "num=" + count + ", dim=" + dim + ", dtype=qint8, " + QuantizedWeights.describeWeight(weight)
                + ", output=float32";
    }
}
