package dev.graft.ops;

import java.util.Arrays;

/**
 * The arithmetic of the backward rules that {@link Op#backward} overrides delegate to (elementwise, reductions,
 * movement, matmul/linear, softmax, layer norm, batch norm, embedding, pooling). Everything here calls
 * {@link Op#compute} directly or loops over arrays, never {@link Dispatch}, so gradient math is never recorded or
 * traced. Results are fresh contiguous float32 tensors of the argument's shape.
 */
final class Gradients {
    private Gradients() {
    }

    static Tensor call(Op op, Object... args) {
        return (Tensor) op.compute(args);
    }

    /** Row-major float values of {@code t}, without a copy when its storage already is exactly that. */
    static float[] dense(Tensor t) {
        if (t.dtype == DType.FLOAT32 && t.isContiguous() && t.offset == 0 && t.storage.floats.length == t.numelRef()) {
            return t.storage.floats;
        }
        return t.toFloatArrayUnchecked();
    }

    static Tensor fresh(float[] data, int[] shape) {
        return Tensor.contiguous(Storage.ofFloats(data), shape, null);
    }

    /** Sums a broadcast gradient back to {@code shape}: over extra leading dims and dims where shape has size 1. */
    static Tensor sumTo(Tensor g, int[] shape) {
        if (Arrays.equals(g.shape, shape)) {
            return g;
        }
        int lead = g.shape.length - shape.length;
        int[] dims = new int[g.shape.length];
        int k = 0;
        for (int d = 0; d < g.shape.length; d++) {
            if (d < lead || (shape[d - lead] == 1 && g.shape[d] != 1)) {
                dims[k++] = d;
            }
        }
        Tensor s = k == 0 ? g : call(ReduceOps.SUM, g, Arrays.copyOf(dims, k), true);
        return contiguousCopy(call(MovementOps.RESHAPE, s, shape));
    }

    /**
     * The gradient of an op that only rearranges its input's elements into another shape (reshape, view, flatten,
     * squeeze, unsqueeze): the output gradient read back in the input's shape, as a fresh contiguous tensor.
     */
    static Tensor toInputShape(Object[] args, Tensor gradOutput) {
        return contiguousCopy(call(MovementOps.RESHAPE, gradOutput, ((Tensor) args[0]).shape.clone()));
    }

    static Tensor contiguousCopy(Tensor t) {
        return t.isContiguous() ? t : MovementOps.copyContiguous(t);
    }

    // ---------------------------------------------------------------- elementwise

    /** {@code g * f'(x)} for a unary op, with the derivative given the input and output values. */
    static Tensor unary(MathOps.Unary op, Tensor x, Tensor y, Tensor g) {
        float[] xs = dense(x.dtype == DType.FLOAT32 ? x : call(MovementOps.TO_DTYPE, x, DType.FLOAT32));
        float[] ys = dense(y);
        float[] gs = dense(g);
        float[] out = new float[gs.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = gs[i] * op.derivative(xs[i], ys[i]);
        }
        return fresh(out, x.shape.clone());
    }

    static Tensor parameterizedUnary(MathOps.ParameterizedUnary op, Tensor x, float p, float q, Tensor g) {
        float[] xs = dense(x);
        float[] gs = dense(g);
        float[] out = new float[gs.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = gs[i] * op.derivative(xs[i], p, q);
        }
        return fresh(out, x.shape.clone());
    }

    static Tensor relu(Tensor y, Tensor g) {
        float[] ys = dense(y);
        float[] gs = dense(g);
        float[] out = new float[gs.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = ys[i] > 0f ? gs[i] : 0f;
        }
        return fresh(out, y.shape.clone());
    }

    /** Gradients of add / sub / mul / div; the second argument may be a Java number (no gradient then). */
    static Object[] binary(String op, Object[] args, Tensor result, Tensor g, boolean[] need) {
        Tensor a = (Tensor) args[0];
        Tensor b = args[1] instanceof Tensor t ? t : Tensor.scalar(((Number) args[1]).floatValue());
        boolean bTensor = args[1] instanceof Tensor;
        Tensor ga = null;
        Tensor gb = null;
        boolean wantA = need[0];
        boolean wantB = bTensor && need[1];
        switch (op) {
            case "add" -> {
                ga = wantA ? sumTo(g, a.shape) : null;
                gb = wantB ? sumTo(g, b.shape) : null;
            }
            case "sub" -> {
                ga = wantA ? sumTo(g, a.shape) : null;
                gb = wantB ? sumTo(call(MathOps.NEG, g), b.shape) : null;
            }
            case "mul" -> {
                ga = wantA ? sumTo(call(MathOps.MUL, g, b), a.shape) : null;
                gb = wantB ? sumTo(call(MathOps.MUL, g, a), b.shape) : null;
            }
            case "div" -> {
                ga = wantA ? sumTo(call(MathOps.DIV, g, b), a.shape) : null;
                // d(a/b)/db = -a/b^2 = -result/b
                gb = wantB ? sumTo(call(MathOps.NEG, call(MathOps.DIV, call(MathOps.MUL, g, result), b)), b.shape)
                        : null;
            }
            default -> throw new IllegalStateException(op);
        }
        return new Object[] {float32(ga), float32(gb)};
    }

