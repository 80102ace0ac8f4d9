package dev.graft.kernels;

import java.util.Arrays;

/**
 * Copies blocks of A and B into the panel layouts the register-blocked micro-kernel streams through.
 *
 * <p>Why pack at all: the micro-kernel reads, for every {@code p}, {@code MR} consecutive values of A and
 * {@code NR} consecutive values of B. Whatever the caller's strides (row-major, transposed, a view), after packing
 * both reads are unit-stride and the whole {@code kc}-long panel is one contiguous run that the hardware
 * prefetcher follows. Packing costs one pass over each block and is amortized over the other dimension.
 *
 * <p>Layouts (a panel is {@code kc} steps of {@code width} floats):
 * <ul>
 *   <li>A block of {@code rows x kc}: panel {@code q} covers rows {@code q*mr ..}, and
 *       {@code dst[q*kc*mr + p*mr + r] = A[row0 + q*mr + r][p0 + p]}.</li>
 *   <li>B block of {@code kc x cols}: panel {@code q} covers columns {@code q*nr ..}, and
 *       {@code dst[q*kc*nr + p*nr + j] = B[p0 + p][col0 + q*nr + j]}.</li>
 * </ul>
 * The last panel is padded with zeros up to the full width, so the micro-kernel always computes a full tile and
 * the driver simply discards the padded rows and columns. This class uses no Vector API, so it stays usable (and
 * replaceable by an off-heap, 64-byte aligned variant) independently of the kernel.
 */
final class FloatPacking {

    private FloatPacking() {
    }

    /** Number of floats {@link #packA} writes for {@code rows} rows. */
    static int packedASize(int rows, int kc, int mr) {
        return ceilDiv(rows, mr) * mr * kc;
    }

    /** Number of floats {@link #packB} writes for {@code cols} columns. */
    static int packedBSize(int cols, int kc, int nr) {
        return ceilDiv(cols, nr) * nr * kc;
    }

    /** Packs {@code A[row0 .. row0+rows)[p0 .. p0+kc)} into {@code mr}-row panels (layout in the class doc). */
    static void packA(float[] a, int aOff, int rowStride, int colStride,
                      int row0, int rows, int p0, int kc, int mr, float[] dst) {
        for (int r0 = 0, base = 0; r0 < rows; r0 += mr, base += kc * mr) {
            int count = Math.min(mr, rows - r0);
            int src = aOff + (row0 + r0) * rowStride + p0 * colStride;
            if (count == mr && mr % 8 == 0 && colStride == 1) {
                // Row-major A, full panel: eight rows at a time, each read front to back.
                for (int r = 0; r < mr; r += 8) {
                    interleaveEight(a, src + r * rowStride, rowStride, kc, dst, base + r, mr);
                }
                continue;
            }
            for (int p = 0; p < kc; p++) {
                int s = src + p * colStride;
                int d = base + p * mr;
                for (int r = 0; r < count; r++) {
                    dst[d + r] = a[s + r * rowStride];
                }
                for (int r = count; r < mr; r++) {
                    dst[d + r] = 0f;
                }
            }
        }
    }

    /** Packs {@code B[p0 .. p0+kc)[col0 .. col0+cols)} into {@code nr}-column panels (layout in the class doc). */
    static void packB(float[] b, int bOff, int rowStride, int colStride,
                      int p0, int kc, int col0, int cols, int nr, float[] dst) {
        int full = cols / nr;        // panels with all nr columns present
        int rest = cols - full * nr; // columns in the last, zero-padded panel
        int panelSize = kc * nr;
        if (colStride == 1) {
            // Row-major B: read each source row once, front to back, dealing nr-wide pieces out to the panels.
            for (int p = 0; p < kc; p++) {
                int s = bOff + (p0 + p) * rowStride + col0;
                int d = p * nr;
                for (int q = 0; q < full; q++, s += nr, d += panelSize) {
                    System.arraycopy(b, s, dst, d, nr);
                }
                if (rest > 0) {
                    System.arraycopy(b, s, dst, d, rest);
                    Arrays.fill(dst, d + rest, d + nr, 0f);
                }
            }
            return;
        }
        // Transposed B (e.g. a [out][in] weight): read down each source column, write with stride nr.
        for (int j0 = 0, base = 0; j0 < cols; j0 += nr, base += panelSize) {
            int count = Math.min(nr, cols - j0);
            int src = bOff + p0 * rowStride + (col0 + j0) * colStride;
            int j = 0;
            if (rowStride == 1) {
                // Columns are contiguous: eight of them at a time, each read front to back.
                for (; j + 8 <= count; j += 8) {
                    interleaveEight(b, src + j * colStride, colStride, kc, dst, base + j, nr);
                }
            }
            for (; j < count; j++) {
                int s = src + j * colStride;
                for (int p = 0, d = base + j; p < kc; p++, d += nr) {
                    dst[d] = b[s + p * rowStride];
                }
            }
            for (int pad = count; pad < nr; pad++) {
                for (int p = 0, d = base + pad; p < kc; p++, d += nr) {
                    dst[d] = 0f;
                }
            }
        }
    }

    /**
     * {@code dst[d0 + p*dstStride + r] = src[s0 + r*streamStride + p]} for {@code r < 8, p < kc}: eight
     * contiguous source runs interleaved into a panel. This is the hot case of both packings (rows of a row-major A,
     * columns of a transposed B); unrolled by eight it reads eight sequential streams and writes one, several
     * times faster than the element-at-a-time general loop.
     */
    private static void interleaveEight(float[] src, int s0, int streamStride, int kc,
                                        float[] dst, int d0, int dstStride) {
        int s1 = s0 + streamStride, s2 = s1 + streamStride, s3 = s2 + streamStride;
        int s4 = s3 + streamStride, s5 = s4 + streamStride, s6 = s5 + streamStride, s7 = s6 + streamStride;
        for (int p = 0; p < kc; p++) {
            int d = d0 + p * dstStride;
            dst[d] = src[s0 + p];
            dst[d + 1] = src[s1 + p];
            dst[d + 2] = src[s2 + p];
            dst[d + 3] = src[s3 + p];
            dst[d + 4] = src[s4 + p];
            dst[d + 5] = src[s5 + p];
            dst[d + 6] = src[s6 + p];
            dst[d + 7] = src[s7 + p];
        }
    }

    static int ceilDiv(int x, int y) {
        return (x + y - 1) / y;
    }
}
