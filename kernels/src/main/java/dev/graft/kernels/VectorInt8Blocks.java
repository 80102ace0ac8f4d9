package dev.graft.kernels;

import static dev.graft.kernels.VectorMicroKernel.LANES;
import static dev.graft.kernels.VectorMicroKernel.NR;
import static dev.graft.kernels.VectorMicroKernel.SPECIES;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Small Vector API pieces of {@link VectorInt8Gemm}, each kept short so C2 inlines its intrinsics.
 *
 * <p>Why float arithmetic is exact here: activations are centred, {@code |x - zx| <= 255}, and weights are the raw
 * s8 values, {@code |w| <= 128} (their zero points are applied afterwards in int32), so every product is at most
 * {@code 32,640} in magnitude, and a sum of at most {@link #EXACT_K} = 512 of them at most
 * {@code 16,711,680 < 2^24}. Every partial sum is then an integer that float32 represents exactly, so each fused
 * multiply-add is exact whatever the order. Sums over longer K are split into such blocks and the blocks added in
 * int32.
 */
final class VectorInt8Blocks {

    /** Longest K block whose float sums are provably exact (see the class comment). */
    static final int EXACT_K = 512;

    static final VectorSpecies<Integer> INTS = VectorSpecies.of(int.class, SPECIES.vectorShape());
    /** Bytes with one lane per float lane (128 bits for 512-bit floats), for widening loads. */
    static final VectorSpecies<Byte> BYTES = VectorSpecies.of(byte.class, VectorShape.forBitSize(LANES * 8));

    private VectorInt8Blocks() {
    }

    /** Bytes {@code src[s .. s+LANES)} sign-extended to float lanes. */
    static FloatVector widen(byte[] src, int s) {
        return (FloatVector) ByteVector.fromArray(BYTES, src, s).convertShape(VectorOperators.B2F, SPECIES, 0);
    }

    /**
     * Packs rows {@code [row0, row0+rows)} of u8 X, all {@code k} columns, centred, for
     * {@link VectorInt8MicroKernel}. Rows are cut into panels of {@link VectorInt8MicroKernel#panelRows} rows (12,
     * and 8 for a short last panel), K into blocks of {@code kc}. The block starting at {@code pc} begins at
     * {@code dst[pc * paddedRows]}; in it, the panel of height {@code h} starting at row {@code i} begins at
     * {@code i * kcCur} and holds {@code dst[.. + p*h + r] = X[row0 + i + r][pc + p] - zx}, padding rows 0
     * ({@code paddedRows} = {@link VectorInt8MicroKernel#paddedRows}). Also sets
     * {@code rowSums[r] = sum_p (X[row0 + r][p] - zx)}, which the weights' zero points need.
     *
     * @param row scratch of at least {@code MR * k} floats
     */
    static void packActivations(byte[] a, int aOff, int lda, int zx, int row0, int rows, int k, int kc,
                                float[] dst, int[] rowSums, float[] row) {
        int paddedRows = VectorInt8MicroKernel.paddedRows(rows);
        for (int i = 0; i < paddedRows; ) {
            int h = VectorInt8MicroKernel.panelRows(rows - i);
            // The panel's rows, centred one after another in `row` (h*k floats), then dealt out four at a time.
            for (int r = 0; r < h; r++) {
                if (i + r < rows) {
                    rowSums[i + r] = centre(a, aOff + (row0 + i + r) * lda, k, zx, row, r * k);
                } else {
                    java.util.Arrays.fill(row, r * k, (r + 1) * k, 0f);
                }
            }
            for (int pc = 0; pc < k; pc += kc) {
                int kcCur = Math.min(kc, k - pc);
                for (int r = 0; r < h; r += 4) { // h is 8 or 12
                    interleaveFour(row, r * k + pc, k, kcCur, dst, pc * paddedRows + i * kcCur + r, h);
                }
            }
            i += h;
        }
    }

    /** Floats {@link #packTransposedActivations} may write past the packed activations (one vector's spill). */
    static final int PACK_SLACK = LANES;

    /**
     * {@link #packActivations} for transposed activations, {@code X[i][p] = a[aOff + p*ldaT + i]}: the {@code h}
     * values of one panel at one {@code p} are then contiguous bytes, centred and converted as one vector. A full
     * vector is stored each time (the lanes past {@code h} land on the next slot, which is written afterwards:
     * blocks, panels and {@code p} are visited in storage order), so {@code dst} needs {@link #PACK_SLACK} spare
     * floats. Panels with padding rows, or too close to the end of {@code a} for a whole vector load, go element by
     * element.
     */
    static void packTransposedActivations(byte[] a, int aOff, int ldaT, int zx, int row0, int rows, int k, int kc,
                                          float[] dst, int[] rowSums) {
        int paddedRows = VectorInt8MicroKernel.paddedRows(rows);
        java.util.Arrays.fill(rowSums, 0, rows, 0);
        for (int pc = 0; pc < k; pc += kc) {
            int kcCur = Math.min(kc, k - pc);
            for (int i = 0; i < paddedRows; ) {
                int h = VectorInt8MicroKernel.panelRows(rows - i);
                int d = pc * paddedRows + i * kcCur;
                int src = aOff + pc * ldaT + row0 + i;
                boolean whole = i + h <= rows && src + (long) (kcCur - 1) * ldaT + LANES <= a.length;
                if (whole) {
                    IntVector sum = IntVector.zero(INTS);
                    for (int p = 0; p < kcCur; p++) {
                        IntVector v = ((IntVector) ByteVector.fromArray(BYTES, a, src + p * ldaT)
                                .convertShape(VectorOperators.B2I, INTS, 0)).and(0xFF).sub(zx);
                        sum = sum.add(v);
                        ((FloatVector) v.convert(VectorOperators.I2F, 0)).intoArray(dst, d + p * h);
                    }
                    for (int r = 0; r < h; r++) {
                        rowSums[i + r] += sum.lane(r);
                    }
                } else {
                    for (int r = 0; r < h; r++) {
                        boolean real = i + r < rows;
                        int sum = 0;
                        for (int p = 0; p < kcCur; p++) {
                            int v = real ? (a[src + p * ldaT + r] & 0xFF) - zx : 0;
                            dst[d + p * h + r] = v;
                            sum += v;
                        }
                        if (real) {
                            rowSums[i + r] += sum;
                        }
                    }
                }
                i += h;
            }
        }
    }

    /** {@code row[r0 + p] = (x[s + p] & 0xFF) - zx} for {@code p < k}; returns their sum. */
    private static int centre(byte[] x, int s, int k, int zx, float[] row, int r0) {
        IntVector sum = IntVector.zero(INTS);
        int p = 0;
        for (int bound = k - LANES; p <= bound; p += LANES) {
            IntVector v = ((IntVector) ByteVector.fromArray(BYTES, x, s + p).convertShape(VectorOperators.B2I, INTS, 0))
                    .and(0xFF).sub(zx);
            sum = sum.add(v);
            ((FloatVector) v.convert(VectorOperators.I2F, 0)).intoArray(row, r0 + p);
        }
        int total = sum.reduceLanes(VectorOperators.ADD);
        for (; p < k; p++) {
            int v = (x[s + p] & 0xFF) - zx;
            row[r0 + p] = v;
            total += v;
        }
        return total;
    }

    /**
     * {@code dst[d + p*stride + j] = src[s + j*streamStride + p]} for {@code j < 4}, {@code p < len}: four
     * contiguous runs interleaved, each read front to back (faster than one run at a time with scattered stores).
     */
    private static void interleaveFour(float[] src, int s, int streamStride, int len, float[] dst, int d,
                                       int stride) {
        int s1 = s + streamStride, s2 = s1 + streamStride, s3 = s2 + streamStride;
        for (int p = 0; p < len; p++) {
            int o = d + p * stride;
            dst[o] = src[s + p];
            dst[o + 1] = src[s1 + p];
            dst[o + 2] = src[s2 + p];
            dst[o + 3] = src[s3 + p];
        }
    }

    /**
     * {@code acc[accBase + r*ldAcc + j] (+)= (int) tile[r*NR + j]} for the top-left {@code rows x cols} of an
     * exact float tile (sets on the first K block, adds afterwards).
     */
    static void tileToAcc(float[] tile, int rows, int cols, int[] acc, int accBase, int ldAcc, boolean add) {
        if (cols == NR) {
            for (int r = 0; r < rows; r++) {
                rowToAcc(tile, r * NR, acc, accBase + r * ldAcc, add);
            }
            return;
        }
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < cols; j++) {
                int v = (int) tile[r * NR + j];
                int idx = accBase + r * ldAcc + j;
                acc[idx] = add ? acc[idx] + v : v;
            }
        }
    }

    private static void rowToAcc(float[] tile, int t, int[] acc, int ai, boolean add) {
        IntVector v0 = (IntVector) FloatVector.fromArray(SPECIES, tile, t).convert(VectorOperators.F2I, 0);
        IntVector v1 = (IntVector) FloatVector.fromArray(SPECIES, tile, t + LANES).convert(VectorOperators.F2I, 0);
        if (add) {
            v0 = v0.add(IntVector.fromArray(INTS, acc, ai));
            v1 = v1.add(IntVector.fromArray(INTS, acc, ai + LANES));
        }
        v0.intoArray(acc, ai);
        v1.intoArray(acc, ai + LANES);
    }

    /**
     * GEMV block, one row: {@code tile[j] = sum_{p in [p0, p0+kc)} x[xOff+p] * W[q*NR+j][p]} for one weight panel,
     * with raw s8 weights widened in the loop (read once, so there is nothing to reuse a widened copy for).
     * Exact for {@code kc <= EXACT_K} since {@code |x| <= 255}, {@code |w| <= 128}.
     */
    static void gemvPanel1(byte[] panels, int panelBase, int p0, int kc, float[] x, int xOff, float[] tile) {
        // Four independent accumulator pairs: one pair would wait on the FMA latency (4 cycles) every step. The
        // order of summation does not matter: every partial sum is an exact integer.
        FloatVector s0 = FloatVector.zero(SPECIES);
        FloatVector s1 = s0, t0 = s0, t1 = s0, u0 = s0, u1 = s0, v0 = s0, v1 = s0;
        int p = 0;
        for (int bound = kc - 3; p < bound; p += 4) { // not "p + 4 <= kc": that form keeps range checks in the loop
            int b = panelBase + (p0 + p) * NR;
            int xi = xOff + p0 + p;
            FloatVector xv = FloatVector.broadcast(SPECIES, x[xi]);
            s0 = xv.fma(widen(panels, b), s0);
            s1 = xv.fma(widen(panels, b + LANES), s1);
            xv = FloatVector.broadcast(SPECIES, x[xi + 1]);
            t0 = xv.fma(widen(panels, b + NR), t0);
            t1 = xv.fma(widen(panels, b + NR + LANES), t1);
            xv = FloatVector.broadcast(SPECIES, x[xi + 2]);
            u0 = xv.fma(widen(panels, b + 2 * NR), u0);
            u1 = xv.fma(widen(panels, b + 2 * NR + LANES), u1);
            xv = FloatVector.broadcast(SPECIES, x[xi + 3]);
            v0 = xv.fma(widen(panels, b + 3 * NR), v0);
            v1 = xv.fma(widen(panels, b + 3 * NR + LANES), v1);
        }
        for (; p < kc; p++) {
            int b = panelBase + (p0 + p) * NR;
            FloatVector xv = FloatVector.broadcast(SPECIES, x[xOff + p0 + p]);
            s0 = xv.fma(widen(panels, b), s0);
            s1 = xv.fma(widen(panels, b + LANES), s1);
        }
        s0.add(t0).add(u0.add(v0)).intoArray(tile, 0);
        s1.add(t1).add(u1.add(v1)).intoArray(tile, LANES);
    }

    /** {@link #gemvPanel1} for four rows of x ({@code xStride} apart): each widened weight vector is used 4 times. */
    static void gemvPanel4(byte[] panels, int panelBase, int p0, int kc, float[] x, int xOff, int xStride,
                           float[] tile) {
        FloatVector z = FloatVector.zero(SPECIES);
        FloatVector a0 = z, a1 = z, b0 = z, b1 = z, c0 = z, c1 = z, d0 = z, d1 = z;
        for (int p = 0; p < kc; p++) {
            int b = panelBase + (p0 + p) * NR;
            FloatVector w0 = widen(panels, b);
            FloatVector w1 = widen(panels, b + LANES);
            int xi = xOff + p0 + p;
            FloatVector xv = FloatVector.broadcast(SPECIES, x[xi]);
            a0 = xv.fma(w0, a0);
            a1 = xv.fma(w1, a1);
            xv = FloatVector.broadcast(SPECIES, x[xi + xStride]);
            b0 = xv.fma(w0, b0);
            b1 = xv.fma(w1, b1);
            xv = FloatVector.broadcast(SPECIES, x[xi + 2 * xStride]);
            c0 = xv.fma(w0, c0);
            c1 = xv.fma(w1, c1);
            xv = FloatVector.broadcast(SPECIES, x[xi + 3 * xStride]);
            d0 = xv.fma(w0, d0);
            d1 = xv.fma(w1, d1);
        }
        a0.intoArray(tile, 0);
        a1.intoArray(tile, LANES);
        b0.intoArray(tile, NR);
        b1.intoArray(tile, NR + LANES);
        c0.intoArray(tile, 2 * NR);
        c1.intoArray(tile, 2 * NR + LANES);
        d0.intoArray(tile, 3 * NR);
        d1.intoArray(tile, 3 * NR + LANES);
    }
}
