package dev.graft.ops;

import dev.graft.kernels.Parallel;

import java.util.Arrays;

/**
 * Operators that exist for training, each with its backward rule: batch normalization with the batch's own
 * statistics (fused, so its gradient is one pass instead of a chain of broadcast ops), the batch statistics for the
 * running averages, and the losses (cross-entropy with logits, mean squared error). Sums are in double.
 */
public final class TrainingOps {
    private TrainingOps() {
    }

    /**
     * {@code batch_norm_training(x, weight|null, bias|null, eps)}: normalizes channel dim 1 of [N,C], [N,C,L] or
     * [N,C,H,W] with the batch's mean and biased variance (PyTorch's training-mode forward).
     */
    public static final Op BATCH_NORM_TRAINING = new Op("batch_norm_training", Op.Kind.NN) {
        @Override
        protected Object compute(Object[] args) {
            Layout l = Layout.of(name(), tensorArg(args, 0));
            Tensor weight = optionalTensorArg(args, 1);
            Tensor bias = optionalTensorArg(args, 2);
            float eps = floatArg(args, 3);
            float[] w = weight == null ? null : Gradients.dense(weight);
            float[] b = bias == null ? null : Gradients.dense(bias);
            float[] xs = Gradients.dense(l.x);
            float[] out = new float[xs.length];
            l.forEachChannel(xs, (c, stats) -> {
                double scale = (w == null ? 1.0 : w[c]) / Math.sqrt(stats[1] + eps);
                float fscale = (float) scale;
                float shift = (float) ((b == null ? 0.0 : b[c]) - stats[0] * scale);
                for (int img = 0; img < l.n; img++) {
                    int base = (img * l.channels + c) * l.inner;
                    for (int i = 0; i < l.inner; i++) {
                        out[base + i] = xs[base + i] * fscale + shift;
                    }
                }
            });
            return Gradients.fresh(out, l.x.shape.clone());
        }

        @Override
        public Object[] backward(Object[] args, Object result, Tensor gradOutput, boolean[] needsGrad) {
            Layout l = Layout.of(name(), tensorArg(args, 0));
            Tensor weight = optionalTensorArg(args, 1);
            Tensor bias = optionalTensorArg(args, 2);
            float eps = floatArg(args, 3);
            float[] w = weight == null ? null : Gradients.dense(weight);
            float[] xs = Gradients.dense(l.x);
            float[] g = Gradients.dense(gradOutput);
            float[] gx = new float[xs.length];
            float[] gw = new float[l.channels];
            float[] gb = new float[l.channels];
            double m = (double) l.n * l.inner;
            l.forEachChannel(xs, (c, stats) -> {
                double mean = stats[0];
                double rstd = 1.0 / Math.sqrt(stats[1] + eps);
                // sum(g) and sum(g * (x - mean)), two accumulators each so the adds pipeline
                double sumG0 = 0;
                double sumG1 = 0;
                double sumGd0 = 0;
                double sumGd1 = 0;
                for (int img = 0; img < l.n; img++) {
                    int base = (img * l.channels + c) * l.inner;
                    int i = 0;
                    for (; i + 1 < l.inner; i += 2) {
                        sumG0 += g[base + i];
                        sumG1 += g[base + i + 1];
                        sumGd0 += g[base + i] * (xs[base + i] - mean);
                        sumGd1 += g[base + i + 1] * (xs[base + i + 1] - mean);
                    }
                    for (; i < l.inner; i++) {
                        sumG0 += g[base + i];
                        sumGd0 += g[base + i] * (xs[base + i] - mean);
                    }
                }
                double sumG = sumG0 + sumG1;
                double sumGh = (sumGd0 + sumGd1) * rstd;
                gw[c] = (float) sumGh;
                gb[c] = (float) sumG;
                // dx = w * rstd * (g - mean(g) - xhat * mean(g * xhat))
                double k = (w == null ? 1.0 : w[c]) * rstd;
                double meanG = sumG / m;
                double meanGh = sumGh / m;
                // gx = a * g + b * x + shift, per channel constants in float for a vectorizable loop
                float a = (float) k;
                float bx = (float) (-k * meanGh * rstd);
                float shift = (float) (k * (-meanG + mean * rstd * meanGh));
                for (int img = 0; img < l.n; img++) {
                    int base = (img * l.channels + c) * l.inner;
                    for (int i = 0; i < l.inner; i++) {
                        gx[base + i] = a * g[base + i] + bx * xs[base + i] + shift;
                    }
                }
            });
            int[] pc = {l.channels};
            return new Object[] {needsGrad[0] ? Gradients.fresh(gx, l.x.shape.clone()) : null,
                    weight != null && needsGrad[1] ? Gradients.fresh(gw, pc) : null,
                    bias != null && needsGrad[2] ? Gradients.fresh(gb, pc) : null, null};
        }
    };

