package dev.graft.kernels;

import java.util.Arrays;
import java.util.Objects;

/**
 * FP32 2-D convolution over NCHW arrays (PyTorch's {@code Conv2d} semantics: cross-correlation, zero padding,
 * dilation, groups).
 *
 * <p>Layouts: input {@code x[n][c][h][w]}, weight {@code [oc][c/groups][kh][kw]}, optional bias {@code [oc]},
 * output {@code out[n][oc][oh][ow]} with {@code oh}, {@code ow} from {@link #outputSize}. All arrays are read from
 * index 0; they may be longer than needed.
 *
 * <p>Three paths, all giving the same result up to rounding:
 * <ul>
 *   <li>{@link #conv2d}, general case: per image and group, im2col lays the receptive fields out as a
 *       {@code (c/groups*kh*kw) x (oh*ow)} matrix B and one GEMM multiplies the group's weights
 *       ({@code oc/groups x c/groups*kh*kw}, row-major already) by it, writing straight into the output planes.
 *       A 1x1, stride-1, unpadded convolution skips im2col: the input planes already are that matrix.</li>
 *   <li>{@link #conv2d}, depthwise ({@code groups == c == oc}): each output plane depends on one input plane and a
 *       handful of weights, far too little work per GEMM call, so it is computed directly, one weight at a time
 *       over a whole output row (a unit-stride loop the JIT vectorizes when {@code strideW == 1}).</li>
 *   <li>{@link #conv2dReference}: seven plain loops, the test oracle.</li>
 * </ul>
 * No class here touches the Vector API; speed comes from the {@link FloatGemm} passed in.
 */
public final class Conv2dKernels {

    private Conv2dKernels() {
    }

    /**
     * Output length along one axis: {@code floor((in + 2*pad - dil*(k-1) - 1) / stride) + 1}. Zero or negative
     * when the dilated kernel does not fit in the padded input.
     *
     * @throws IllegalArgumentException when {@code stride < 1}
     */
    public static int outputSize(int in, int k, int stride, int pad, int dil) {
        if (stride < 1) {
            throw new IllegalArgumentException("conv2d: stride must be >= 1, got " + stride);
        }
        long span = (long) in + 2L * pad - (long) dil * (k - 1) - 1;
        // floorDiv, not '/': a kernel larger than the input must give <= 0, not round up to 1.
        return Math.toIntExact(Math.floorDiv(span, stride) + 1);
    }

    /**
     * Convolution through im2col + {@code gemm}, or the direct depthwise loop when {@code groups == c == oc}.
     * Overwrites {@code out[0 .. n*oc*oh*ow)}.
     *
     * @throws IllegalArgumentException naming the offending sizes when shapes, strides, groups or array lengths
     *         are inconsistent or the output would be empty
     */
    public static void conv2d(float[] x, int n, int c, int h, int w, float[] weight, float[] bias,
                              int oc, int kh, int kw, int strideH, int strideW, int padH, int padW,
                              int dilH, int dilW, int groups, float[] out, FloatGemm gemm) {
        Objects.requireNonNull(gemm, "gemm");
        Shape s = Shape.validate("conv2d", x, n, c, h, w, weight, bias, oc, kh, kw,
                strideH, strideW, padH, padW, dilH, dilW, groups, out);
        if (groups == c && c == oc) {
            depthwise(s, x, weight, bias, out);
        } else {
            im2colGemm(s, x, weight, bias, out, gemm);
        }
    }

    /**
     * The plain-loop reference: for every output element, the sum over its receptive field in
     * {@code (ci, ky, kx)} order, accumulated in float, then plus the bias. Same arguments and checks as
     * {@link #conv2d}.
     */
    public static void conv2dReference(float[] x, int n, int c, int h, int w, float[] weight, float[] bias,
                                       int oc, int kh, int kw, int strideH, int strideW, int padH, int padW,
                                       int dilH, int dilW, int groups, float[] out) {
        Shape s = Shape.validate("conv2dReference", x, n, c, h, w, weight, bias, oc, kh, kw,
                strideH, strideW, padH, padW, dilH, dilW, groups, out);
        int cpg = c / groups;
        int opg = oc / groups;
        for (int img = 0; img < n; img++) {
            for (int o = 0; o < oc; o++) {
                int g = o / opg;
                for (int oy = 0; oy < s.oh; oy++) {
                    for (int ox = 0; ox < s.ow; ox++) {
                        float sum = 0f;
                        for (int ci = 0; ci < cpg; ci++) {
                            for (int ky = 0; ky < kh; ky++) {
                                int iy = oy * strideH - padH + ky * dilH;
                                for (int kx = 0; kx < kw; kx++) {
                                    int ix = ox * strideW - padW + kx * dilW;
                                    if (iy >= 0 && iy < h && ix >= 0 && ix < w) {
                                        float xv = x[((img * c + g * cpg + ci) * h + iy) * w + ix];
                                        float wv = weight[((o * cpg + ci) * kh + ky) * kw + kx];
                                        sum += xv * wv;
                                    }
                                }
                            }
                        }
                        if (bias != null) {
                            sum += bias[o];
                        }
                        out[((img * oc + o) * s.oh + oy) * s.ow + ox] = sum;
                    }
                }
            }
        }
    }

