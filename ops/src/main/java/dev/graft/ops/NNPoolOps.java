package dev.graft.ops;

import dev.graft.kernels.Pooling;

import java.util.Arrays;

/**
 * Pooling and upsampling over NCHW (also CHW for pooling) float32 tensors, with PyTorch's output-size rules, and
 * their backward rules. Split from {@link NNOps} to keep each file readable.
 */
public final class NNPoolOps {
    private NNPoolOps() {
    }

    // ---------------------------------------------------------------- pooling and upsampling (NCHW)

    /**
     * {@code max_pool2d(x, int[] kernel, int[] stride, int[] padding, int[] dilation, boolean ceilMode)} over an
     * [N,C,H,W] or [C,H,W] input. Each int[] holds 1 (square) or 2 values; an empty stride means the kernel size.
     * Padding counts as -inf and may be at most half the kernel; a NaN in a window wins, as in PyTorch.
     */
    public static final Op MAX_POOL2D = new Op("max_pool2d", Op.Kind.NN) {
        @Override
        protected Object compute(Object[] args) {
            Planes p = planes(name(), tensorArg(args, 0), true);
            int[] kernel = pair(name(), "kernel_size", intsArg(args, 1), 1);
            int[] stride = stride(name(), intsArg(args, 2), kernel);
            int[] pad = pair(name(), "padding", intsArg(args, 3), 0);
            int[] dilation = pair(name(), "dilation", intsArg(args, 4), 1);
            boolean ceil = boolArg(args, 5);
            checkPadding(name(), kernel, pad);
            int oh = pooledSize(name(), p, p.h, kernel[0], stride[0], pad[0], dilation[0], ceil);
            int ow = pooledSize(name(), p, p.w, kernel[1], stride[1], pad[1], dilation[1], ceil);
            Tensor out = p.output(oh, ow);
            float[] o = out.storage.floats;
            float[] in = p.x.storage.floats;
            if (isPlain2x2(kernel, stride, pad, dilation, p, oh, ow)) {
                Pooling.maxPool2x2(in, p.geometry(), oh, ow, o, null, null);
                return out;
            }
            Pooling.maxPool2d(in, p.geometry(), oh, ow, kernel, stride, pad, dilation, o);
            return out;
        }

        @Override
        public Object[] backward(Object[] args, Object result, Tensor gradOutput, boolean[] needsGrad) {
            return new Object[] {maxPoolBackward(this, args, gradOutput), null, null, null, null, null};
        }
    };

    /**
     * {@code avg_pool2d(x, int[] kernel, int[] stride, int[] padding, boolean ceilMode, boolean countIncludePad)}
     * over an [N,C,H,W] or [C,H,W] input, as PyTorch: a window is clipped to the padded input (which ceil_mode can
     * overhang); with countIncludePad the divisor is the clipped window's size, else the number of real elements.
     * Sums accumulate in double.
     */
    public static final Op AVG_POOL2D = new Op("avg_pool2d", Op.Kind.NN) {
        @Override
        protected Object compute(Object[] args) {
            Planes p = planes(name(), tensorArg(args, 0), true);
            int[] kernel = pair(name(), "kernel_size", intsArg(args, 1), 1);
            int[] stride = stride(name(), intsArg(args, 2), kernel);
            int[] pad = pair(name(), "padding", intsArg(args, 3), 0);
            boolean ceil = boolArg(args, 4);
            boolean countIncludePad = boolArg(args, 5);
            checkPadding(name(), kernel, pad);
            int oh = pooledSize(name(), p, p.h, kernel[0], stride[0], pad[0], 1, ceil);
            int ow = pooledSize(name(), p, p.w, kernel[1], stride[1], pad[1], 1, ceil);
            Tensor out = p.output(oh, ow);
            float[] o = out.storage.floats;
            float[] in = p.x.storage.floats;
            Pooling.avgPool2d(in, p.geometry(), oh, ow, kernel, stride, pad, countIncludePad, o);
            return out;
        }

        @Override
        public Object[] backward(Object[] args, Object result, Tensor gradOutput, boolean[] needsGrad) {
            return new Object[] {avgPoolBackward(this, args, gradOutput), null, null, null, null, null};
        }
    };

    /**
     * {@code adaptive_avg_pool2d(x, int[] outputSize)} over [N,C,H,W] or [C,H,W]: output cell i averages input
     * rows {@code floor(i*in/out) .. ceil((i+1)*in/out) - 1} (likewise columns), as PyTorch. Sums in double.
     */
    public static final Op ADAPTIVE_AVG_POOL2D = new Op("adaptive_avg_pool2d", Op.Kind.NN) {
        @Override
        protected Object compute(Object[] args) {
            Planes p = planes(name(), tensorArg(args, 0), true);
            int[] size = pair(name(), "output_size", intsArg(args, 1), 1);
            Tensor out = p.output(size[0], size[1]);
            float[] o = out.storage.floats;
            float[] in = p.x.storage.floats;
            Pooling.adaptiveAvgPool2d(in, p.geometry(), size[0], size[1], o);
            return out;
        }

        @Override
        public Object[] backward(Object[] args, Object result, Tensor gradOutput, boolean[] needsGrad) {
            return new Object[] {adaptiveAvgPoolBackward(this, args, gradOutput), null};
        }
    };