    /**
     * {@code batch_statistics(x)}: a [2, C] tensor holding each channel's mean and biased variance over every dim
     * but 1 (for the running averages of training-mode batch norm; not differentiable).
     */
    public static final Op BATCH_STATISTICS = new Op("batch_statistics", Op.Kind.REDUCTION) {
        @Override
        protected Object compute(Object[] args) {
            Layout l = Layout.of(name(), tensorArg(args, 0));
            float[] xs = Gradients.dense(l.x);
            float[] out = new float[2 * l.channels];
            l.forEachChannel(xs, (c, stats) -> {
                out[c] = (float) stats[0];
                out[l.channels + c] = (float) stats[1];
            });
            return Gradients.fresh(out, new int[] {2, l.channels});
        }
    };

    /** [N, C, inner] view of a batch-norm input. */
    private record Layout(Tensor x, int n, int channels, int inner) {
        static Layout of(String op, Tensor x) {
            LinalgOps.requireFloat(op, x);
            if (x.shape.length < 2 || x.shape.length > 4) {
                throw new ShapeException(op + ": needs a 2-d [N,C], 3-d [N,C,L] or 4-d [N,C,H,W] input, got shape "
                        + Arrays.toString(x.shape));
            }
            int inner = 1;
            for (int d = 2; d < x.shape.length; d++) {
                inner *= x.shape[d];
            }
            return new Layout(x, x.shape[0], x.shape[1], inner);
        }

        /** What to do with one channel's {@code {mean, biased variance}}. */
        @FunctionalInterface
        interface ChannelBody {
            void accept(int channel, double[] stats);
        }

        /**
         * Calls {@code body} for every channel with its statistics, on the shared pool in tasks of two channels: their
         * statistics are summed side by side ({@link #statisticsPair}), twice the independent adds in flight, each
         * channel's sums in the same order as {@link #statistics} (same bits, any thread count).
         */
        void forEachChannel(float[] xs, ChannelBody body) {
            Parallel.shared().forEach((channels + 1) / 2, t -> {
                int c = 2 * t;
                if (c + 1 < channels) {
                    double[][] both = statisticsPair(xs, c);
                    body.accept(c, both[0]);
                    body.accept(c + 1, both[1]);
                } else {
                    body.accept(c, statistics(xs, c));
                }
            });
        }

