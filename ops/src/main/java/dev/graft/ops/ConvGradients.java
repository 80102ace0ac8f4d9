package dev.graft.ops;

import dev.graft.kernels.FloatGemm;
import dev.graft.kernels.Parallel;

import java.util.Arrays;

/**
 * conv2d's backward rule through im2col and the GEMM: per image and group, with {@code cols = im2col(x)}
 * ({@code K = c/groups*kh*kw} rows, one column per output pixel),
 * <pre>
 *   dW += dY x cols^T        (opg x K, transposed operand by strides, no copy)
 *   dX  = col2im(W^T x dY)   (K x pixels, scattered back onto the padded input)
 *   db += row sums of dY
 * </pre>
 * Images are split into a fixed number of chunks (independent of the thread count) that run on the shared
 * {@link Parallel} pool; each chunk accumulates its own partial dW and db, which are then added in chunk order, so
 * results are bit-identical for any number of threads.
 */
final class ConvGradients {
    /** Fixed, so the summation order of the weight gradient never depends on the pool size. */
    private static final int CHUNKS = 8;

    private ConvGradients() {
    }

    record Geometry(int n, int c, int h, int w, int oc, int kh, int kw, int sh, int sw, int ph, int pw, int dh,
                    int dw, int groups, int oh, int ow) {
        int cpg() {
            return c / groups;
        }

        int opg() {
            return oc / groups;
        }

        int kSize() {
            return cpg() * kh * kw;
        }

        int plane() {
            return oh * ow;
        }
    }

    static Object[] backward(Tensor x, Tensor weight, Tensor bias, int[] stride, int[] padding, int[] dilation,
                             int groups, Tensor gradOut, boolean[] need) {
        Geometry s = new Geometry(x.shape[0], x.shape[1], x.shape[2], x.shape[3], weight.shape[0], weight.shape[2],
                weight.shape[3], stride[0], stride[1], padding[0], padding[1], dilation[0], dilation[1], groups,
                gradOut.shape[2], gradOut.shape[3]);
        boolean wantX = need[0];
        boolean wantW = need[1];
        boolean wantB = bias != null && need[2];
        float[] xs = Gradients.dense(x);
        float[] ws = Gradients.dense(weight);
        float[] gs = Gradients.dense(gradOut);
        float[] gx = wantX ? new float[xs.length] : null;
        int chunks = Math.min(CHUNKS, s.n);
        float[][] gwParts = new float[chunks][];
        double[][] gbParts = new double[chunks][];
        FloatGemm gemm = LinalgOps.gemm();
        int per = (s.n + chunks - 1) / chunks;
        int kSize = s.kSize();
        int plane = s.plane();
        int opg = s.opg();
        int cpg = s.cpg();
        // W^T per group ([kSize][opg], row-major), transposed once here rather than packed from strides per image.
        float[] wt = wantX ? transposeGroups(ws, s.groups, opg, kSize) : null;
        Parallel.shared().forEach(chunks, chunk -> {
            int from = chunk * per;
            int to = Math.min(s.n, from + per);
            // Two buffers: im2col's keeps the zeros of the padding from the first image on (no refill per image).
            float[] cols = wantW ? new float[kSize * plane] : null;
            float[] colsX = wantX ? new float[kSize * plane] : null;
            float[] gw = wantW ? new float[ws.length] : null;
            double[] gb = wantB ? new double[s.oc] : null;
            for (int img = from; img < to; img++) {
                for (int g = 0; g < s.groups; g++) {
                    int gOff = (img * s.oc + g * opg) * plane;
                    int xOff = (img * s.c + g * cpg) * s.h * s.w;
                    int wOff = g * opg * kSize;
                    if (wantW) {
                        im2col(s, xs, xOff, cols);
                        // B[p][j] = cols[j][p]: row stride 1, column stride plane
                        gemm.gemm(opg, kSize, plane, gs, gOff, plane, 1, cols, 0, 1, plane, gw, wOff, kSize, true);
                    }
                    if (wantX) {
                        // A = W^T, row-major
                        gemm.gemm(kSize, plane, opg, wt, wOff, opg, 1, gs, gOff, plane, 1, colsX, 0, plane, false);
                        col2im(s, colsX, gx, xOff);
                    }
                    if (wantB) {
                        for (int o = 0; o < opg; o++) {
                            double sum = 0;
                            int base = gOff + o * plane;
                            for (int p = 0; p < plane; p++) {
                                sum += gs[base + p];
                            }
                            gb[g * opg + o] += sum;
                        }
                    }
                }
            }
            gwParts[chunk] = gw;
            gbParts[chunk] = gb;
        });
        Tensor gxT = wantX ? Gradients.fresh(gx, x.shape.clone()) : null;
        Tensor gwT = null;
        Tensor gbT = null;
        if (wantW) {
            float[] sum = new float[ws.length];
            for (int k = 0; k < chunks; k++) {
                if (gwParts[k] != null) {
                    for (int i = 0; i < sum.length; i++) {
                        sum[i] += gwParts[k][i];
                    }
                }
            }
            gwT = Gradients.fresh(sum, weight.shape.clone());
        }
        if (wantB) {
            double[] sum = new double[s.oc];
            for (int k = 0; k < chunks; k++) {
                if (gbParts[k] != null) {
                    for (int i = 0; i < sum.length; i++) {
                        sum[i] += gbParts[k][i];
                    }
                }
            }
            gbT = Gradients.fresh(Gradients.toFloats(sum), bias.shape.clone());
        }
        return new Object[] {gxT, gwT, gbT, null, null, null, null};
    }

