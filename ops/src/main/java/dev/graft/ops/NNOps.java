package dev.graft.ops;

import dev.graft.kernels.Normalization;

import java.util.Arrays;

/**
 * Neural-network operators: softmax and log_softmax, layer_norm, batch_norm (inference form) and embedding. The NCHW
 * pooling and upsampling operators are in {@link NNPoolOps}.
 *
 * <p>Inputs and outputs are float32 (embedding ids are int32 or int64). Where PyTorch's CPU kernels sum in float32
 * (softmax's denominator, layer_norm's mean and variance) these sums accumulate in double,
 * and normalized elements are formed in double before their one rounding to float32: that costs little and keeps
 * results within an ulp or two of the exact value whatever the row or window length. Embedding copies values
 * exactly.
 */
public final class NNOps {
    private NNOps() {
    }

    /** {@code softmax(x, dim)}: {@code exp(x - max) / sum(exp(x - max))} along {@code dim} (stable for large x). */
    public static final Op SOFTMAX = new Op("softmax", Op.Kind.REDUCTION) {
        @Override
        protected Object compute(Object[] args) {
            return softmax(this, args, false);
        }

        @Override
        public Object[] backward(Object[] args, Object result, Tensor gradOutput, boolean[] needsGrad) {
            return new Object[] {Gradients.softmax((Tensor) args[0], intArg(args, 1), (Tensor) result, gradOutput, false), null};
        }
    };

    /** {@code log_softmax(x, dim)}: {@code x - max - log(sum(exp(x - max)))} along {@code dim}. */
    public static final Op LOG_SOFTMAX = new Op("log_softmax", Op.Kind.REDUCTION) {
        @Override
        protected Object compute(Object[] args) {
            return softmax(this, args, true);
        }

        @Override
        public Object[] backward(Object[] args, Object result, Tensor gradOutput, boolean[] needsGrad) {
            return new Object[] {Gradients.softmax((Tensor) args[0], intArg(args, 1), (Tensor) result, gradOutput, true), null};
        }
    };

    private static Tensor softmax(Op op, Object[] args, boolean log) {
        Tensor x = op.tensorArg(args, 0);
        int dimArg = op.intArg(args, 1);
        LinalgOps.requireFloat(op.name(), x);
        int rank = x.shape.length;
        // A 0-d tensor is one row of length 1, as in PyTorch (dim 0 or -1 allowed).
        int dim = Shapes.normalizeDim(op.name(), dimArg, Math.max(rank, 1));
        int size = rank == 0 ? 1 : x.shape[dim];
        int outer = rank == 0 ? 1 : product(x.shape, 0, dim);
        int inner = rank == 0 ? 1 : product(x.shape, dim + 1, rank);
        Tensor dense = dense(x);
        float[] in = dense.storage.floats;
        int base = dense.offset;
        Tensor out = Tensor.empty(DType.FLOAT32, x.shape);
        float[] o = out.storage.floats;
        if (!log && inner == 1) {
            // Softmax over the last dim (attention rows): the vectorized row kernel, float exps within a few ulps
            // and a float sum, well inside the documented few-ulp error of softmax's results.
            Normalization.softmaxRows(in, base, outer, size, o, 0);
            return out;
        }
        for (int outerIndex = 0; outerIndex < outer; outerIndex++) {
            for (int innerIndex = 0; innerIndex < inner; innerIndex++) {
                int start = outerIndex * size * inner + innerIndex;
                // NaN anywhere in the row makes the maximum NaN, and so the whole row NaN, as in PyTorch.
                float max = Float.NEGATIVE_INFINITY;
                for (int k = 0, at = start; k < size; k++, at += inner) {
                    float v = in[base + at];
                    if (v > max || Float.isNaN(v)) {
                        max = v;
                        if (Float.isNaN(v)) {
                            break;
                        }
                    }
                }
                // The exponentials are kept in the output (one exp per element) and summed in double.
                double sum = 0;
                for (int k = 0, at = start; k < size; k++, at += inner) {
                    float e = (float) Math.exp((double) in[base + at] - max);
                    o[at] = e;
                    sum += e;
                }
                if (log) {
                    double logSum = Math.log(sum);
                    for (int k = 0, at = start; k < size; k++, at += inner) {
                        o[at] = (float) ((double) in[base + at] - max - logSum);
                    }
                } else {
                    for (int k = 0, at = start; k < size; k++, at += inner) {
                        o[at] = (float) (o[at] / sum);
                    }
                }
            }
        }
        return out;
    }