    /**
     * {@code upsample_nearest2d(x, int[] outSize)} of an [N,C,H,W] input, PyTorch's legacy 'nearest': source index
     * {@code min(floor(dst * (float) in/out), in - 1)} with the scale and product in float32.
     */
    public static final Op UPSAMPLE_NEAREST2D = new Op("upsample_nearest2d", Op.Kind.NN) {
        @Override
        protected Object compute(Object[] args) {
            Planes p = planes(name(), tensorArg(args, 0), false);
            int[] size = pair(name(), "output_size", intsArg(args, 1), 1);
            int[] rows = new int[size[0]];
            int[] cols = new int[size[1]];
            for (int y = 0; y < size[0]; y++) {
                rows[y] = nearestSource(y, p.h, size[0]);
            }
            for (int x = 0; x < size[1]; x++) {
                cols[x] = nearestSource(x, p.w, size[1]);
            }
            Tensor out = p.output(size[0], size[1]);
            float[] o = out.storage.floats;
            float[] in = p.x.storage.floats;
            Pooling.upsampleNearest2d(in, p.geometry(), rows, cols, o);
            return out;
        }
    };

    /**
     * {@code upsample_bilinear2d(x, int[] outSize, boolean alignCorners)} of an [N,C,H,W] input, as PyTorch: with
     * alignCorners the corner pixels' centres line up ({@code src = dst * (in-1)/(out-1)}); without, half-pixel
     * centres ({@code src = (dst + 0.5) * in/out - 0.5}, clamped at 0). Scales, weights and the blend are float32.
     */
    public static final Op UPSAMPLE_BILINEAR2D = new Op("upsample_bilinear2d", Op.Kind.NN) {
        @Override
        protected Object compute(Object[] args) {
            Planes p = planes(name(), tensorArg(args, 0), false);
            int[] size = pair(name(), "output_size", intsArg(args, 1), 1);
            boolean alignCorners = boolArg(args, 2);
            Pooling.LinearAxis rows = linearWeights(p.h, size[0], alignCorners);
            Pooling.LinearAxis cols = linearWeights(p.w, size[1], alignCorners);
            Tensor out = p.output(size[0], size[1]);
            float[] o = out.storage.floats;
            float[] in = p.x.storage.floats;
            Pooling.upsampleBilinear2d(in, p.geometry(), rows, cols, o);
            return out;
        }
    };

    /** A float NCHW input (CHW read as N=1 when allowed) and its strides, for the pooling and upsampling loops. */
    private record Planes(Tensor x, boolean batched, int n, int c, int h, int w, int sn, int sc, int sh, int sw) {
        int planeOffset(int plane) {
            return x.offset + (plane / c) * sn + (plane % c) * sc;
        }

        /** The planes as the kernels read them. */
        Pooling.Planes geometry() {
            return new Pooling.Planes(n, c, h, w, x.offset, sn, sc, sh, sw);
        }

        Tensor output(int oh, int ow) {
            return Tensor.empty(DType.FLOAT32, batched ? new int[] {n, c, oh, ow} : new int[] {c, oh, ow});
        }

        String describe() {
            return Arrays.toString(x.shape);
        }
    }

    private static Planes planes(String op, Tensor x, boolean allowChw) {
        LinalgOps.requireFloat(op, x);
        int rank = x.shape.length;
        if (rank != 4 && !(allowChw && rank == 3)) {
            throw new ShapeException(op + ": needs a 4-d [N,C,H,W]" + (allowChw ? " or 3-d [C,H,W]" : "")
                    + " input, got shape " + Arrays.toString(x.shape));
        }
        int[] s = x.shape;
        int[] st = x.strides;
        int d = rank - 3;
        if (s[d] == 0 || s[d + 1] == 0 || s[d + 2] == 0) {
            throw new ShapeException(op + ": channels, height and width must be non-zero, got shape "
                    + Arrays.toString(s));
        }
        return new Planes(x, rank == 4, rank == 4 ? s[0] : 1, s[d], s[d + 1], s[d + 2], rank == 4 ? st[0] : 0,
                st[d], st[d + 1], st[d + 2]);
    }