    /**
     * conv2d forward with the images spread over the shared pool in fixed chunks (each image is the same
     * bias-then-accumulate GEMM as {@link dev.graft.kernels.Conv2dKernels}'s path, run single-threaded inside its
     * task), for batches large enough that one image's GEMM is too small to split well.
     */
    static void forward(Geometry s, float[] x, float[] weight, float[] bias, float[] out) {
        FloatGemm gemm = LinalgOps.gemm();
        int chunks = Math.min(CHUNKS, s.n);
        int per = (s.n + chunks - 1) / chunks;
        int kSize = s.kSize();
        int plane = s.plane();
        int opg = s.opg();
        int cpg = s.cpg();
        Parallel.shared().forEach(chunks, chunk -> {
            float[] cols = new float[kSize * plane];
            for (int img = chunk * per; img < Math.min(s.n, (chunk + 1) * per); img++) {
                for (int g = 0; g < s.groups; g++) {
                    int outBase = (img * s.oc + g * opg) * plane;
                    if (bias != null) {
                        for (int o = 0; o < opg; o++) {
                            Arrays.fill(out, outBase + o * plane, outBase + (o + 1) * plane, bias[g * opg + o]);
                        }
                    }
                    im2col(s, x, (img * s.c + g * cpg) * s.h * s.w, cols);
                    gemm.gemm(opg, plane, kSize, weight, g * opg * kSize, kSize, 1, cols, 0, plane, 1,
                            out, outBase, plane, bias != null);
                }
            }
        });
    }

    /** {@code W[g*opg + o][k]} -> {@code out[g*opg*kSize + k*opg + o]}: each group's block transposed. */
    private static float[] transposeGroups(float[] w, int groups, int opg, int kSize) {
        float[] out = new float[w.length];
        for (int g = 0; g < groups; g++) {
            int base = g * opg * kSize;
            for (int o = 0; o < opg; o++) {
                for (int k = 0; k < kSize; k++) {
                    out[base + k * opg + o] = w[base + o * kSize + k];
                }
            }
        }
        return out;
    }

    /**
     * {@code cols[(ci*kh + ky)*kw + kx][oy*ow + ox] = x[ci][iy][ix]}, zero outside the input. The entries outside the
     * input are not written: {@code cols} must hold zeros there, as a fresh array that only ever receives im2col
     * output of this geometry does (so a chunk's images reuse one buffer without refilling the padding).
     */
    static void im2col(Geometry s, float[] x, int xOff, float[] cols) {
        int plane = s.oh * s.ow;
        int ow = s.ow;
        for (int ci = 0; ci < s.c / s.groups; ci++) {
            int xPlane = xOff + ci * s.h * s.w;
            for (int ky = 0; ky < s.kh; ky++) {
                for (int kx = 0; kx < s.kw; kx++) {
                    int row = ((ci * s.kh + ky) * s.kw + kx) * plane;
                    int shiftX = kx * s.dw - s.pw;
                    int lo = firstInside(shiftX, s.sw, ow);
                    int hi = Math.max(lo, endInside(shiftX, s.sw, s.w, ow));
                    for (int oy = 0; oy < s.oh; oy++) {
                        int iy = oy * s.sh - s.ph + ky * s.dh;
                        int d = row + oy * ow;
                        if (iy < 0 || iy >= s.h) {
                            continue;
                        }
                        int src = xPlane + iy * s.w + shiftX;
                        if (s.sw == 1) {
                            if (hi > lo) {
                                System.arraycopy(x, src + lo, cols, d + lo, hi - lo);
                            }
                        } else {
                            for (int ox = lo; ox < hi; ox++) {
                                cols[d + ox] = x[src + ox * s.sw];
                            }
                        }
                    }
                }
            }
        }
    }

    /** Adds each column entry back onto the input pixel it was read from (the adjoint of {@link #im2col}). */
    static void col2im(Geometry s, float[] cols, float[] gx, int xOff) {
        int plane = s.oh * s.ow;
        int ow = s.ow;
        for (int ci = 0; ci < s.c / s.groups; ci++) {
            int xPlane = xOff + ci * s.h * s.w;
            for (int ky = 0; ky < s.kh; ky++) {
                for (int kx = 0; kx < s.kw; kx++) {
                    int row = ((ci * s.kh + ky) * s.kw + kx) * plane;
                    int shiftX = kx * s.dw - s.pw;
                    int lo = firstInside(shiftX, s.sw, ow);
                    int hi = Math.max(lo, endInside(shiftX, s.sw, s.w, ow));
                    for (int oy = 0; oy < s.oh; oy++) {
                        int iy = oy * s.sh - s.ph + ky * s.dh;
                        if (iy < 0 || iy >= s.h) {
                            continue;
                        }
                        int d = row + oy * ow;
                        int dst = xPlane + iy * s.w + shiftX;
                        if (s.sw == 1) {
                            // unit stride: a plain vectorizable add of one row (same sums, same order)
                            for (int ox = lo; ox < hi; ox++) {
                                gx[dst + ox] += cols[d + ox];
                            }
                        } else {
                            for (int ox = lo; ox < hi; ox++) {
                                gx[dst + ox * s.sw] += cols[d + ox];
                            }
                        }
                    }
                }
            }
        }
    }

    /** Smallest {@code o >= 0} with {@code o*stride + shift >= 0}, capped at {@code count}. */
    private static int firstInside(int shift, int stride, int count) {
        return Math.min(count, shift >= 0 ? 0 : (-shift + stride - 1) / stride);
    }

    /** Smallest {@code o} with {@code o*stride + shift >= size}, capped at {@code count}. */
    private static int endInside(int shift, int stride, int size, int count) {
        int room = size - shift;
        return room <= 0 ? 0 : Math.min(count, (room + stride - 1) / stride);
    }
}