    /**
     * {@code layer_norm(x, int[] normalizedShape, weight|null, bias|null, eps)}: each slice over the trailing
     * {@code normalizedShape} dims becomes {@code (x - mean) / sqrt(var + eps) * weight + bias} with the biased
     * variance, as {@code torch.nn.functional.layer_norm}. Weight and bias have shape {@code normalizedShape}.
     */
    public static final Op LAYER_NORM = new Op("layer_norm", Op.Kind.NN) {
        @Override
        protected Object compute(Object[] args) {
            Tensor x = tensorArg(args, 0);
            int[] normalized = intsArg(args, 1);
            Tensor weight = optionalTensorArg(args, 2);
            Tensor bias = optionalTensorArg(args, 3);
            float eps = floatArg(args, 4);
            LinalgOps.requireFloat(name(), x);
            int rank = x.shape.length;
            int k = normalized.length;
            if (k == 0 || k > rank
                    || !Arrays.equals(normalized, Arrays.copyOfRange(x.shape, rank - k, rank))) {
                throw new ShapeException("layer_norm: normalized_shape " + Arrays.toString(normalized)
                        + " must be non-empty and equal the trailing dimensions of the input's shape "
                        + Arrays.toString(x.shape));
            }
            checkParameter(name(), "weight", weight, normalized);
            checkParameter(name(), "bias", bias, normalized);
            if (!(eps >= 0f)) {
                throw new TensorException("layer_norm: eps must be >= 0, got " + eps);
            }
            int n = product(normalized, 0, k);
            int rows = product(x.shape, 0, rank - k);
            float[] w = weight == null ? null : weight.toFloatArrayUnchecked();
            float[] b = bias == null ? null : bias.toFloatArrayUnchecked();
            Tensor dense = dense(x);
            float[] in = dense.storage.floats;
            Tensor out = Tensor.empty(DType.FLOAT32, x.shape);
            float[] o = out.storage.floats;
            // Mean, variance and the normalized values in double, rounded once (vectorized over double lanes).
            Normalization.layerNormRows(in, dense.offset, rows, n, w, b, eps, o, 0);
            return out;
        }

        @Override
        public Object[] backward(Object[] args, Object result, Tensor gradOutput, boolean[] needsGrad) {
            return Gradients.layerNorm((Tensor) args[0], intsArg(args, 1), optionalTensorArg(args, 2), optionalTensorArg(args, 3),
                    floatArg(args, 4), gradOutput, needsGrad);
        }
    };

    /**
     * {@code batch_norm(x, runningMean, runningVar, weight|null, bias|null, eps)}, inference form: channel dim 1 of a
     * 2-d [N,C], 3-d [N,C,L] or 4-d [N,C,H,W] input becomes {@code (x - mean) / sqrt(var + eps) * weight + bias}.
     * Per-channel parameters are [C]. Each element is computed in double and rounded once (PyTorch folds the
     * parameters into one float scale and shift per channel; the difference is within an ulp or two).
     */
    public static final Op BATCH_NORM = new Op("batch_norm", Op.Kind.NN) {
        @Override
        protected Object compute(Object[] args) {
            Tensor x = tensorArg(args, 0);
            Tensor mean = tensorArg(args, 1);
            Tensor var = tensorArg(args, 2);
            Tensor weight = optionalTensorArg(args, 3);
            Tensor bias = optionalTensorArg(args, 4);
            float eps = floatArg(args, 5);
            LinalgOps.requireFloat(name(), x);
            if (x.shape.length < 2 || x.shape.length > 4) {
                throw new ShapeException("batch_norm: needs a 2-d [N,C], 3-d [N,C,L] or 4-d [N,C,H,W] input, got shape "
                        + Arrays.toString(x.shape));
            }
            int channels = x.shape[1];
            int[] perChannel = {channels};
            checkParameter(name(), "running_mean", mean, perChannel);
            checkParameter(name(), "running_var", var, perChannel);
            checkParameter(name(), "weight", weight, perChannel);
            checkParameter(name(), "bias", bias, perChannel);
            if (!(eps >= 0f)) {
                throw new TensorException("batch_norm: eps must be >= 0, got " + eps);
            }
            float[] m = mean.toFloatArrayUnchecked();
            float[] v = var.toFloatArrayUnchecked();
            float[] w = weight == null ? null : weight.toFloatArrayUnchecked();
            float[] b = bias == null ? null : bias.toFloatArrayUnchecked();
            double[] scale = new double[channels];
            double[] shift = new double[channels];
            for (int c = 0; c < channels; c++) {
                scale[c] = (w == null ? 1.0 : w[c]) / Math.sqrt((double) v[c] + eps);
                shift[c] = b == null ? 0.0 : b[c];
            }
            int inner = product(x.shape, 2, x.shape.length);
            Tensor out = Tensor.empty(DType.FLOAT32, x.shape);
            float[] o = out.storage.floats;
            float[] in = x.storage.floats;
            StridedCursor cursor = StridedCursor.over(x);
            for (int i = 0; i < o.length; i++, cursor.next()) {
                int c = (i / inner) % channels;
                o[i] = (float) ((in[cursor.offset] - (double) m[c]) * scale[c] + shift[c]);
            }
            return out;
        }

        @Override
        public Object[] backward(Object[] args, Object result, Tensor gradOutput, boolean[] needsGrad) {
            return Gradients.batchNorm((Tensor) args[0], (Tensor) args[1], (Tensor) args[2], optionalTensorArg(args, 3),
                    optionalTensorArg(args, 4), floatArg(args, 5), gradOutput, needsGrad);
        }
    };