    /** One or two values (height, width), each at least {@code min}. */
    private static int[] pair(String op, String what, int[] v, int min) {
        int[] p = LinalgOps.pair(op, what, v).clone();
        if (p[0] < min || p[1] < min) {
            throw new ShapeException(op + ": " + what + " must be >= " + min + ", got " + Arrays.toString(v));
        }
        return p;
    }

    private static int[] stride(String op, int[] v, int[] kernel) {
        return v.length == 0 ? kernel.clone() : pair(op, "stride", v, 1);
    }

    private static void checkPadding(String op, int[] kernel, int[] pad) {
        if (pad[0] > kernel[0] / 2 || pad[1] > kernel[1] / 2) {
            throw new ShapeException(op + ": padding " + Arrays.toString(pad) + " must be at most half the kernel "
                    + Arrays.toString(kernel));
        }
    }

    /**
     * PyTorch's pooled length: {@code floor((in + 2p - d(k-1) - 1 [+ s-1 with ceil]) / s) + 1}; with ceil_mode the
     * last window must start inside the input or the left padding, else it is dropped.
     */
    private static int pooledSize(String op, Planes p, int in, int k, int s, int pad, int d, boolean ceil) {
        long span = (long) in + 2L * pad - (long) d * (k - 1) - 1 + (ceil ? s - 1 : 0);
        long size = Math.floorDiv(span, s) + 1;
        if (ceil && (size - 1) * s >= (long) in + pad) {
            size--;
        }
        if (size < 1) {
            throw new ShapeException(op + ": input " + p.describe() + " is too small for kernel " + k + " (stride "
                    + s + ", padding " + pad + ", dilation " + d + "): output size would be " + size);
        }
        return (int) size;
    }

    private static int adaptiveStart(int i, int in, int out) {
        return Pooling.adaptiveStart(i, in, out);
    }

    private static int adaptiveEnd(int i, int in, int out) {
        return Pooling.adaptiveEnd(i, in, out);
    }

    private static int nearestSource(int dst, int in, int out) {
        float scale = (float) in / out;
        return Math.min((int) Math.floor(dst * scale), in - 1);
    }

    private static Pooling.LinearAxis linearWeights(int in, int out, boolean alignCorners) {
        Pooling.LinearAxis l = new Pooling.LinearAxis(new int[out], new int[out], new float[out], new float[out]);
        float scale = alignCorners ? (out > 1 ? (float) (in - 1) / (out - 1) : 0f) : (float) in / out;
        for (int dst = 0; dst < out; dst++) {
            if (in == out) {
                l.index0()[dst] = dst;
                l.index1()[dst] = dst;
                l.lambda0()[dst] = 1f;
                continue;
            }
            float src = alignCorners ? scale * dst : (float) (scale * (dst + 0.5) - 0.5);
            if (src < 0f) {
                src = 0f;
            }
            int i0 = Math.min((int) Math.floor(src), in - 1);
            float lambda1 = Math.min(Math.max(src - i0, 0f), 1f);
            l.index0()[dst] = i0;
            l.index1()[dst] = i0 < in - 1 ? i0 + 1 : i0;
            l.lambda1()[dst] = lambda1;
            l.lambda0()[dst] = 1f - lambda1;
        }
        return l;
    }

    // ---------------------------------------------------------------- pooling backward rules

    /** Each output's gradient goes to the first maximum of its window (the element the forward picked). */
    private static Tensor maxPoolBackward(Op op, Object[] args, Tensor gradOutput) {
        Planes p = planes(op.name(), op.tensorArg(args, 0), true);
        int[] kernel = pair(op.name(), "kernel_size", op.intsArg(args, 1), 1);
        int[] stride = stride(op.name(), op.intsArg(args, 2), kernel);
        int[] pad = pair(op.name(), "padding", op.intsArg(args, 3), 0);
        int[] dilation = pair(op.name(), "dilation", op.intsArg(args, 4), 1);
        int oh = gradOutput.shape[gradOutput.shape.length - 2];
        int ow = gradOutput.shape[gradOutput.shape.length - 1];
        float[] g = Gradients.dense(gradOutput);
        float[] in = p.x.storage.floats;
        float[] gx = new float[p.n * p.c * p.h * p.w];
        if (isPlain2x2(kernel, stride, pad, dilation, p, oh, ow)) {
            Pooling.maxPool2x2(in, p.geometry(), oh, ow, null, g, gx);
            return Gradients.fresh(gx, p.x.shape.clone());
        }
        int i = 0;
        for (int plane = 0; plane < p.n * p.c; plane++) {
            int base = p.planeOffset(plane);
            int dst = plane * p.h * p.w;
            for (int y = 0; y < oh; y++) {
                int y0 = y * stride[0] - pad[0];
                for (int x = 0; x < ow; x++, i++) {
                    int x0 = x * stride[1] - pad[1];
                    float best = Float.NEGATIVE_INFINITY;
                    int at = -1;
                    for (int ky = 0; ky < kernel[0]; ky++) {
                        int iy = y0 + ky * dilation[0];
                        if (iy < 0 || iy >= p.h) {
                            continue;
                        }
                        for (int kx = 0; kx < kernel[1]; kx++) {
                            int ix = x0 + kx * dilation[1];
                            if (ix >= 0 && ix < p.w) {
                                float v = in[base + iy * p.sh + ix * p.sw];
                                if (at < 0 || v > best || Float.isNaN(v)) {
                                    best = v;
                                    at = iy * p.w + ix;
                                }
                            }
                        }
                    }
                    if (at >= 0) {
                        gx[dst + at] += g[i];
                    }
                }
            }
        }
        return Gradients.fresh(gx, p.x.shape.clone());
    }

