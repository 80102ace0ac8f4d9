package dev.graft.kernels;

import java.util.Objects;

/**
 * Quantized 2-D convolution over NCHW u8 activations (PyTorch {@code quantized::conv2d} / {@code conv2d_relu} with
 * the fbgemm engine): any stride, padding, dilation and groups; output requantized to u8.
 *
 * <p>Two paths:
 * <ul>
 *   <li>depthwise ({@code groups == c == oc}): a direct kernel ({@link #depthwise}), each output plane from one input
 *       plane and a handful of taps;</li>
 *   <li>everything else: per image and group, im2row lays each output pixel's receptive field out as one row of a
 *       {@code (oh*ow) x (c/groups*kh*kw)} u8 matrix (padding filled with the activations' zero point, which is real
 *       zero), and the {@link Int8Gemm} multiplies it by the group's packed weights, requantizing straight into the
 *       NCHW output through a strided destination.</li>
 * </ul>
 *
 * <p>fbgemm compatibility: for the depthwise shapes fbgemm sends to its specialised kernel (see
 * {@link #fbgemmDepthwisePath}), that kernel sums pairs of taps {@code x[t]*w[t] + x[t+1]*w[t+1]} in int16 with
 * saturation ({@code vpmaddubsw}) before widening, so an output whose pair sums exceed {@code [-32768, 32767]}
 * differs from the exact convolution. Golden case k_20 shows it (6 of 200 outputs). This class reproduces it on those
 * shapes and is exact everywhere else.
 */
public final class Int8Conv2d {

    private Int8Conv2d() {
    }

    /** Quantized activation tensor description: u8 values with one scale and zero point. */
    public record Activation(byte[] data, int n, int c, int h, int w, float scale, int zeroPoint) {
        public Activation {
            Objects.requireNonNull(data, "data");
            if ((long) n * c * h * w > data.length) {
                throw new IllegalArgumentException("Int8Conv2d: input [" + n + "," + c + "," + h + "," + w
                        + "] needs more than the " + data.length + " bytes given");
            }
        }
    }

    /** Stride, padding and dilation. */
    public record Geometry(int strideH, int strideW, int padH, int padW, int dilH, int dilW) {
        public Geometry {
            if (strideH < 1 || strideW < 1 || dilH < 1 || dilW < 1 || padH < 0 || padW < 0) {
                throw new IllegalArgumentException("Int8Conv2d: stride and dilation must be >= 1 and padding"
                        + " >= 0, got " + this);
            }
        }

        /** Same stride, padding and dilation on both axes. */
        public static Geometry of(int stride, int pad, int dil) {
            return new Geometry(stride, stride, pad, pad, dil, dil);
        }
    }

    /** Output requantization: scale, zero point, fused ReLU. */
    public record Requant(float scale, int zeroPoint, boolean relu) {
    }

    /**
     * {@code out = requant(conv(x, w) + bias)}, NCHW, {@code out} at least {@code n*oc*oh*ow} bytes.
     * {@code bias} ({@code oc} floats) may be null.
     */
    public static void conv2d(Activation x, PackedConvWeights w, float[] bias, Geometry geo, Requant rq,
                              byte[] out, Int8Gemm gemm) {
        Objects.requireNonNull(out, "out");
        Objects.requireNonNull(gemm, "gemm");
        if (x.c() != w.cpg * w.groups) {
            throw new IllegalArgumentException("Int8Conv2d: input has " + x.c() + " channels, weights expect "
                    + w.cpg * w.groups);
        }
        int oh = Conv2dKernels.outputSize(x.h(), w.kh, geo.strideH(), geo.padH(), geo.dilH());
        int ow = Conv2dKernels.outputSize(x.w(), w.kw, geo.strideW(), geo.padW(), geo.dilW());
        if (oh < 1 || ow < 1) {
            throw new IllegalArgumentException("Int8Conv2d: output would be " + oh + "x" + ow);
        }
        if ((long) x.n() * w.oc * oh * ow > out.length) {
            throw new IllegalArgumentException("Int8Conv2d: out has " + out.length + " bytes, needs "
                    + (long) x.n() * w.oc * oh * ow);
        }
        if (bias != null && bias.length < w.oc) {
            throw new IllegalArgumentException("Int8Conv2d: bias has " + bias.length + " values, needs " + w.oc);
        }
        if (w.depthwise()) {
            boolean saturate = fbgemmDepthwisePath(x.c(), w.oc, w.groups, w.kh, w.kw, geo);
            // The depthwise kernel runs on the same threads as the GEMM passed in (one thread for a one-thread GEMM).
            Parallel pool = switch (gemm) {
                case VectorInt8Gemm vector -> vector.pool();
                case JitInt8Gemm jit -> jit.pool();
                default -> Parallel.shared();
            };
            depthwise(x, w, bias, geo, rq, out, oh, ow, saturate, pool);
        } else {
            im2rowGemm(x, w, bias, geo, rq, out, oh, ow, gemm);
        }
    }