    /**
     * {@code embedding(ids, weight)}: row {@code ids[i]} of {@code weight} [V, D] for every id; ids are int32 or
     * int64 of any shape and the result has shape {@code ids.shape + [D]}. Ids outside [0, V) are refused.
     */
    public static final Op EMBEDDING = new Op("embedding", Op.Kind.NN) {
        @Override
        protected Object compute(Object[] args) {
            Tensor ids = tensorArg(args, 0);
            Tensor weight = tensorArg(args, 1);
            MathOps.refuseQuantized(name(), ids);
            if (ids.dtype != DType.INT32 && ids.dtype != DType.INT64) {
                throw new DTypeException("embedding: ids must be int32 or int64, got " + ids.dtype + " of shape "
                        + Arrays.toString(ids.shape));
            }
            LinalgOps.requireFloat(name(), weight);
            if (weight.shape.length != 2) {
                throw new ShapeException("embedding: weight must be 2-d [V, D], got shape "
                        + Arrays.toString(weight.shape));
            }
            int vocabulary = weight.shape[0];
            int width = weight.shape[1];
            int count = ids.numelRef();
            int[] outShape = Arrays.copyOf(ids.shape, ids.shape.length + 1);
            outShape[ids.shape.length] = width;
            Tensor out = Tensor.empty(DType.FLOAT32, outShape);
            float[] o = out.storage.floats;
            float[] w = weight.storage.floats;
            int rowStride = weight.strides[0];
            int colStride = weight.strides[1];
            StridedCursor cursor = StridedCursor.over(ids);
            for (int i = 0; i < count; i++, cursor.next()) {
                long id = ids.storage.getLong(cursor.offset);
                if (id < 0 || id >= vocabulary) {
                    throw new ShapeException("embedding: id " + id + " at index "
                            + Arrays.toString(unravel(i, ids.shape)) + " of ids " + Arrays.toString(ids.shape)
                            + " is out of range for a vocabulary of V=" + vocabulary + " rows (weight "
                            + Arrays.toString(weight.shape) + ")");
                }
                int row = weight.offset + (int) id * rowStride;
                if (colStride == 1) {
                    System.arraycopy(w, row, o, i * width, width);
                } else {
                    for (int j = 0; j < width; j++) {
                        o[i * width + j] = w[row + j * colStride];
                    }
                }
            }
            return out;
        }

        @Override
        public Object[] backward(Object[] args, Object result, Tensor gradOutput, boolean[] needsGrad) {
            return new Object[] {null, needsGrad[1] ? Gradients.embedding((Tensor) args[0], (Tensor) args[1], gradOutput) : null};
        }
    };

    // ---------------------------------------------------------------- helpers

    /** {@code x} itself when its elements are row-major from its offset, else a row-major copy. */
    static Tensor dense(Tensor x) {
        return x.isContiguous() ? x : MovementOps.copyContiguous(x);
    }

    /** Product of {@code shape[from..to)}. */
    static int product(int[] shape, int from, int to) {
        int p = 1;
        for (int d = from; d < to; d++) {
            p *= shape[d];
        }
        return p;
    }

    /** An optional float32 parameter tensor must be absent or have exactly shape {@code expected}. */
    static void checkParameter(String op, String what, Tensor p, int[] expected) {
        if (p == null) {
            return;
        }
        LinalgOps.requireFloat(op + " " + what, p);
        if (!Arrays.equals(p.shape, expected)) {
            throw new ShapeException(op + ": " + what + " has shape " + Arrays.toString(p.shape) + ", expected "
                    + Arrays.toString(expected));
        }
    }

    /** The multi-index of row-major position {@code flat} in {@code shape}. */
    static int[] unravel(int flat, int[] shape) {
        int[] index = new int[shape.length];
        for (int d = shape.length - 1; d >= 0; d--) {
            index[d] = flat % shape[d];
            flat /= shape[d];
        }
        return index;
    }
}