    /** The common 2x2, stride 2, unpadded window that tiles the input (floor mode), which has a fast loop. */
    private static boolean isPlain2x2(int[] kernel, int[] stride, int[] pad, int[] dilation, Planes p, int oh,
                                      int ow) {
        return kernel[0] == 2 && kernel[1] == 2 && stride[0] == 2 && stride[1] == 2 && pad[0] == 0 && pad[1] == 0
                && dilation[0] == 1 && dilation[1] == 1 && oh == p.h / 2 && ow == p.w / 2;
    }

    /** Each output's gradient spread over its (clipped) window, divided as the forward divided. */
    private static Tensor avgPoolBackward(Op op, Object[] args, Tensor gradOutput) {
        Planes p = planes(op.name(), op.tensorArg(args, 0), true);
        int[] kernel = pair(op.name(), "kernel_size", op.intsArg(args, 1), 1);
        int[] stride = stride(op.name(), op.intsArg(args, 2), kernel);
        int[] pad = pair(op.name(), "padding", op.intsArg(args, 3), 0);
        boolean countIncludePad = op.boolArg(args, 5);
        int oh = gradOutput.shape[gradOutput.shape.length - 2];
        int ow = gradOutput.shape[gradOutput.shape.length - 1];
        float[] g = Gradients.dense(gradOutput);
        float[] gx = new float[p.n * p.c * p.h * p.w];
        int i = 0;
        for (int plane = 0; plane < p.n * p.c; plane++) {
            int dst = plane * p.h * p.w;
            for (int y = 0; y < oh; y++) {
                int y0 = y * stride[0] - pad[0];
                int y1 = Math.min(y0 + kernel[0], p.h + pad[0]);
                int rows = y1 - y0;
                y0 = Math.max(y0, 0);
                y1 = Math.min(y1, p.h);
                for (int x = 0; x < ow; x++, i++) {
                    int x0 = x * stride[1] - pad[1];
                    int x1 = Math.min(x0 + kernel[1], p.w + pad[1]);
                    int padded = rows * (x1 - x0);
                    x0 = Math.max(x0, 0);
                    x1 = Math.min(x1, p.w);
                    if (y0 >= y1 || x0 >= x1) {
                        continue;
                    }
                    float share = g[i] / (countIncludePad ? padded : (y1 - y0) * (x1 - x0));
                    for (int iy = y0; iy < y1; iy++) {
                        for (int ix = x0; ix < x1; ix++) {
                            gx[dst + iy * p.w + ix] += share;
                        }
                    }
                }
            }
        }
        return Gradients.fresh(gx, p.x.shape.clone());
    }

    private static Tensor adaptiveAvgPoolBackward(Op op, Object[] args, Tensor gradOutput) {
        Planes p = planes(op.name(), op.tensorArg(args, 0), true);
        int[] size = pair(op.name(), "output_size", op.intsArg(args, 1), 1);
        float[] g = Gradients.dense(gradOutput);
        float[] gx = new float[p.n * p.c * p.h * p.w];
        int i = 0;
        for (int plane = 0; plane < p.n * p.c; plane++) {
            int dst = plane * p.h * p.w;
            for (int y = 0; y < size[0]; y++) {
                int y0 = adaptiveStart(y, p.h, size[0]);
                int y1 = adaptiveEnd(y, p.h, size[0]);
                for (int x = 0; x < size[1]; x++, i++) {
                    int x0 = adaptiveStart(x, p.w, size[1]);
                    int x1 = adaptiveEnd(x, p.w, size[1]);
                    float share = g[i] / ((y1 - y0) * (x1 - x0));
                    for (int iy = y0; iy < y1; iy++) {
                        for (int ix = x0; ix < x1; ix++) {
                            gx[dst + iy * p.w + ix] += share;
                        }
                    }
                }
            }
        }
        return Gradients.fresh(gx, p.x.shape.clone());
    }

}
