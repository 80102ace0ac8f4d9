package dev.graft.kernels;

/**
 * NCHW pooling and upsampling over float planes, the loops of the ops layer's {@code max_pool2d},
 * {@code avg_pool2d}, {@code adaptive_avg_pool2d} and upsampling operators (which check shapes, size the output and
 * hold the backward rules). An input is {@link Planes}: {@code n * c} planes of {@code h x w}, read through strides
 * so views need no copy; outputs are dense planes in order. Scalar loops: these ops are a small share of a model's
 * time next to its convolutions.
 */
public final class Pooling {
    private Pooling() {
    }

    /** Where the planes of a strided [N,C,H,W] (or [C,H,W], n = 1) input are. */
    public record Planes(int n, int c, int h, int w, int offset, int sn, int sc, int sh, int sw) {
        /** The first element of plane {@code plane} (planes in N-then-C order). */
        public int planeOffset(int plane) {
            return offset + (plane / c) * sn + (plane % c) * sc;
        }

        public int count() {
            return n * c;
        }
    }

    /**
     * Max pooling: each output the largest element of its dilated window (padding counts as -inf); a NaN in a
     * window wins, as in PyTorch.
     */
    public static void maxPool2d(float[] in, Planes p, int oh, int ow, int[] kernel, int[] stride, int[] pad,
                                 int[] dilation, float[] out) {
        int i = 0;
        for (int plane = 0; plane < p.count(); plane++) {
            int base = p.planeOffset(plane);
            for (int y = 0; y < oh; y++) {
                int y0 = y * stride[0] - pad[0];
                for (int x = 0; x < ow; x++, i++) {
                    int x0 = x * stride[1] - pad[1];
                    float best = Float.NEGATIVE_INFINITY;
                    for (int ky = 0; ky < kernel[0]; ky++) {
                        int iy = y0 + ky * dilation[0];
                        if (iy < 0 || iy >= p.h()) {
                            continue;
                        }
                        for (int kx = 0; kx < kernel[1]; kx++) {
                            int ix = x0 + kx * dilation[1];
                            if (ix >= 0 && ix < p.w()) {
                                float v = in[base + iy * p.sh() + ix * p.sw()];
                                if (v > best || Float.isNaN(v)) {
                                    best = v;
                                }
                            }
                        }
                    }
                    out[i] = best;
                }
            }
        }
    }

    /**
     * 2x2, stride 2, unpadded max pooling that tiles the input: with {@code out} the forward (the same comparisons
     * as {@link #maxPool2d}, so the same NaN and tie behaviour); with {@code out} null the backward, adding each of
     * {@code gradOut}'s values to the element of {@code gradIn} (dense [planes, h, w]) the forward picked.
     */
    public static void maxPool2x2(float[] in, Planes p, int oh, int ow, float[] out, float[] gradOut, float[] gradIn) {
        int i = 0;
        for (int plane = 0; plane < p.count(); plane++) {
            int base = p.planeOffset(plane);
            int dst = plane * p.h() * p.w();
            for (int y = 0; y < oh; y++) {
                int r0 = base + 2 * y * p.sh();
                int r1 = r0 + p.sh();
                for (int x = 0; x < ow; x++, i++) {
                    int c0 = 2 * x * p.sw();
                    float best = in[r0 + c0];
                    int at = 0;
                    float v = in[r0 + c0 + p.sw()];
                    if (v > best || v != v) {
                        best = v;
                        at = 1;
                    }
                    v = in[r1 + c0];
                    if (v > best || v != v) {
                        best = v;
                        at = 2;
                    }
                    v = in[r1 + c0 + p.sw()];
                    if (v > best || v != v) {
                        best = v;
                        at = 3;
                    }
                    if (out != null) {
                        out[i] = best;
                    } else {
                        gradIn[dst + (2 * y + (at >> 1)) * p.w() + 2 * x + (at & 1)] += gradOut[i];
                    }
                }
            }
        }
    }