    /** Gradient of {@code x^p} for a constant exponent. */
    static Tensor powScalar(Tensor x, float p, Tensor g) {
        float[] xs = dense(x);
        float[] gs = dense(g);
        float[] out = new float[gs.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) (gs[i] * p * Math.pow(xs[i], p - 1.0));
        }
        return fresh(out, x.shape.clone());
    }

    /** where(cond, a, b): the gradient goes to a where cond holds, else to b. */
    static Object[] where(Tensor cond, Object a, Object b, Tensor g, boolean[] need) {
        Tensor zero = Tensor.scalar(0f);
        Tensor ga = a instanceof Tensor ta && need[1] ? sumTo(call(MathOps.WHERE, cond, g, zero), ta.shape) : null;
        Tensor gb = b instanceof Tensor tb && need[2] ? sumTo(call(MathOps.WHERE, cond, zero, g), tb.shape) : null;
        return new Object[] {null, ga, gb};
    }

    private static Tensor float32(Tensor t) {
        return t == null || t.dtype == DType.FLOAT32 ? t : call(MovementOps.TO_DTYPE, t, DType.FLOAT32);
    }

    // ---------------------------------------------------------------- reductions

    /** sum/mean over {@code dims}: the gradient spreads evenly over every reduced element. */
    static Tensor reduce(Tensor x, int[] dims, boolean keepDim, Tensor g, boolean mean) {
        int rank = x.shape.length;
        int[] kept = x.shape.clone();
        long count = 1;
        for (int d : dims) {
            if (rank == 0) {
                continue;
            }
            int nd = Shapes.normalizeDim("sum", d, rank);
            count *= x.shape[nd];
            kept[nd] = 1;
        }
        Tensor gk = call(MovementOps.RESHAPE, g, kept);
        if (mean && count > 0) {
            gk = call(MathOps.MUL, gk, 1f / count);
        }
        return MovementOps.copyContiguous(call(MovementOps.EXPAND, gk, x.shape.clone()));
    }

    // ---------------------------------------------------------------- movement

    /** Scatters {@code g} into a zero tensor of {@code x}'s shape through the same view op (slice, select). */
    static Tensor scatterView(Tensor x, Op view, Object[] args, Tensor g) {
        Tensor zeros = Tensor.empty(DType.FLOAT32, x.shape);
        Object[] viewArgs = args.clone();
        viewArgs[0] = zeros;
        MovementOps.copyInto(g, call(view, viewArgs));
        return zeros;
    }

    static Tensor inversePermute(Tensor g, int[] dims) {
        int rank = dims.length;
        int[] inverse = new int[rank];
        for (int i = 0; i < rank; i++) {
            inverse[Shapes.normalizeDim("permute", dims[i], rank)] = i;
        }
        return MovementOps.copyContiguous(call(MovementOps.PERMUTE, g, inverse));
    }

    static Tensor[] cat(Tensor[] xs, int dimArg, Tensor g, boolean[] need) {
        int dim = Shapes.normalizeDim("cat", dimArg, xs[0].shape.length);
        Tensor[] out = new Tensor[xs.length];
        int at = 0;
        for (int i = 0; i < xs.length; i++) {
            int len = xs[i].shape[dim];
            if (xs[i].dtype == DType.FLOAT32) {
                out[i] = MovementOps.copyContiguous(call(MovementOps.SLICE, g, dim, at, at + len, 1));
            }
            at += len;
        }
        return out;
    }

    // ---------------------------------------------------------------- linear algebra

    /** linear: gx = g W, gW = g^T x (summed over all leading rows), gb = column sums of g. */
    static Object[] linear(Tensor x, Tensor w, Tensor bias, Tensor g, boolean[] need) {
        int in = w.shape[1];
        int outF = w.shape[0];
        int rows = Shapes.numelUnchecked(x.shape) / Math.max(in, 1);
        float[] gs = dense(g);
        Tensor gx = null;
        Tensor gw = null;
        Tensor gb = null;
        if (need[0]) {
            float[] o = new float[rows * in];
            LinalgOps.gemm().gemm(rows, in, outF, gs, 0, outF, 1,
                    w.storage.floats, w.offset, w.strides[0], w.strides[1], o, 0, in, false);
            gx = fresh(o, x.shape.clone());
        }
        if (need[1]) {
            float[] xs = dense(x);
            float[] o = new float[outF * in];
            // gW[o][i] = sum_r g[r][o] x[r][i]: A = g^T (row stride 1, column stride outF)
            LinalgOps.gemm().gemm(outF, in, rows, gs, 0, 1, outF, xs, 0, in, 1, o, 0, in, false);
            gw = fresh(o, w.shape.clone());
        }
        if (bias != null && need.length > 2 && need[2]) {
            double[] acc = new double[outF];
            for (int r = 0; r < rows; r++) {
                for (int j = 0; j < outF; j++) {
                    acc[j] += gs[r * outF + j];
                }
            }
            float[] o = new float[outF];
            for (int j = 0; j < outF; j++) {
                o[j] = (float) acc[j];
            }
            gb = fresh(o, bias.shape.clone());
        }
        return new Object[] {gx, gw, gb};
    }

    /** matmul with PyTorch's 1-d and broadcast rules: ga = g b^T, gb = a^T g, summed over broadcast batches. */
    static Object[] matmul(Tensor a, Tensor b, Tensor g, boolean[] need) {
        Tensor a2 = a.shape.length == 1 ? call(MovementOps.UNSQUEEZE, a, 0) : a;
        Tensor b2 = b.shape.length == 1 ? call(MovementOps.UNSQUEEZE, b, 1) : b;
        Tensor g2 = g;
        if (a.shape.length == 1) {
            g2 = call(MovementOps.UNSQUEEZE, g2, b.shape.length == 1 ? 0 : -2);
        }
        if (b.shape.length == 1) {
            g2 = call(MovementOps.UNSQUEEZE, g2, -1);
        }
        Tensor ga = null;
        Tensor gb = null;
        if (need[0]) {
            Tensor full = call(LinalgOps.MATMUL, g2, call(MovementOps.TRANSPOSE, b2, -1, -2));
            ga = contiguousCopy(call(MovementOps.RESHAPE, sumTo(full, a2.shape), a.shape.clone()));
        }
        if (need[1]) {
            Tensor full = call(LinalgOps.MATMUL, call(MovementOps.TRANSPOSE, a2, -1, -2), g2);
            gb = contiguousCopy(call(MovementOps.RESHAPE, sumTo(full, b2.shape), b.shape.clone()));
        }
        return new Object[] {ga, gb};
    }

    // ---------------------------------------------------------------- softmax family

    /** Rows of a softmax-like op along {@code dim}: outer x size x inner. */
    private record Rows(int outer, int size, int inner) {
        static Rows of(Tensor x, int dimArg) {
            int rank = x.shape.length;
            if (rank == 0) {
                return new Rows(1, 1, 1);
            }
            int dim = Shapes.normalizeDim("softmax", dimArg, rank);
            int outer = 1;
            int inner = 1;
            for (int d = 0; d < dim; d++) {
                outer *= x.shape[d];
            }
            for (int d = dim + 1; d < rank; d++) {
                inner *= x.shape[d];
            }
            return new Rows(outer, x.shape[dim], inner);
        }
    }

    /** softmax: gx = y (g - sum(g y)); log_softmax: gx = g - exp(y) sum(g). */
    static Tensor softmax(Tensor x, int dim, Tensor y, Tensor g, boolean log) {
        Rows r = Rows.of(x, dim);
        float[] ys = dense(y);
        float[] gs = dense(g);
        float[] out = new float[gs.length];
        for (int o = 0; o < r.outer; o++) {
            for (int in = 0; in < r.inner; in++) {
                int start = o * r.size * r.inner + in;
                double s = 0;
                for (int k = 0, at = start; k < r.size; k++, at += r.inner) {
                    s += log ? gs[at] : (double) gs[at] * ys[at];
                }
                for (int k = 0, at = start; k < r.size; k++, at += r.inner) {
                    out[at] = log ? (float) (gs[at] - Math.exp(ys[at]) * s) : (float) (ys[at] * (gs[at] - s));
                }
            }
        }
        return fresh(out, x.shape.clone());
    }

    // ---------------------------------------------------------------- normalization

    /** layer_norm over the last {@code n} elements of each row, statistics recomputed in double. */
    static Object[] layerNorm(Tensor x, int[] normalized, Tensor w, Tensor b, float eps, Tensor g, boolean[] need) {
        int n = Shapes.numelUnchecked(normalized);
        int rows = Shapes.numelUnchecked(x.shape) / Math.max(n, 1);
        float[] xs = dense(x);
        float[] gs = dense(g);
        float[] ws = w == null ? null : dense(w);
        float[] gx = new float[xs.length];
        double[] gw = new double[n];
        double[] gb = new double[n];
        double[] xhat = new double[n];
        double[] gh = new double[n];
        for (int r = 0; r < rows; r++) {
            int base = r * n;
            double mean = 0;
            for (int i = 0; i < n; i++) {
                mean += xs[base + i];
            }
            mean /= n;
            double var = 0;
            for (int i = 0; i < n; i++) {
                double d = xs[base + i] - mean;
                var += d * d;
            }
            var /= n;
            double rstd = 1.0 / Math.sqrt(var + eps);
            double meanGh = 0;
            double meanGhX = 0;
            for (int i = 0; i < n; i++) {
                xhat[i] = (xs[base + i] - mean) * rstd;
                gh[i] = gs[base + i] * (ws == null ? 1.0 : ws[i]);
                meanGh += gh[i];
                meanGhX += gh[i] * xhat[i];
                gw[i] += gs[base + i] * xhat[i];
                gb[i] += gs[base + i];
            }
            meanGh /= n;
            meanGhX /= n;
            for (int i = 0; i < n; i++) {
                gx[base + i] = (float) (rstd * (gh[i] - meanGh - xhat[i] * meanGhX));
            }
        }
        return new Object[] {need[0] ? fresh(gx, x.shape.clone()) : null, null,
                w != null && need[2] ? fresh(toFloats(gw), normalized.clone()) : null,
                b != null && need[3] ? fresh(toFloats(gb), normalized.clone()) : null, null};
    }

    /**
     * batch_norm with given statistics: y = (x - m) * rstd * w + b, with gradients for x, the mean and variance
     * arguments (so a training-mode composition that computed them from x differentiates correctly), w and b.
     */
    static Object[] batchNorm(Tensor x, Tensor mean, Tensor var, Tensor w, Tensor b, float eps, Tensor g,
                              boolean[] need) {
        int channels = x.shape[1];
        int inner = Shapes.numelUnchecked(x.shape) / Math.max(1, x.shape[0] * channels);
        int n = x.shape[0];
        float[] xs = dense(x);
        float[] gs = dense(g);
        float[] ms = dense(mean);
        float[] vs = dense(var);
        float[] ws = w == null ? null : dense(w);
        float[] gx = new float[xs.length];
        float[] gm = new float[channels];
        float[] gv = new float[channels];
        float[] gw = new float[channels];
        float[] gb = new float[channels];
        for (int c = 0; c < channels; c++) {
            double rstd = 1.0 / Math.sqrt((double) vs[c] + eps);
            double wc = ws == null ? 1.0 : ws[c];
            double sumG = 0;
            double sumGx = 0;
            for (int img = 0; img < n; img++) {
                int base = (img * channels + c) * inner;
                for (int i = 0; i < inner; i++) {
                    double gi = gs[base + i];
                    double d = xs[base + i] - (double) ms[c];
                    sumG += gi;
                    sumGx += gi * d;
                    gx[base + i] = (float) (gi * wc * rstd);
                }
            }
            gm[c] = (float) (-sumG * wc * rstd);
            gv[c] = (float) (-0.5 * sumGx * wc * rstd * rstd * rstd);
            gw[c] = (float) (sumGx * rstd);
            gb[c] = (float) sumG;
        }
        int[] pc = {channels};
        return new Object[] {need[0] ? fresh(gx, x.shape.clone()) : null, need[1] ? fresh(gm, pc) : null,
                need[2] ? fresh(gv, pc) : null, w != null && need[3] ? fresh(gw, pc) : null,
                b != null && need[4] ? fresh(gb, pc) : null, null};
    }

    static float[] toFloats(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }

    // ---------------------------------------------------------------- embedding and pooling

    /** embedding: rows of g added into a zero [V, D] gradient at each id (ids in order, so deterministic). */
    static Tensor embedding(Tensor ids, Tensor weight, Tensor g) {
        int width = weight.shape[1];
        float[] out = new float[weight.shape[0] * width];
        float[] gs = dense(g);
        long[] id = ids.toLongArray();
        for (int i = 0; i < id.length; i++) {
            int row = (int) id[i] * width;
            for (int j = 0; j < width; j++) {
                out[row + j] += gs[i * width + j];
            }
        }
        return fresh(out, weight.shape.clone());
    }
}
