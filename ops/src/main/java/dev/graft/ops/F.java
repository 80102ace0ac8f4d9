package dev.graft.ops;

import java.util.Arrays;

/**
 * The functional facade, in the manner of {@code torch.nn.functional}: one static method per operator, each a call
 * through {@link Dispatch} so that tracing and autograd see it. Array arguments are copied before they are
 * recorded, so a caller may reuse its arrays.
 */
public final class F {
    private F() {
    }

    // ---------------------------------------------------------------- activations

    /** {@code max(x, 0)} elementwise (NaN stays NaN). */
    public static Tensor relu(Tensor x) {
        return Dispatch.apply(MathOps.RELU, x);
    }

    /** {@code x < 0 ? x * negativeSlope : x} elementwise. */
    public static Tensor leakyRelu(Tensor x, float negativeSlope) {
        return Dispatch.apply(MathOps.LEAKY_RELU, x, negativeSlope);
    }

    /** GELU, exact erf form {@code x/2 * (1 + erf(x / sqrt 2))}. */
    public static Tensor gelu(Tensor x) {
        return Dispatch.apply(MathOps.GELU, x);
    }

    /** GELU, tanh approximation (PyTorch's {@code approximate='tanh'}). */
    public static Tensor geluTanh(Tensor x) {
        return Dispatch.apply(MathOps.GELU_TANH, x);
    }

    /** {@code 1 / (1 + exp(-x))} elementwise. */
    public static Tensor sigmoid(Tensor x) {
        return Dispatch.apply(MathOps.SIGMOID, x);
    }

    /** Hyperbolic tangent elementwise. */
    public static Tensor tanh(Tensor x) {
        return Dispatch.apply(MathOps.TANH, x);
    }

    /** SiLU (swish): {@code x * sigmoid(x)} elementwise. */
    public static Tensor silu(Tensor x) {
        return Dispatch.apply(MathOps.SILU, x);
    }

    /** Softmax along {@code dim} (negative counts from the end), numerically stable. */
    public static Tensor softmax(Tensor x, int dim) {
        return Dispatch.apply(NNOps.SOFTMAX, x, dim);
    }

    /** Log of the softmax along {@code dim}, computed without forming the softmax. */
    public static Tensor logSoftmax(Tensor x, int dim) {
        return Dispatch.apply(NNOps.LOG_SOFTMAX, x, dim);
    }

    // ---------------------------------------------------------------- linear algebra

    /** {@code x @ weight^T + bias}: x [..., in], weight [out, in], bias [out] or null. */
    public static Tensor linear(Tensor x, Tensor weight, Tensor bias) {
        return Dispatch.apply(LinalgOps.LINEAR, x, weight, bias);
    }

    /** 2-d convolution of x [N,C,H,W] with weight [OC, C/groups, KH, KW]; each int[] holds 1 or 2 values. */
    public static Tensor conv2d(Tensor x, Tensor weight, Tensor bias, int[] stride, int[] padding, int[] dilation,
                                int groups) {
        return Dispatch.apply(LinalgOps.CONV2D, x, weight, bias, stride.clone(), padding.clone(), dilation.clone(),
                groups);
    }

    /** 2-d convolution with square stride and padding, no dilation, one group. */
    public static Tensor conv2d(Tensor x, Tensor weight, Tensor bias, int stride, int padding) {
        return conv2d(x, weight, bias, new int[] {stride}, new int[] {padding}, new int[] {1}, 1);
    }

    /** Matrix product with PyTorch's rules (1-d operands, broadcast batch dimensions). */
    public static Tensor matmul(Tensor a, Tensor b) {
        return Dispatch.apply(LinalgOps.MATMUL, a, b);
    }

    // ---------------------------------------------------------------- normalization and embedding

    /** Layer normalization over the trailing {@code normalizedShape} dims; weight and bias may be null. */
    public static Tensor layerNorm(Tensor x, int[] normalizedShape, Tensor weight, Tensor bias, float eps) {
        return Dispatch.apply(NNOps.LAYER_NORM, x, normalizedShape.clone(), weight, bias, eps);
    }

    /** Batch normalization, inference form, with running statistics over channel dim 1; weight/bias may be null. */
    public static Tensor batchNorm(Tensor x, Tensor runningMean, Tensor runningVar, Tensor weight, Tensor bias,
                                   float eps) {
        return Dispatch.apply(NNOps.BATCH_NORM, x, runningMean, runningVar, weight, bias, eps);
    }

    /** Batch normalization with the batch's own statistics (training mode); weight/bias may be null. */
    public static Tensor batchNormTraining(Tensor x, Tensor weight, Tensor bias, float eps) {
        return Dispatch.apply(TrainingOps.BATCH_NORM_TRAINING, x, weight, bias, eps);
    }

    /** Each channel's (dim 1) batch mean and biased variance as a [2, C] tensor. */
    public static Tensor batchStatistics(Tensor x) {
        return Dispatch.apply(TrainingOps.BATCH_STATISTICS, x);
    }

    // ---------------------------------------------------------------- losses

    /** Mean cross-entropy of logits [N, C] against int32/int64 class labels [N] (log_softmax + nll), 0-d. */
    public static Tensor crossEntropy(Tensor logits, Tensor labels) {
        return Dispatch.apply(TrainingOps.CROSS_ENTROPY, logits, labels);
    }