    /**
     * True when fbgemm (PyTorch 1.13) runs this convolution through its depthwise kernel, whose int16 pair
     * saturation this class then reproduces: {@code groups == c == oc}, {@code groups % 8 == 0}, square 3x3 or 5x5
     * kernel, strides 1 or 2, dilation 1, and "same" padding {@code (k-1)/2} on both sides.
     */
    public static boolean fbgemmDepthwisePath(int c, int oc, int groups, int kh, int kw, Geometry geo) {
        return groups == c && oc == groups && groups % 8 == 0 && kh == kw && (kh == 3 || kh == 5)
                && (geo.strideH() == 1 || geo.strideH() == 2) && (geo.strideW() == 1 || geo.strideW() == 2)
                && geo.dilH() == 1 && geo.dilW() == 1 && geo.padH() == (kh - 1) / 2 && geo.padW() == (kw - 1) / 2;
    }

    /**
     * Depthwise convolution, with ({@code saturate}) or without fbgemm's int16 pair saturation. Uses the vector
     * kernel when available, else {@link #depthwiseReference}.
     */
    static void depthwise(Activation x, PackedConvWeights w, float[] bias, Geometry geo, Requant rq, byte[] out,
                          int oh, int ow, boolean saturate, Parallel pool) {
        if (Kernels.vectorKernels() && w.kh * w.kw <= 512) {
            VectorInt8Depthwise.run(x, w, bias, geo, rq, out, oh, ow, saturate, pool);
        } else {
            depthwiseReference(x, w, bias, geo, rq, out, oh, ow, saturate);
        }
    }

    /** The scalar reference of {@link #depthwise}: taps in {@code ky*kw + kx} order, paired {@code (0,1), (2,3)...}. */
    static void depthwiseReference(Activation x, PackedConvWeights w, float[] bias, Geometry geo, Requant rq,
                                   byte[] out, int oh, int ow, boolean saturate) {
        int taps = w.kh * w.kw;
        int zx = x.zeroPoint();
        for (int img = 0; img < x.n(); img++) {
            for (int ch = 0; ch < x.c(); ch++) {
                float atw = x.scale() * w.scales[ch];
                float mult = atw / rq.scale();
                float biasTerm = bias == null ? 0f : bias[ch] / atw;
                int zw = w.zeroPoints[ch];
                int plane = (img * x.c() + ch) * x.h() * x.w();
                int outPlane = (img * w.oc + ch) * oh * ow;
                for (int oy = 0; oy < oh; oy++) {
                    for (int ox = 0; ox < ow; ox++) {
                        int sum = 0;
                        int sumX = 0;
                        for (int t = 0; t < taps; t += 2) {
                            int x0 = tap(x, plane, geo, oy, ox, t / w.kw, t % w.kw);
                            int pair = x0 * w.taps[ch * taps + t];
                            sumX += x0;
                            if (t + 1 < taps) {
                                int x1 = tap(x, plane, geo, oy, ox, (t + 1) / w.kw, (t + 1) % w.kw);
                                pair += x1 * w.taps[ch * taps + t + 1];
                                sumX += x1;
                            }
                            if (saturate) {
                                pair = Math.max(-32768, Math.min(32767, pair));
                            }
                            sum += pair;
                        }
                        int acc = sum - zx * w.tapSums[ch] - zw * sumX + taps * zx * zw;
                        out[outPlane + oy * ow + ox] = (byte) PreparedOutput.requantize(acc, biasTerm, mult,
                                rq.zeroPoint(), rq.relu() ? rq.zeroPoint() : 0);
                    }
                }
            }
        }
    }

    /** The input value under tap {@code (ky, kx)} of output {@code (oy, ox)}; the zero point in the padding. */
    private static int tap(Activation x, int plane, Geometry geo, int oy, int ox, int ky, int kx) {
        int iy = oy * geo.strideH() - geo.padH() + ky * geo.dilH();
        int ix = ox * geo.strideW() - geo.padW() + kx * geo.dilW();
        if (iy < 0 || iy >= x.h() || ix < 0 || ix >= x.w()) {
            return x.zeroPoint();
        }
        return x.data()[plane + iy * x.w() + ix] & 0xFF;
    }

    private static void im2rowGemm(Activation x, PackedConvWeights w, float[] bias, Geometry geo, Requant rq,
                                   byte[] out, int oh, int ow, Int8Gemm gemm) {
        byte[] rows = ByteScratch.take(Math.multiplyExact(oh * ow, w.cpg * w.kh * w.kw));
        try {
            im2rowGemm(x, w, bias, rq, out, geo, oh, ow, gemm, rows);
        } finally {
            ByteScratch.give(rows);
        }
    }

