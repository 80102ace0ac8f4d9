package dev.graft.engine.train;

import dev.graft.ops.DType;
import dev.graft.ops.Tensor;

import java.util.Arrays;

/**
 * Examples in memory: float inputs [N, ...] and int64 class labels [N]. Batches are gathered by index (copies), so
 * a shuffled epoch is a permutation of indices.
 */
public final class Dataset {
    private final float[] inputs;
    private final long[] labels;
    private final int[] exampleShape;
    private final int exampleSize;

    public Dataset(Tensor inputs, Tensor labels) {
        if (inputs.dim() < 1 || labels.dim() != 1 || inputs.size(0) != labels.size(0)) {
            throw new IllegalArgumentException("Dataset: needs inputs [N, ...] and labels [N], got "
                    + Arrays.toString(inputs.shape()) + " and " + Arrays.toString(labels.shape()));
        }
        this.inputs = inputs.dtype() == DType.FLOAT32 ? inputs.toFloatArray() : inputs.to(DType.FLOAT32).toFloatArray();
        this.labels = labels.toLongArray();
        this.exampleShape = Arrays.copyOfRange(inputs.shape(), 1, inputs.dim());
        this.exampleSize = Math.max(1, this.inputs.length / Math.max(1, this.labels.length));
    }

    public int size() {
        return labels.length;
    }

    /** The first {@code n} examples (or all when fewer). */
    public Dataset head(int n) {
        int k = Math.min(n, size());
        int[] idx = new int[k];
        Arrays.setAll(idx, i -> i);
        return new Dataset(inputs(idx), labels(idx));
    }

    /** Inputs of the given examples, stacked: [indices.length, ...]. */
    public Tensor inputs(int[] indices) {
        float[] out = new float[indices.length * exampleSize];
        for (int i = 0; i < indices.length; i++) {
            System.arraycopy(inputs, indices[i] * exampleSize, out, i * exampleSize, exampleSize);
        }
        int[] shape = new int[exampleShape.length + 1];
        shape[0] = indices.length;
        System.arraycopy(exampleShape, 0, shape, 1, exampleShape.length);
        return Tensor.wrap(out, shape);
    }

    /** Labels of the given examples as int64 [indices.length]. */
    public Tensor labels(int[] indices) {
        long[] out = new long[indices.length];
        for (int i = 0; i < indices.length; i++) {
            out[i] = labels[indices[i]];
        }
        return Tensor.ofLongs(out, indices.length);
    }
}