    /** Mean squared error between two tensors of the same shape, 0-d. */
    public static Tensor mseLoss(Tensor input, Tensor target) {
        return Dispatch.apply(TrainingOps.MSE_LOSS, input, target);
    }

    /** Rows of {@code weight} [V, D] picked by int32/int64 {@code ids}: shape {@code ids.shape + [D]}. */
    public static Tensor embedding(Tensor ids, Tensor weight) {
        return Dispatch.apply(NNOps.EMBEDDING, ids, weight);
    }

    // ---------------------------------------------------------------- pooling and upsampling

    /** 2-d max pooling of [N,C,H,W] or [C,H,W]; each int[] holds 1 or 2 values (an empty stride = kernel). */
    public static Tensor maxPool2d(Tensor x, int[] kernel, int[] stride, int[] padding, int[] dilation,
                                   boolean ceilMode) {
        return Dispatch.apply(NNPoolOps.MAX_POOL2D, x, kernel.clone(), stride.clone(), padding.clone(), dilation.clone(),
                ceilMode);
    }

    /** 2-d max pooling with a square kernel, stride and padding (no dilation, floor mode). */
    public static Tensor maxPool2d(Tensor x, int kernel, int stride, int padding) {
        return maxPool2d(x, new int[] {kernel}, new int[] {stride}, new int[] {padding}, new int[] {1}, false);
    }

    /** 2-d average pooling of [N,C,H,W] or [C,H,W]; each int[] holds 1 or 2 values (an empty stride = kernel). */
    public static Tensor avgPool2d(Tensor x, int[] kernel, int[] stride, int[] padding, boolean ceilMode,
                                   boolean countIncludePad) {
        return Dispatch.apply(NNPoolOps.AVG_POOL2D, x, kernel.clone(), stride.clone(), padding.clone(), ceilMode,
                countIncludePad);
    }

    /** 2-d average pooling with a square kernel, stride and padding (floor mode, padding counted in the divisor). */
    public static Tensor avgPool2d(Tensor x, int kernel, int stride, int padding) {
        return avgPool2d(x, new int[] {kernel}, new int[] {stride}, new int[] {padding}, false, true);
    }

    /** Adaptive average pooling of [N,C,H,W] or [C,H,W] to {@code outputSize} (1 or 2 values). */
    public static Tensor adaptiveAvgPool2d(Tensor x, int... outputSize) {
        return Dispatch.apply(NNPoolOps.ADAPTIVE_AVG_POOL2D, x, outputSize.clone());
    }

    /** Nearest-neighbour resize of [N,C,H,W] to {@code outSize} (PyTorch's legacy 'nearest'). */
    public static Tensor upsampleNearest(Tensor x, int[] outSize) {
        return Dispatch.apply(NNPoolOps.UPSAMPLE_NEAREST2D, x, outSize.clone());
    }

    /** Bilinear resize of [N,C,H,W] to {@code outSize}, with or without aligned corners. */
    public static Tensor upsampleBilinear(Tensor x, int[] outSize, boolean alignCorners) {
        return Dispatch.apply(NNPoolOps.UPSAMPLE_BILINEAR2D, x, outSize.clone(), alignCorners);
    }

    // ---------------------------------------------------------------- movement and selection

    /** Constant padding as {@code torch.nn.functional.pad}: (before, after) pairs from the last dim backwards. */
    public static Tensor pad(Tensor x, int[] pads, float value) {
        return Dispatch.apply(MovementOps.PAD, x, pads.clone(), value);
    }

    /** Concatenation along {@code dim}; shapes must agree elsewhere. */
    public static Tensor cat(Tensor[] xs, int dim) {
        return Dispatch.apply(MovementOps.CAT, xs.clone(), dim);
    }

    /** Consecutive pieces of the given sizes along {@code dim} (views; the sizes must add up to the dimension). */
    public static Tensor[] split(Tensor x, int[] sizes, int dim) {
        Object out = Dispatch.call(MovementOps.SPLIT, x, sizes.clone(), dim);
        if (out instanceof Tensor[] pieces) {
            return pieces;
        }
        throw new TensorException("split: expected a Tensor[] result, got "
                + (out == null ? "null" : out.getClass().getSimpleName()));
    }

    /** Pieces of {@code size} along {@code dim}, the last one smaller if the dimension does not divide evenly. */
    public static Tensor[] split(Tensor x, int size, int dim) {
        int length = x.size(dim);
        if (size <= 0) {
            throw new ShapeException("split: piece size must be positive, got " + size + " for shape "
                    + Arrays.toString(x.shapeRef()));
        }
        int count = Math.max(1, (length + size - 1) / size);
        int[] sizes = new int[count];
        for (int i = 0; i < count; i++) {
            sizes[i] = Math.min(size, length - i * size);
        }
        return split(x, sizes, dim);
    }

    /** Elementwise {@code condition ? a : b} with broadcasting; condition is bool. */
    public static Tensor where(Tensor condition, Tensor a, Tensor b) {
        return Dispatch.apply(MathOps.WHERE, condition, a, b);
    }
}
