package dev.graft.kernels;

import static dev.graft.kernels.VectorMicroKernel.LANES;
import static dev.graft.kernels.VectorMicroKernel.SPECIES;

import java.util.Arrays;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;

/**
 * Unpacked Vector API loops for GEMMs with very few rows of A (a batch-1 linear layer is {@code m = 1}).
 *
 * <p>With one row there is nothing to amortize packing over: packing B would read and write all of B once just to
 * read it once more. These loops read B straight from the caller's array instead, which makes them bound by memory
 * bandwidth, as a matrix-vector product must be. Two layouts of B are served, one loop each:
 * <ul>
 *   <li>{@link #rowMajorB}: rows of B are contiguous ({@code bColStride == 1}); each row of C is built as
 *       a sum of scaled rows of B ({@code axpy}), so B is read strictly front to back.</li>
 *   <li>{@link #columnMajorB}: columns of B and rows of A are contiguous ({@code bRowStride == 1},
 *       {@code aColStride == 1}), the layout of a {@code [out][in]} weight matrix; each {@code C[i][j]} is a dot
 *       product, four columns at a time so every load of A is used four times.</li>
 * </ul>
 */
final class VectorSkinnyGemm {

    /** Columns of C built at a time by {@link #rowMajorB}: 16 KiB, comfortably inside L1 next to the B stream. */
    private static final int ROW_CHUNK = 4096;

    private VectorSkinnyGemm() {
    }

    /** {@code C (+)= A x B} for {@code bColStride == 1}. Arguments as in {@link FloatGemm#gemm}. */
    static void rowMajorB(int m, int n, int k,
                          float[] a, int aOff, int aRowStride, int aColStride,
                          float[] b, int bOff, int bRowStride,
                          float[] c, int cOff, int ldc, boolean accumulate) {
        for (int i = 0; i < m; i++) {
            int aRow = aOff + i * aRowStride;
            for (int j0 = 0; j0 < n; j0 += ROW_CHUNK) {
                int width = Math.min(ROW_CHUNK, n - j0);
                int cStart = cOff + i * ldc + j0;
                if (!accumulate) {
                    Arrays.fill(c, cStart, cStart + width, 0f);
                }
                // p outside, columns inside: B is read row after row, front to back, which the hardware prefetcher
                // streams at full bandwidth; the chunk of C being built stays in L1 meanwhile.
                for (int p = 0; p < k; p++) {
                    axpy(width, a[aRow + p * aColStride], b, bOff + p * bRowStride + j0, c, cStart);
                }
            }
        }
    }

    /** {@code C (+)= A x B} for {@code bRowStride == 1} and {@code aColStride == 1}. Arguments as in {@link FloatGemm#gemm}. */
    static void columnMajorB(int m, int n, int k,
                             float[] a, int aOff, int aRowStride,
                             float[] b, int bOff, int bColStride,
                             float[] c, int cOff, int ldc, boolean accumulate) {
        for (int i = 0; i < m; i++) {
            int aRow = aOff + i * aRowStride;
            int cRow = cOff + i * ldc;
            int j = 0;
            for (; j + 4 <= n; j += 4) {
                fourDots(k, a, aRow, b, bOff + j * bColStride, bColStride, c, cRow + j, accumulate);
            }
            for (; j < n; j++) {
                float dot = dot(k, a, aRow, b, bOff + j * bColStride);
                c[cRow + j] = accumulate ? c[cRow + j] + dot : dot;
            }
        }
    }

    /** {@code c[ci .. ci+width) += alpha * b[bi .. bi+width)}, one fused multiply-add per element. */
    private static void axpy(int width, float alpha, float[] b, int bi, float[] c, int ci) {
        FloatVector av = FloatVector.broadcast(SPECIES, alpha);
        int j = 0;
        for (int bound = SPECIES.loopBound(width); j < bound; j += LANES) {
            FloatVector cv = FloatVector.fromArray(SPECIES, c, ci + j);
            av.fma(FloatVector.fromArray(SPECIES, b, bi + j), cv).intoArray(c, ci + j);
        }
        if (j < width) {
            VectorMask<Float> tail = SPECIES.indexInRange(j, width);
            FloatVector cv = FloatVector.fromArray(SPECIES, c, ci + j, tail);
            av.fma(FloatVector.fromArray(SPECIES, b, bi + j, tail), cv).intoArray(c, ci + j, tail);
        }
    }

    /** Dot products of one row of A with four consecutive columns of B, {@code bStep} apart. */
    private static void fourDots(int k, float[] a, int ai, float[] b, int bi, int bStep,
                                 float[] c, int ci, boolean accumulate) {
        FloatVector s0 = FloatVector.zero(SPECIES), s1 = s0, s2 = s0, s3 = s0;
        int p = 0;
        for (int bound = SPECIES.loopBound(k); p < bound; p += LANES) {
            FloatVector ap = FloatVector.fromArray(SPECIES, a, ai + p);
            s0 = ap.fma(FloatVector.fromArray(SPECIES, b, bi + p), s0);
            s1 = ap.fma(FloatVector.fromArray(SPECIES, b, bi + bStep + p), s1);
            s2 = ap.fma(FloatVector.fromArray(SPECIES, b, bi + 2 * bStep + p), s2);
            s3 = ap.fma(FloatVector.fromArray(SPECIES, b, bi + 3 * bStep + p), s3);
        }
        float d0 = FloatLanes.sum(s0);
        float d1 = FloatLanes.sum(s1);
        float d2 = FloatLanes.sum(s2);
        float d3 = FloatLanes.sum(s3);
        for (; p < k; p++) { // fewer than LANES terms left
            float ap = a[ai + p];
            d0 = Math.fma(ap, b[bi + p], d0);
            d1 = Math.fma(ap, b[bi + bStep + p], d1);
            d2 = Math.fma(ap, b[bi + 2 * bStep + p], d2);
            d3 = Math.fma(ap, b[bi + 3 * bStep + p], d3);
        }
        c[ci] = accumulate ? c[ci] + d0 : d0;
        c[ci + 1] = accumulate ? c[ci + 1] + d1 : d1;
        c[ci + 2] = accumulate ? c[ci + 2] + d2 : d2;
        c[ci + 3] = accumulate ? c[ci + 3] + d3 : d3;
    }

    private static float dot(int k, float[] a, int ai, float[] b, int bi) {
        FloatVector s = FloatVector.zero(SPECIES);
        int p = 0;
        for (int bound = SPECIES.loopBound(k); p < bound; p += LANES) {
            s = FloatVector.fromArray(SPECIES, a, ai + p).fma(FloatVector.fromArray(SPECIES, b, bi + p), s);
        }
        float d = FloatLanes.sum(s);
        for (; p < k; p++) {
            d = Math.fma(a[ai + p], b[bi + p], d);
        }
        return d;
    }
}