        /** {@link #statistics} of channels {@code c} and {@code c + 1}, interleaved (identical arithmetic). */
        double[][] statisticsPair(float[] xs, int c) {
            double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
            double b0 = 0, b1 = 0, b2 = 0, b3 = 0;
            int main = inner & ~3;
            for (int img = 0; img < n; img++) {
                int p = (img * channels + c) * inner;
                int q = p + inner;
                for (int i = 0; i < main; i += 4) {
                    a0 += xs[p + i];
                    a1 += xs[p + i + 1];
                    a2 += xs[p + i + 2];
                    a3 += xs[p + i + 3];
                    b0 += xs[q + i];
                    b1 += xs[q + i + 1];
                    b2 += xs[q + i + 2];
                    b3 += xs[q + i + 3];
                }
                for (int i = main; i < inner; i++) {
                    a0 += xs[p + i];
                    b0 += xs[q + i];
                }
            }
            double count = Math.max(1.0, (double) n * inner);
            double meanA = (a0 + a1 + a2 + a3) / count;
            double meanB = (b0 + b1 + b2 + b3) / count;
            a0 = 0; a1 = 0; a2 = 0; a3 = 0;
            b0 = 0; b1 = 0; b2 = 0; b3 = 0;
            for (int img = 0; img < n; img++) {
                int p = (img * channels + c) * inner;
                int q = p + inner;
                for (int i = 0; i < main; i += 4) {
                    double d0 = xs[p + i] - meanA;
                    double d1 = xs[p + i + 1] - meanA;
                    double d2 = xs[p + i + 2] - meanA;
                    double d3 = xs[p + i + 3] - meanA;
                    double e0 = xs[q + i] - meanB;
                    double e1 = xs[q + i + 1] - meanB;
                    double e2 = xs[q + i + 2] - meanB;
                    double e3 = xs[q + i + 3] - meanB;
                    a0 += d0 * d0;
                    a1 += d1 * d1;
                    a2 += d2 * d2;
                    a3 += d3 * d3;
                    b0 += e0 * e0;
                    b1 += e1 * e1;
                    b2 += e2 * e2;
                    b3 += e3 * e3;
                }
                for (int i = main; i < inner; i++) {
                    double d = xs[p + i] - meanA;
                    a0 += d * d;
                    double e = xs[q + i] - meanB;
                    b0 += e * e;
                }
            }
            return new double[][] {{meanA, (a0 + a1 + a2 + a3) / count}, {meanB, (b0 + b1 + b2 + b3) / count}};
        }

        /**
         * Mean and biased variance of channel {@code c}: two passes in double (no cancellation), four independent
         * accumulators so the adds pipeline (the order is fixed, so results are still deterministic).
         */
        double[] statistics(float[] xs, int c) {
            double s0 = 0;
            double s1 = 0;
            double s2 = 0;
            double s3 = 0;
            for (int img = 0; img < n; img++) {
                int base = (img * channels + c) * inner;
                int i = 0;
                for (; i + 3 < inner; i += 4) {
                    s0 += xs[base + i];
                    s1 += xs[base + i + 1];
                    s2 += xs[base + i + 2];
                    s3 += xs[base + i + 3];
                }
                for (; i < inner; i++) {
                    s0 += xs[base + i];
                }
            }
            double count = Math.max(1.0, (double) n * inner);
            double mean = (s0 + s1 + s2 + s3) / count;
            s0 = 0;
            s1 = 0;
            s2 = 0;
            s3 = 0;
            for (int img = 0; img < n; img++) {
                int base = (img * channels + c) * inner;
                int i = 0;
                for (; i + 3 < inner; i += 4) {
                    double d0 = xs[base + i] - mean;
                    double d1 = xs[base + i + 1] - mean;
                    double d2 = xs[base + i + 2] - mean;
                    double d3 = xs[base + i + 3] - mean;
                    s0 += d0 * d0;
                    s1 += d1 * d1;
                    s2 += d2 * d2;
                    s3 += d3 * d3;
                }
                for (; i < inner; i++) {
                    double d = xs[base + i] - mean;
                    s0 += d * d;
                }
            }
            return new double[] {mean, (s0 + s1 + s2 + s3) / count};
        }
    }