    /**
     * Average pooling: a window clipped to the padded input (which ceil mode can overhang); with
     * {@code countIncludePad} the divisor is the clipped window's size, else the number of real elements. Sums in
     * double.
     */
    public static void avgPool2d(float[] in, Planes p, int oh, int ow, int[] kernel, int[] stride, int[] pad,
                                 boolean countIncludePad, float[] out) {
        int i = 0;
        for (int plane = 0; plane < p.count(); plane++) {
            int base = p.planeOffset(plane);
            for (int y = 0; y < oh; y++) {
                int y0 = y * stride[0] - pad[0];
                int y1 = Math.min(y0 + kernel[0], p.h() + pad[0]);
                int rows = y1 - y0;
                y0 = Math.max(y0, 0);
                y1 = Math.min(y1, p.h());
                for (int x = 0; x < ow; x++, i++) {
                    int x0 = x * stride[1] - pad[1];
                    int x1 = Math.min(x0 + kernel[1], p.w() + pad[1]);
                    int padded = rows * (x1 - x0);
                    x0 = Math.max(x0, 0);
                    x1 = Math.min(x1, p.w());
                    if (y0 >= y1 || x0 >= x1) {
                        out[i] = 0f;
                        continue;
                    }
                    double sum = 0;
                    for (int iy = y0; iy < y1; iy++) {
                        for (int ix = x0; ix < x1; ix++) {
                            sum += in[base + iy * p.sh() + ix * p.sw()];
                        }
                    }
                    out[i] = (float) (sum / (countIncludePad ? padded : (y1 - y0) * (x1 - x0)));
                }
            }
        }
    }

    /**
     * Adaptive average pooling to {@code oh x ow}: output cell i averages input rows {@code floor(i*in/out) ..
     * ceil((i+1)*in/out) - 1} (likewise columns), as PyTorch. Sums in double.
     */
    public static void adaptiveAvgPool2d(float[] in, Planes p, int oh, int ow, float[] out) {
        int i = 0;
        for (int plane = 0; plane < p.count(); plane++) {
            int base = p.planeOffset(plane);
            for (int y = 0; y < oh; y++) {
                int y0 = adaptiveStart(y, p.h(), oh);
                int y1 = adaptiveEnd(y, p.h(), oh);
                for (int x = 0; x < ow; x++, i++) {
                    int x0 = adaptiveStart(x, p.w(), ow);
                    int x1 = adaptiveEnd(x, p.w(), ow);
                    double sum = 0;
                    for (int iy = y0; iy < y1; iy++) {
                        for (int ix = x0; ix < x1; ix++) {
                            sum += in[base + iy * p.sh() + ix * p.sw()];
                        }
                    }
                    out[i] = (float) (sum / ((y1 - y0) * (x1 - x0)));
                }
            }
        }
    }

    /** {@code floor(i * in / out)} in exact integer arithmetic. */
    public static int adaptiveStart(int i, int in, int out) {
        return (int) ((long) i * in / out);
    }

    /** {@code ceil((i + 1) * in / out)} in exact integer arithmetic. */
    public static int adaptiveEnd(int i, int in, int out) {
        return (int) (((long) (i + 1) * in + out - 1) / out);
    }

    /** Nearest upsampling: output (y, x) copies input ({@code rows[y]}, {@code cols[x]}). */
    public static void upsampleNearest2d(float[] in, Planes p, int[] rows, int[] cols, float[] out) {
        int i = 0;
        for (int plane = 0; plane < p.count(); plane++) {
            int base = p.planeOffset(plane);
            for (int y = 0; y < rows.length; y++) {
                int row = base + rows[y] * p.sh();
                for (int x = 0; x < cols.length; x++, i++) {
                    out[i] = in[row + cols[x] * p.sw()];
                }
            }
        }
    }

    /** Per output index along one axis of a bilinear resize: the two source indices and their weights. */
    public record LinearAxis(int[] index0, int[] index1, float[] lambda0, float[] lambda1) {
    }

    /** Bilinear upsampling with the given row and column weights; the blend in float32, as PyTorch. */
    public static void upsampleBilinear2d(float[] in, Planes p, LinearAxis rows, LinearAxis cols, float[] out) {
        int oh = rows.index0().length;
        int ow = cols.index0().length;
        int i = 0;
        for (int plane = 0; plane < p.count(); plane++) {
            int base = p.planeOffset(plane);
            for (int y = 0; y < oh; y++) {
                int r0 = base + rows.index0()[y] * p.sh();
                int r1 = base + rows.index1()[y] * p.sh();
                float h0 = rows.lambda0()[y];
                float h1 = rows.lambda1()[y];
                for (int x = 0; x < ow; x++, i++) {
                    int c0 = cols.index0()[x] * p.sw();
                    int c1 = cols.index1()[x] * p.sw();
                    float w0 = cols.lambda0()[x];
                    float w1 = cols.lambda1()[x];
                    out[i] = h0 * (w0 * in[r0 + c0] + w1 * in[r0 + c1]) + h1 * (w0 * in[r1 + c0] + w1 * in[r1 + c1]);
                }
            }
        }
    }
}