    private static void im2colGemm(Shape s, float[] x, float[] weight, float[] bias, float[] out, FloatGemm gemm) {
        int cpg = s.c / s.groups;
        int opg = s.oc / s.groups;
        int kSize = cpg * s.kh * s.kw;   // GEMM k: one row of B per (input channel, ky, kx)
        int plane = s.oh * s.ow;         // GEMM n: one column of B per output pixel
        boolean pointwise = s.kh == 1 && s.kw == 1 && s.strideH == 1 && s.strideW == 1
                && s.padH == 0 && s.padW == 0;
        float[] columns = pointwise ? null : new float[kSize * plane];
        for (int img = 0; img < s.n; img++) {
            for (int g = 0; g < s.groups; g++) {
                int outBase = (img * s.oc + g * opg) * plane;
                if (bias != null) {
                    // Start from the bias and let the GEMM accumulate: one pass over the output instead of two.
                    for (int o = 0; o < opg; o++) {
                        Arrays.fill(out, outBase + o * plane, outBase + (o + 1) * plane, bias[g * opg + o]);
                    }
                }
                int xBase = (img * s.c + g * cpg) * s.h * s.w;
                float[] bMatrix = x;
                int bOff = xBase; // pointwise: input planes [cpg][h*w] are B as they are
                if (!pointwise) {
                    im2col(s, x, xBase, cpg, columns);
                    bMatrix = columns;
                    bOff = 0;
                }
                gemm.gemm(opg, plane, kSize,
                        weight, g * opg * kSize, kSize, 1,
                        bMatrix, bOff, plane, 1,
                        out, outBase, plane, bias != null);
            }
        }
    }

    /**
     * Fills {@code columns[(ci*kh + ky)*kw + kx][oy*ow + ox]} with {@code x[ci][iy][ix]} (zero outside the input),
     * where {@code iy = oy*strideH - padH + ky*dilH} and {@code ix = ox*strideW - padW + kx*dilW}.
     * Every element is written, so the buffer can be reused without clearing.
     */
    private static void im2col(Shape s, float[] x, int xBase, int cpg, float[] columns) {
        int plane = s.oh * s.ow;
        for (int ci = 0; ci < cpg; ci++) {
            int xPlane = xBase + ci * s.h * s.w;
            for (int ky = 0; ky < s.kh; ky++) {
                for (int kx = 0; kx < s.kw; kx++) {
                    int rowStart = ((ci * s.kh + ky) * s.kw + kx) * plane;
                    int shiftX = kx * s.dilW - s.padW; // ix = ox*strideW + shiftX
                    // Output columns [oxLo, oxHi) read inside the input row; the rest are padding zeros.
                    int oxLo = Math.min(s.ow, firstInside(shiftX, s.strideW));
                    int oxHi = Math.max(oxLo, endInside(shiftX, s.strideW, s.w, s.ow));
                    for (int oy = 0; oy < s.oh; oy++) {
                        int d = rowStart + oy * s.ow;
                        int iy = oy * s.strideH - s.padH + ky * s.dilH;
                        if (iy < 0 || iy >= s.h) {
                            Arrays.fill(columns, d, d + s.ow, 0f);
                            continue;
                        }
                        Arrays.fill(columns, d, d + oxLo, 0f);
                        int src = xPlane + iy * s.w + shiftX;
                        if (s.strideW == 1) {
                            if (oxHi > oxLo) { // arraycopy rejects a negative source index even for length 0
                                System.arraycopy(x, src + oxLo, columns, d + oxLo, oxHi - oxLo);
                            }
                        } else {
                            for (int ox = oxLo; ox < oxHi; ox++) {
                                columns[d + ox] = x[src + ox * s.strideW];
                            }
                        }
                        Arrays.fill(columns, d + oxHi, d + s.ow, 0f);
                    }
                }
            }
        }
    }

    /** Direct depthwise convolution (one input channel per output channel, weight {@code [c][1][kh][kw]}). */
    private static void depthwise(Shape s, float[] x, float[] weight, float[] bias, float[] out) {
        int plane = s.oh * s.ow;
        for (int img = 0; img < s.n; img++) {
            for (int ch = 0; ch < s.c; ch++) {
                int xPlane = (img * s.c + ch) * s.h * s.w;
                int outPlane = (img * s.c + ch) * plane;
                int wBase = ch * s.kh * s.kw;
                float b = bias == null ? 0f : bias[ch];
                for (int oy = 0; oy < s.oh; oy++) {
                    int d = outPlane + oy * s.ow;
                    Arrays.fill(out, d, d + s.ow, b);
                    for (int ky = 0; ky < s.kh; ky++) {
                        int iy = oy * s.strideH - s.padH + ky * s.dilH;
                        if (iy >= 0 && iy < s.h) {
                            depthwiseRow(s, x, xPlane + iy * s.w, weight, wBase + ky * s.kw, out, d);
                        }
                    }
                }
            }
        }
    }