    /**
     * {@code cross_entropy(logits [N, C], labels [N] int32/int64)}: the mean over the batch of
     * {@code -log_softmax(logits)[label]} (a 0-d tensor), as {@code torch.nn.functional.cross_entropy}.
     */
    public static final Op CROSS_ENTROPY = new Op("cross_entropy", Op.Kind.REDUCTION) {
        @Override
        protected Object compute(Object[] args) {
            Tensor logits = tensorArg(args, 0);
            long[] labels = labels(this, logits, tensorArg(args, 1));
            float[] lp = Gradients.dense(logSoftmaxRows(logits));
            int classes = logits.shape[1];
            double loss = 0;
            for (int i = 0; i < labels.length; i++) {
                loss -= lp[i * classes + (int) labels[i]];
            }
            return Tensor.scalar((float) (loss / Math.max(1, labels.length)));
        }

        @Override
        public Object[] backward(Object[] args, Object result, Tensor gradOutput, boolean[] needsGrad) {
            Tensor logits = tensorArg(args, 0);
            long[] labels = labels(this, logits, tensorArg(args, 1));
            float[] p = Gradients.dense(logSoftmaxRows(logits));
            int classes = logits.shape[1];
            float scale = gradOutput.item() / Math.max(1, labels.length);
            float[] gx = new float[p.length];
            for (int i = 0; i < labels.length; i++) {
                for (int k = 0; k < classes; k++) {
                    int at = i * classes + k;
                    gx[at] = (float) ((Math.exp(p[at]) - (k == labels[i] ? 1.0 : 0.0)) * scale);
                }
            }
            return new Object[] {Gradients.fresh(gx, logits.shape.clone()), null};
        }
    };

    private static Tensor logSoftmaxRows(Tensor logits) {
        return Gradients.call(NNOps.LOG_SOFTMAX, logits, 1);
    }

    private static long[] labels(Op op, Tensor logits, Tensor labels) {
        LinalgOps.requireFloat(op.name(), logits);
        if (logits.shape.length != 2 || labels.shape.length != 1 || labels.shape[0] != logits.shape[0]) {
            throw new ShapeException(op.name() + ": needs logits [N, C] and labels [N], got "
                    + Arrays.toString(logits.shape) + " and " + Arrays.toString(labels.shape));
        }
        if (labels.dtype != DType.INT64 && labels.dtype != DType.INT32) {
            throw new DTypeException(op.name() + ": labels must be int32 or int64, got " + labels.dtype);
        }
        long[] l = labels.toLongArray();
        for (int i = 0; i < l.length; i++) {
            if (l[i] < 0 || l[i] >= logits.shape[1]) {
                throw new ShapeException(op.name() + ": label " + l[i] + " at " + i + " is outside [0, "
                        + logits.shape[1] + ")");
            }
        }
        return l;
    }

    /** {@code mse_loss(input, target)}: the mean of {@code (input - target)^2} over all elements (same shapes). */
    public static final Op MSE_LOSS = new Op("mse_loss", Op.Kind.REDUCTION) {
        @Override
        protected Object compute(Object[] args) {
            float[][] ab = pair(this, args);
            double sum = 0;
            for (int i = 0; i < ab[0].length; i++) {
                double d = (double) ab[0][i] - ab[1][i];
                sum += d * d;
            }
            return Tensor.scalar((float) (sum / Math.max(1, ab[0].length)));
        }

        @Override
        public Object[] backward(Object[] args, Object result, Tensor gradOutput, boolean[] needsGrad) {
            float[][] ab = pair(this, args);
            int n = ab[0].length;
            double scale = 2.0 * gradOutput.item() / Math.max(1, n);
            float[] ga = new float[n];
            float[] gb = new float[n];
            for (int i = 0; i < n; i++) {
                double d = ((double) ab[0][i] - ab[1][i]) * scale;
                ga[i] = (float) d;
                gb[i] = (float) -d;
            }
            int[] shape = tensorArg(args, 0).shape.clone();
            return new Object[] {needsGrad[0] ? Gradients.fresh(ga, shape) : null,
                    needsGrad[1] ? Gradients.fresh(gb, shape.clone()) : null};
        }
    };

    private static float[][] pair(Op op, Object[] args) {
        Tensor a = op.tensorArg(args, 0);
        Tensor b = op.tensorArg(args, 1);
        LinalgOps.requireFloat(op.name(), a);
        LinalgOps.requireFloat(op.name(), b);
        if (!Arrays.equals(a.shape, b.shape)) {
            throw new ShapeException(op.name() + ": input " + Arrays.toString(a.shape) + " and target "
                    + Arrays.toString(b.shape) + " must have the same shape");
        }
        return new float[][] {Gradients.dense(a), Gradients.dense(b)};
    }
}
