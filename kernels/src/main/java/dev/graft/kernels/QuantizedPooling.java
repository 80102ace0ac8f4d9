package dev.graft.kernels;

/**
 * Average pooling on quint8 planes (dense, row-major), with ATen's quantized arithmetic; the output keeps the
 * input's qparams:
 * <pre>
 *   acc = sum of q over the real elements of the window - zp * count      (int32, exact)
 *   m   = (input scale / output scale) / divisor = 1f / divisor           (float32: the scales are equal)
 *   q   = clamp(zp + rint(float(acc) * m), 0, 255)                        (requantize_from_int, ties to even)
 * </pre>
 * The ops layer's {@code quantized_avg_pool2d} and {@code quantized_adaptive_avg_pool2d} check shapes and size the
 * output; the windows are those of their float forms ({@link Pooling}).
 */
public final class QuantizedPooling {
    /** ATen's input scale / output scale: pooling keeps its input's qparams, so exactly 1. */
    private static final float SAME_SCALE_RATIO = 1f;

    private QuantizedPooling() {
    }

    /**
     * {@code planes} planes of {@code h x w} to {@code oh x ow}: padding contributes nothing to a window's sum; the
     * divisor is the padded window's size with {@code countIncludePad}, else the number of real elements.
     */
    public static void avgPool2d(byte[] in, int planes, int h, int w, int oh, int ow, int[] kernel, int[] stride,
                                 int[] pad, boolean countIncludePad, int zp, byte[] out) {
        int i = 0;
        for (int plane = 0; plane < planes; plane++) {
            int base = plane * h * w;
            for (int y = 0; y < oh; y++) {
                int y0 = y * stride[0] - pad[0];
                int y1 = Math.min(y0 + kernel[0], h + pad[0]);
                int rows = y1 - y0;
                y0 = Math.max(y0, 0);
                y1 = Math.min(y1, h);
                for (int xo = 0; xo < ow; xo++, i++) {
                    int x0 = xo * stride[1] - pad[1];
                    int x1 = Math.min(x0 + kernel[1], w + pad[1]);
                    int padded = rows * (x1 - x0);
                    x0 = Math.max(x0, 0);
                    x1 = Math.min(x1, w);
                    int count = Math.max(0, y1 - y0) * Math.max(0, x1 - x0);
                    int divisor = countIncludePad ? padded : count;
                    out[i] = (byte) average(in, base, w, y0, y1, x0, x1, zp, count, divisor);
                }
            }
        }
    }

    /** Adaptive windows ({@link Pooling#adaptiveStart} .. {@link Pooling#adaptiveEnd}), divided by their size. */
    public static void adaptiveAvgPool2d(byte[] in, int planes, int h, int w, int oh, int ow, int zp, byte[] out) {
        int i = 0;
        for (int plane = 0; plane < planes; plane++) {
            int base = plane * h * w;
            for (int y = 0; y < oh; y++) {
                int y0 = Pooling.adaptiveStart(y, h, oh);
                int y1 = Pooling.adaptiveEnd(y, h, oh);
                for (int xo = 0; xo < ow; xo++, i++) {
                    int x0 = Pooling.adaptiveStart(xo, w, ow);
                    int x1 = Pooling.adaptiveEnd(xo, w, ow);
                    int count = (y1 - y0) * (x1 - x0);
                    out[i] = (byte) average(in, base, w, y0, y1, x0, x1, zp, count, count);
                }
            }
        }
    }

    /** One output: the centred integer sum requantized as ATen's {@code requantize_from_int}. */
    private static int average(byte[] in, int base, int w, int y0, int y1, int x0, int x1, int zp, int count,
                               int divisor) {
        if (divisor <= 0) {
            return zp;
        }
        int acc = -zp * count;
        for (int iy = y0; iy < y1; iy++) {
            for (int ix = x0; ix < x1; ix++) {
                acc += in[base + iy * w + ix] & 0xFF;
            }
        }
        float multiplier = SAME_SCALE_RATIO / divisor;
        return (int) Math.max(0, Math.min(255, zp + (long) Math.rint((float) acc * multiplier)));
    }
}