    /** {@code out[d + ox] += sum_kx weight[wRow + kx] * x[xRow + ox*strideW - padW + kx*dilW]} over valid ox. */
    private static void depthwiseRow(Shape s, float[] x, int xRow, float[] weight, int wRow, float[] out, int d) {
        for (int kx = 0; kx < s.kw; kx++) {
            float wv = weight[wRow + kx];
            int shiftX = kx * s.dilW - s.padW;
            int oxLo = firstInside(shiftX, s.strideW);
            int oxHi = endInside(shiftX, s.strideW, s.w, s.ow);
            int src = xRow + shiftX;
            if (s.strideW == 1) {
                for (int ox = oxLo; ox < oxHi; ox++) {
                    out[d + ox] += wv * x[src + ox];
                }
            } else {
                for (int ox = oxLo; ox < oxHi; ox++) {
                    out[d + ox] += wv * x[src + ox * s.strideW];
                }
            }
        }
    }

    /** Smallest {@code o >= 0} with {@code o*stride + shift >= 0}. */
    private static int firstInside(int shift, int stride) {
        return shift >= 0 ? 0 : (-shift + stride - 1) / stride;
    }

    /** Smallest {@code o} with {@code o*stride + shift >= size}, capped at {@code count} (exclusive end). */
    private static int endInside(int shift, int stride, int size, int count) {
        int room = size - shift;
        return room <= 0 ? 0 : Math.min(count, (room + stride - 1) / stride);
    }

    /** Validated convolution geometry; {@code oh}, {@code ow} derived. */
    private record Shape(int n, int c, int h, int w, int oc, int kh, int kw, int strideH, int strideW,
                         int padH, int padW, int dilH, int dilW, int groups, int oh, int ow) {

        private static final long MAX_ARRAY = Integer.MAX_VALUE - 8;

        static Shape validate(String kernel, float[] x, int n, int c, int h, int w, float[] weight, float[] bias,
                              int oc, int kh, int kw, int strideH, int strideW, int padH, int padW,
                              int dilH, int dilW, int groups, float[] out) {
            Objects.requireNonNull(x, "x");
            Objects.requireNonNull(weight, "weight");
            Objects.requireNonNull(out, "out");
            if (n < 1 || c < 1 || h < 1 || w < 1 || oc < 1 || kh < 1 || kw < 1) {
                throw fail(kernel, "sizes must be >= 1, got n=%d c=%d h=%d w=%d oc=%d kh=%d kw=%d",
                        n, c, h, w, oc, kh, kw);
            }
            if (strideH < 1 || strideW < 1 || dilH < 1 || dilW < 1 || padH < 0 || padW < 0) {
                throw fail(kernel, "stride and dilation must be >= 1 and padding >= 0, got stride=(%d,%d)"
                        + " dilation=(%d,%d) padding=(%d,%d)", strideH, strideW, dilH, dilW, padH, padW);
            }
            if (groups < 1 || c % groups != 0 || oc % groups != 0) {
                throw fail(kernel, "groups=%d must be >= 1 and divide both input channels c=%d and output"
                        + " channels oc=%d", groups, c, oc);
            }
            int oh = outputSize(h, kh, strideH, padH, dilH);
            int ow = outputSize(w, kw, strideW, padW, dilW);
            if (oh < 1 || ow < 1) {
                throw fail(kernel, "output would be %dx%d: input %dx%d with padding (%d,%d) is smaller than the"
                        + " dilated kernel %dx%d", oh, ow, h, w, padH, padW,
                        dilH * (kh - 1) + 1, dilW * (kw - 1) + 1);
            }
            requireLength(kernel, "x", x.length, (long) n * c * h * w, "n*c*h*w");
            requireLength(kernel, "weight", weight.length, (long) oc * (c / groups) * kh * kw,
                    "oc*(c/groups)*kh*kw");
            if (bias != null) {
                requireLength(kernel, "bias", bias.length, oc, "oc");
            }
            requireLength(kernel, "out", out.length, (long) n * oc * oh * ow, "n*oc*oh*ow");
            long columns = (long) (c / groups) * kh * kw * oh * ow;
            if (columns > MAX_ARRAY) {
                throw fail(kernel, "im2col buffer of (c/groups*kh*kw) x (oh*ow) = %d floats exceeds the largest"
                        + " Java array", columns);
            }
            return new Shape(n, c, h, w, oc, kh, kw, strideH, strideW, padH, padW, dilH, dilW, groups, oh, ow);
        }

        private static void requireLength(String kernel, String name, int length, long needed, String formula) {
            if (needed > MAX_ARRAY) {
                throw fail(kernel, "%s would need %s = %d elements, more than a Java array holds", name, formula,
                        needed);
            }
            if (length < needed) {
                throw fail(kernel, "%s has %d elements but needs %s = %d", name, length, formula, needed);
            }
        }

        private static IllegalArgumentException fail(String kernel, String format, Object... args) {
            return new IllegalArgumentException(kernel + ": " + String.format(format, args));
        }
    }
}
