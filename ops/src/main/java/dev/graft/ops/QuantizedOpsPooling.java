package dev.graft.ops;

import dev.graft.kernels.QuantizedPooling;

import java.util.Arrays;

/**
 * The quint8 average pooling operators' checks and output sizes ({@link QuantizedOps#AVG_POOL2D},
 * {@link QuantizedOps#ADAPTIVE_AVG_POOL2D}); the arithmetic (ATen's) is the kernels' {@link QuantizedPooling}.
 * Windows and divisors follow {@link NNPoolOps#AVG_POOL2D} / {@link NNPoolOps#ADAPTIVE_AVG_POOL2D}.
 */
final class QuantizedOpsPooling {

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
        byte[] out = new byte[g.planes * oh * ow];
        QuantizedPooling.avgPool2d(QuantizedOps.bytesOf(x), g.planes, g.h, g.w, oh, ow, kernel, stride, pad,
                countIncludePad, q.zeroPoint(), out);
        return QuantizedOps.quint8(out, g.outputShape(x, oh, ow), q);
    }

    static Tensor adaptiveAvgPool(String op, Tensor x, QParams.PerTensor q, int[] sizeArg) {
        Geometry g = Geometry.of(op, x);
        int[] size = atLeast(op, "output_size", LinalgOps.pair(op, "output_size", sizeArg), 1);
        byte[] out = new byte[g.planes * size[0] * size[1]];
        QuantizedPooling.adaptiveAvgPool2d(QuantizedOps.bytesOf(x), g.planes, g.h, g.w, size[0], size[1],
                q.zeroPoint(), out);
        return QuantizedOps.quint8(out, g.outputShape(x, size[0], size[1]), q);
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
