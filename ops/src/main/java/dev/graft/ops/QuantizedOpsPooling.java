package dev.graft.ops;

import java.util.Arrays;

/**
 * Average pooling on quint8 integers for {@link QuantizedOps#AVG_POOL2D} and {@link QuantizedOps#ADAPTIVE_AVG_POOL2D},
 * with ATen's quantized arithmetic (output qparams = input qparams):
 * <pre>
 *   acc = sum of q over the real elements of the window - zp * count      (int32, exact)
 *   m   = (input scale / output scale) / divisor = 1f / divisor           (float32: the scales are equal)
 *   q   = clamp(zp + rint(float(acc) * m), 0, 255)                        (requantize_from_int, ties to even)
 * </pre>
 * Windows and divisors follow {@link NNOps#AVG_POOL2D} / {@link NNOps#ADAPTIVE_AVG_POOL2D}: padding contributes
 * nothing to the sum; the divisor is the padded window size with {@code countIncludePad}, else the real count.
 */
final class QuantizedOpsPooling {
    /** ATen's input scale / output scale: pooling keeps its input's qparams, so exactly 1. */
    private static final float SAME_SCALE_RATIO = 1f;

    private QuantizedOpsPooling() {
    }

    static Tensor avgPool(String op, Tensor x, QParams.PerTensor q, int[] kernelArg, int[] strideArg, int[] padArg,
                          boolean ceil, boolean countIncludePad) {
        Geometry g = Geometry.of(op, x);
        int[] kernel = atLeast(op, "kernel_size", LinalgOps.pair(op, "kernel_size", kernelArg), 1);
        int[] stride = strideArg.length == 0 ? kernel.clone() : atLeast(op, "stride",
                LinalgOps.pair(op, "stride", strideArg), 1);
        int[] pad = atLeast(op, "padding", LinalgOps.pair(op, "padding", padArg), 0);
        if (pad[0] > kernel[0] / 2 || pad[1] > kernel[1] / 2) {
            throw new ShapeException(op + ": padding " + Arrays.toString(pad) + " must be at most half the kernel "
                    + Arrays.toString(kernel));
        }
        int oh = pooledSize(op, x, g.h, kernel[0], stride[0], pad[0], ceil);
        int ow = pooledSize(op, x, g.w, kernel[1], stride[1], pad[1], ceil);
        byte[] in = QuantizedOps.bytesOf(x);
        byte[] out = new byte[g.planes * oh * ow];
        int zp = q.zeroPoint();
        float ratio = SAME_SCALE_RATIO;
        int i = 0;
        for (int plane = 0; plane < g.planes; plane++) {
            int base = plane * g.h * g.w;
            for (int y = 0; y < oh; y++) {
                int y0 = y * stride[0] - pad[0];
                int y1 = Math.min(y0 + kernel[0], g.h + pad[0]);
                int rows = y1 - y0;
                y0 = Math.max(y0, 0);
                y1 = Math.min(y1, g.h);
                for (int xo = 0; xo < ow; xo++, i++) {
                    int x0 = xo * stride[1] - pad[1];
                    int x1 = Math.min(x0 + kernel[1], g.w + pad[1]);
                    int padded = rows * (x1 - x0);
                    x0 = Math.max(x0, 0);
                    x1 = Math.min(x1, g.w);
                    int count = Math.max(0, y1 - y0) * Math.max(0, x1 - x0);
                    int divisor = countIncludePad ? padded : count;
                    out[i] = (byte) average(in, base, g.w, y0, y1, x0, x1, zp, count, divisor, ratio);
                }
            }
        }
        return QuantizedOps.quint8(out, g.outputShape(x, oh, ow), q);
    }

    static Tensor adaptiveAvgPool(String op, Tensor x, QParams.PerTensor q, int[] sizeArg) {
        Geometry g = Geometry.of(op, x);
        int[] size = atLeast(op, "output_size", LinalgOps.pair(op, "output_size", sizeArg), 1);
        byte[] in = QuantizedOps.bytesOf(x);
        byte[] out = new byte[g.planes * size[0] * size[1]];
        int zp = q.zeroPoint();
        float ratio = SAME_SCALE_RATIO;
        int i = 0;
        for (int plane = 0; plane < g.planes; plane++) {
            int base = plane * g.h * g.w;
            for (int y = 0; y < size[0]; y++) {
                int y0 = (int) ((long) y * g.h / size[0]);
                int y1 = (int) (((long) (y + 1) * g.h + size[0] - 1) / size[0]);
                for (int xo = 0; xo < size[1]; xo++, i++) {
                    int x0 = (int) ((long) xo * g.w / size[1]);
                    int x1 = (int) (((long) (xo + 1) * g.w + size[1] - 1) / size[1]);
                    int count = (y1 - y0) * (x1 - x0);
                    out[i] = (byte) average(in, base, g.w, y0, y1, x0, x1, zp, count, count, ratio);
                }
            }
        }
        return QuantizedOps.quint8(out, g.outputShape(x, size[0], size[1]), q);
    }

    /** One output: the centred integer sum requantized as ATen's {@code requantize_from_int}. */
    static int average(byte[] in, int base, int w, int y0, int y1, int x0, int x1, int zp, int count, int divisor,
                       float scaleRatio) {
        if (divisor <= 0) {
            return zp;
        }
        int acc = -zp * count;
        for (int iy = y0; iy < y1; iy++) {
            for (int ix = x0; ix < x1; ix++) {
                acc += in[base + iy * w + ix] & 0xFF;
            }
        }
        float multiplier = scaleRatio / divisor;
        return QuantizedOps.clampU8(zp + (long) Math.rint((float) acc * multiplier));
    }

    private static int[] atLeast(String op, String what, int[] v, int min) {
        if (v[0] < min || v[1] < min) {
            throw new ShapeException(op + ": " + what + " must be >= " + min + ", got " + Arrays.toString(v));
        }
        return v.clone();
    }

    /** As {@link NNOps}: {@code floor((in + 2p - k [+ s-1]) / s) + 1}, dropping a ceil window that starts in the pad. */
    private static int pooledSize(String op, Tensor x, int in, int k, int s, int pad, boolean ceil) {
        long span = (long) in + 2L * pad - k + (ceil ? s - 1 : 0);
        long size = Math.floorDiv(span, s) + 1;
        if (ceil && (size - 1) * s >= (long) in + pad) {
            size--;
        }
        if (size < 1) {
            throw new ShapeException(op + ": input " + Arrays.toString(x.shape) + " is too small for kernel " + k
                    + " (stride " + s + ", padding " + pad + ")");
        }
        return (int) size;
    }

    /** [N,C,H,W] or [C,H,W] as planes of h*w (the bytes are row-major). */
    private record Geometry(int planes, int h, int w) {
        static Geometry of(String op, Tensor x) {
            int rank = x.shape.length;
            if (rank != 4 && rank != 3) {
                throw new ShapeException(op + ": needs a 4-d [N,C,H,W] or 3-d [C,H,W] input, got shape "
                        + Arrays.toString(x.shape));
            }
            int h = x.shape[rank - 2];
            int w = x.shape[rank - 1];
            int planes = x.numel() / Math.max(1, h * w);
            if (h == 0 || w == 0 || x.numel() == 0) {
                throw new ShapeException(op + ": every dimension must be non-zero, got shape "
                        + Arrays.toString(x.shape));
            }
            return new Geometry(planes, h, w);
        }

        int[] outputShape(Tensor x, int oh, int ow) {
            int[] s = x.shape.clone();
            s[s.length - 2] = oh;
            s[s.length - 1] = ow;
            return s;
        }
    }
}