    private static void im2rowGemm(Activation x, PackedConvWeights w, float[] bias, Requant rq, byte[] out,
                                   Geometry geo, int oh, int ow, Int8Gemm gemm, byte[] rows) {
        int k = w.cpg * w.kh * w.kw;
        int pixels = oh * ow;
        int opg = w.oc / w.groups;
        for (int img = 0; img < x.n(); img++) {
            for (int g = 0; g < w.groups; g++) {
                int outBase = (img * w.oc + g * opg) * pixels;
                Int8Output output = new Int8Output.Requantize(x.scale(), bias, g * opg, rq.scale(), rq.zeroPoint(),
                        rq.relu(), out, outBase, 1, pixels);
                if (gemm instanceof VectorInt8Gemm vector) {
                    // im2col (k rows of pixels) is built from contiguous runs; the vector GEMM packs it directly.
                    im2col(x, img, g * w.cpg, w, geo, oh, ow, rows);
                    vector.gemmTransposedA(pixels, rows, 0, pixels, x.zeroPoint(), w.perGroup[g], output);
                } else if (gemm instanceof JitInt8Gemm jit) {
                    // The same im2col; the generated kernel writes the NCHW planes directly (channels as rows).
                    im2col(x, img, g * w.cpg, w, geo, oh, ow, rows);
                    jit.gemmTransposedA(pixels, rows, 0, pixels, x.zeroPoint(), w.perGroup[g], output);
                } else {
                    im2row(x, img, g * w.cpg, w, geo, oh, ow, rows);
                    gemm.gemm(pixels, rows, 0, k, x.zeroPoint(), w.perGroup[g], output);
                }
            }
        }
    }

    /**
     * {@code cols[((ci*kh + ky)*kw + kx)*oh*ow + oy*ow + ox] = x[img][c0+ci][iy][ix]}, or the zero point outside the
     * input: the transpose of {@link #im2row}. With stride 1 each output row is one contiguous copy of an input row
     * plus the padding on either side. Every element is written.
     */
    static void im2col(Activation x, int img, int c0, PackedConvWeights w, Geometry geo, int oh, int ow,
                       byte[] cols) {
        byte zp = (byte) x.zeroPoint();
        byte[] src = x.data();
        int pixels = oh * ow;
        int sw = geo.strideW();
        for (int ci = 0; ci < w.cpg; ci++) {
            int plane = ((img * x.c()) + c0 + ci) * x.h() * x.w();
            for (int ky = 0; ky < w.kh; ky++) {
                for (int kx = 0; kx < w.kw; kx++) {
                    int d0 = ((ci * w.kh + ky) * w.kw + kx) * pixels;
                    int dx = kx * geo.dilW() - geo.padW(); // ix = ox*sw + dx
                    // Outputs [lo, hi) read inside the row: ox*sw + dx in [0, x.w()).
                    int lo = Math.min(ow, Math.max(0, ceilDiv(-dx, sw)));
                    int hi = Math.max(lo, Math.min(ow, ceilDiv(x.w() - dx, sw)));
                    for (int oy = 0; oy < oh; oy++) {
                        int d = d0 + oy * ow;
                        int iy = oy * geo.strideH() - geo.padH() + ky * geo.dilH();
                        if (iy < 0 || iy >= x.h()) {
                            java.util.Arrays.fill(cols, d, d + ow, zp);
                            continue;
                        }
                        int rowBase = plane + iy * x.w() + dx;
                        java.util.Arrays.fill(cols, d, d + lo, zp);
                        if (sw == 1) {
                            System.arraycopy(src, rowBase + lo, cols, d + lo, hi - lo);
                        } else {
                            for (int ox = lo; ox < hi; ox++) {
                                cols[d + ox] = src[rowBase + ox * sw];
                            }
                        }
                        java.util.Arrays.fill(cols, d + hi, d + ow, zp);
                    }
                }
            }
        }
    }

    /** {@code ceil(a / b)} for {@code b > 0} and any sign of {@code a}. */
    private static int ceilDiv(int a, int b) {
        return Math.floorDiv(a + b - 1, b);
    }

    /**
     * {@code rows[(oy*ow + ox)*k + (ci*kh + ky)*kw + kx] = x[img][c0+ci][iy][ix]}, or the zero point outside the
     * input. Every element is written.
     */
    static void im2row(Activation x, int img, int c0, PackedConvWeights w, Geometry geo, int oh, int ow,
                       byte[] rows) {
        int k = w.cpg * w.kh * w.kw;
        byte zp = (byte) x.zeroPoint();
        byte[] src = x.data();
        for (int oy = 0; oy < oh; oy++) {
            for (int ox = 0; ox < ow; ox++) {
                int d = (oy * ow + ox) * k;
                int ix0 = ox * geo.strideW() - geo.padW();
                for (int ci = 0; ci < w.cpg; ci++) {
                    int plane = ((img * x.c()) + c0 + ci) * x.h() * x.w();
                    for (int ky = 0; ky < w.kh; ky++) {
                        int iy = oy * geo.strideH() - geo.padH() + ky * geo.dilH();
                        if (iy < 0 || iy >= x.h()) {
                            java.util.Arrays.fill(rows, d, d + w.kw, zp);
                            d += w.kw;
                            continue;
                        }
                        int rowBase = plane + iy * x.w();
                        for (int kx = 0; kx < w.kw; kx++, d++) {
                            int ix = ix0 + kx * geo.dilW();
                            rows[d] = ix < 0 || ix >= x.w() ? zp : src[rowBase + ix];
                        }
                    }
                }
            }
        }
    }
}
