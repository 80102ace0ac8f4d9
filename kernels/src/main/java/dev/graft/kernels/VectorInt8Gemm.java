package dev.graft.kernels;

import static dev.graft.kernels.VectorInt8Blocks.EXACT_K;
import static dev.graft.kernels.VectorMicroKernel.NR;
import static dev.graft.kernels.VectorInt8MicroKernel.MR;

import java.util.Objects;

/**
 * {@link Int8Gemm} on the Vector API.
 *
 * <p>The JDK 25 Vector API has no operation that compiles to VNNI ({@code vpdpbusd}) or {@code vpmaddwd}, and the
 * integer paths it does have (widen to int32 and {@code vpmulld}, or int16 products widened in pairs) reach a third to
 * a half of the FP32 FMA rate on this hardware. So the arithmetic runs on the FP32 FMA units, exactly:
 * <ul>
 *   <li>activations are converted to centred floats once per call and row block, for all of K, while packing A
 *       ({@link VectorInt8Blocks#packActivations});</li>
 *   <li>the s8 weights are read straight from {@link PackedInt8Weights} and widened to float in registers by a
 *       12x2-vector micro-kernel ({@link VectorInt8MicroKernel}); the weights' zero points are applied afterwards in
 *       int32, from the activations' row sums;</li>
 *   <li>K blocks are at most 512 long, so every float partial sum is an exact integer (see
 *       {@link VectorInt8Blocks}), converted to int32 and added across blocks in an int32 buffer;</li>
 *   <li>the output stage ({@link VectorInt8Output}) runs on each finished row block while it is in L1.</li>
 * </ul>
 * On compute-bound shapes this runs at the FP32 GEMM's speed (both near the FMA ceiling; see docs/BENCHMARKS.md).
 * What INT8 buys beyond that is memory: weights are a quarter of FP32's in RAM, in caches and on the memory bus. For a
 * few rows ({@code m <= 4}, batch-1 inference) the GEMV path streams the s8 panels once, widening in registers: it is
 * bound by the two conversion uops per 16 multiply-adds while FP32's weights come from cache, and 4-5x ahead of FP32
 * once FP32's weights have to come from DRAM.
 *
 * <p>Threads: columns (or, for narrow outputs, rows) are split among the {@link Parallel} pool's threads. The integer
 * results are exact, so they are identical for any thread count; the output stage is per element.
 */
public final class VectorInt8Gemm implements Int8Gemm {

    private static final int DEFAULT_MC = 128;
    private static final int DEFAULT_NC = 1024;
    private static final int GEMV_ROWS = 4;
    /** Row panels per thread from which A is split by rows rather than by columns. */
    private static final int ROW_SPLIT_PANELS = 16;

    private final int kc;
    private final int mc;
    private final int nc;
    private final Parallel pool;
    /** Reused buffers: a fresh 1.6 MiB set per call would cost its zeroing (see {@link PackingScratch}). */
    private final java.util.concurrent.atomic.AtomicReferenceArray<Scratch> idle =
            new java.util.concurrent.atomic.AtomicReferenceArray<>(4);

    /** One task's buffers; a task owns it from {@link #acquire} to {@link #release}. */
    private static final class Scratch {
        /** Packed activations of one row block, all of K; grown on demand. */
        float[] aPacked = new float[0];
        /** One panel's rows of centred activations; grown on demand. */
        float[] row = new float[0];
        final float[] tile = new float[MR * NR];
        final int[] acc;
        final int[] rowSums;

        Scratch(int mc, int nc) {
            acc = new int[mc * nc];
            rowSums = new int[mc];
        }

        float[] aPacked(int size) {
            if (aPacked.length < size) {
                aPacked = new float[size];
            }
            return aPacked;
        }

        float[] row(int size) {
            if (row.length < size) {
                row = new float[size];
            }
            return row;
        }
    }

    private Scratch acquire() {
        for (int i = 0; i < idle.length(); i++) {
            Scratch s = idle.getAndSet(i, null);
            if (s != null) {
                return s;
            }
        }
        return new Scratch(mc, nc);
    }

    private void release(Scratch s) {
        for (int i = 0; i < idle.length(); i++) {
            if (idle.compareAndSet(i, null, s)) {
                return;
            }
        }
    }

    /** The GEMM with default blocks on the shared pool. */
    public VectorInt8Gemm() {
        this(Parallel.shared());
    }

    /** The GEMM with default blocks on {@code pool}. */
    public VectorInt8Gemm(Parallel pool) {
        this(EXACT_K, DEFAULT_MC, DEFAULT_NC, pool);
    }

    /** Explicit blocks, so tests reach every blocking edge on small matrices; {@code kc <= 512}. */
    VectorInt8Gemm(int kc, int mc, int nc, Parallel pool) {
        if (kc < 1 || kc > EXACT_K || mc < 1 || nc < 1) {
            throw new IllegalArgumentException("VectorInt8Gemm: bad blocks kc=" + kc + " (max " + EXACT_K
                    + "), mc=" + mc + ", nc=" + nc);
        }
        this.kc = kc;
        this.mc = mc;
        this.nc = FloatPacking.ceilDiv(nc, NR) * NR;
        this.pool = Objects.requireNonNull(pool, "pool");
    }

    /** The threads this GEMM runs on (a convolution's depthwise kernel uses the same). */
    Parallel pool() {
        return pool;
    }

    /** Panel width the weights must be packed with for this kernel. */
    static int panelWidth() {
        return NR;
    }

    @Override
    public void gemm(int m, byte[] a, int aOff, int lda, int aZeroPoint, PackedInt8Weights w, Int8Output output) {
        PreparedOutput out = PreparedOutput.checkGemm("VectorInt8Gemm", m, a, aOff, lda, aZeroPoint, w, output);
        if (w.panelWidth() != NR || w.layout() != PackedInt8Weights.Layout.PANELS) {
            throw new IllegalArgumentException("VectorInt8Gemm: weights packed with panel width " + w.panelWidth()
                    + ", this kernel needs " + NR + "; pack with PackedInt8Weights.pack");
        }
        if (m == 0) {
            return;
        }
        run(m, a, aOff, lda, aZeroPoint, w, out, false);
    }

    /** Splits the work among the pool's threads; {@code transposed} selects the layout of A. */
    private void run(int m, byte[] a, int aOff, int lda, int aZeroPoint, PackedInt8Weights w, PreparedOutput out,
                     boolean transposed) {
        int panels = FloatPacking.ceilDiv(w.n(), NR);
        int threads = pool.threads();
        if (m <= GEMV_ROWS && !transposed) {
            int tasks = Math.min(threads, panels);
            pool.forEach(tasks, t -> gemv(m, a, aOff, lda, aZeroPoint, w, out,
                    panels * t / tasks, panels * (t + 1) / tasks));
        } else if ((panels >= 2 * threads && m < ROW_SPLIT_PANELS * MR * threads) || m < 2 * MR * threads) {
            // By columns: every task packs all rows of A itself, cheap next to its share of the product while A is
            // short; for tall A (below) that duplicated packing costs more than the row split's uneven last panel.
            int tasks = Math.min(threads, panels);
            pool.forEach(tasks, t -> blocked(0, m, panels * t / tasks * NR,
                    Math.min(w.n(), panels * (t + 1) / tasks * NR), a, aOff, lda, aZeroPoint, w, out, transposed));
        } else {
            int rowPanels = FloatPacking.ceilDiv(m, MR);
            pool.forEach(threads, t -> blocked(Math.min(m, rowPanels * t / threads * MR),
                    Math.min(m, rowPanels * (t + 1) / threads * MR), 0, w.n(), a, aOff, lda, aZeroPoint, w, out,
                    transposed));
        }
    }

    /**
     * {@link #gemm} with the activations stored transposed, {@code X[i][p] = a[aOff + p*ldaT + i]}: the layout of an
     * im2col matrix ({@code k} rows of {@code m} pixels), which a convolution builds with contiguous copies instead
     * of im2row's byte-by-byte gather. Packing reads each panel's {@code MR} pixels of one {@code p} as one contiguous
     * run. Same results as {@link #gemm} on the transposed matrix, bit for bit.
     */
    void gemmTransposedA(int m, byte[] a, int aOff, int ldaT, int aZeroPoint, PackedInt8Weights w,
                         Int8Output output) {
        java.util.Objects.requireNonNull(a, "a");
        if (m > 0 && (ldaT < m || aOff < 0 || aOff + (long) (w.k() - 1) * ldaT + m > a.length)) {
            throw new IllegalArgumentException("VectorInt8Gemm: transposed activations [" + w.k() + " x " + m
                    + "] at offset " + aOff + " with row stride " + ldaT + " do not fit in " + a.length + " bytes");
        }
        // The row-major check with lda = 1 only looks at the zero point, weights and output here.
        PreparedOutput out = PreparedOutput.checkGemm("VectorInt8Gemm", Math.min(m, 1), a, 0, w.k(), aZeroPoint, w,
                output);
        out.check("VectorInt8Gemm", m, w.n());
        if (w.panelWidth() != NR || w.layout() != PackedInt8Weights.Layout.PANELS) {
            throw new IllegalArgumentException("VectorInt8Gemm: weights packed with panel width " + w.panelWidth()
                    + ", this kernel needs " + NR + "; pack with PackedInt8Weights.pack");
        }
        if (m == 0) {
            return;
        }
        if (m <= GEMV_ROWS) { // a few rows: transpose them and take the GEMV path
            int k = w.k();
            byte[] rows = new byte[m * k];
            for (int i = 0; i < m; i++) {
                for (int p = 0; p < k; p++) {
                    rows[i * k + p] = a[aOff + p * ldaT + i];
                }
            }
            run(m, rows, 0, k, aZeroPoint, w, out, false);
        } else {
            run(m, a, aOff, ldaT, aZeroPoint, w, out, true);
        }
    }

    /** Rows {@code [i0, i1)}, columns {@code [j0, j1)} ({@code j0} a multiple of NR) of the packed path. */
    private void blocked(int i0, int i1, int j0, int j1, byte[] a, int aOff, int lda, int zx,
                         PackedInt8Weights w, PreparedOutput out, boolean transposed) {
        if (i0 >= i1 || j0 >= j1) {
            return;
        }
        Scratch s = acquire();
        try {
            blocked(i0, i1, j0, j1, a, aOff, lda, zx, w, out, transposed, s);
        } finally {
            release(s);
        }
    }

    private void blocked(int i0, int i1, int j0, int j1, byte[] a, int aOff, int lda, int zx,
                         PackedInt8Weights w, PreparedOutput out, boolean transposed, Scratch s) {
        int k = w.k();
        float[] tile = s.tile;
        int[] acc = s.acc;
        int[] rowSums = s.rowSums;
        Object staging = VectorInt8Output.stagingFor(out, nc);
        for (int ic = i0; ic < i1; ic += mc) {
            int mcCur = Math.min(mc, i1 - ic);
            int paddedRows = VectorInt8MicroKernel.paddedRows(mcCur);
            // Activations are packed once per row block for all of K, then reused by every column block.
            float[] aPacked = s.aPacked(paddedRows * k + VectorInt8Blocks.PACK_SLACK);
            if (transposed) {
                VectorInt8Blocks.packTransposedActivations(a, aOff, lda, zx, ic, mcCur, k, kc, aPacked, rowSums);
            } else {
                VectorInt8Blocks.packActivations(a, aOff, lda, zx, ic, mcCur, k, kc, aPacked, rowSums, s.row(MR * k));
            }
            for (int jc = j0; jc < j1; jc += nc) {
                int ncCur = Math.min(nc, j1 - jc);
                for (int pc = 0; pc < k; pc += kc) {
                    int kcCur = Math.min(kc, k - pc);
                    multiplyBlock(mcCur, ncCur, kcCur, aPacked, pc * paddedRows, w.panels(), (jc / NR * k + pc) * NR,
                            k * NR, tile, acc, pc > 0);
                }
                if (!w.symmetric()) {
                    subtractZeroPoints(w, jc, ncCur, rowSums, mcCur, acc);
                }
                for (int r = 0; r < mcCur; r++) {
                    VectorInt8Output.apply(out, ic + r, jc, ncCur, acc, r * nc, staging);
                }
            }
        }
    }

    /**
     * One K block: {@code acc[r*nc + j] (+)= sum_p A[r][p] * W[j][p]} for the block's rows and columns. Each s8 weight
     * panel ({@code kcCur x NR} bytes, in L1) meets every row panel of the packed activations in turn.
     */
    private void multiplyBlock(int mcCur, int ncCur, int kcCur, float[] aPacked, int aBase, byte[] panels,
                               int wBase, int panelStride, float[] tile, int[] acc, boolean add) {
        for (int j = 0, wi = wBase; j < ncCur; j += NR, wi += panelStride) {
            int cols = Math.min(NR, ncCur - j);
            for (int i = 0; i < mcCur; ) {
                int h = VectorInt8MicroKernel.panelRows(mcCur - i);
                if (h == MR) {
                    VectorInt8MicroKernel.multiplyPanels(kcCur, aPacked, aBase + i * kcCur, panels, wi, tile);
                } else {
                    VectorInt8MicroKernel.multiplyPanels8(kcCur, aPacked, aBase + i * kcCur, panels, wi, tile);
                }
                VectorInt8Blocks.tileToAcc(tile, Math.min(h, mcCur - i), cols, acc, i * nc + j, nc, add);
                i += h;
            }
        }
    }

    /** {@code acc[r*nc + c] -= zw[jc + c] * rowSums[r]}: the weights' zero points, applied in int32. */
    private void subtractZeroPoints(PackedInt8Weights w, int jc, int ncCur, int[] rowSums, int rows, int[] acc) {
        for (int r = 0; r < rows; r++) {
            int sum = rowSums[r];
            for (int c = 0; c < ncCur; c++) {
                acc[r * nc + c] -= w.zeroPoint(jc + c) * sum;
            }
        }
    }

    /**
     * Weight panels {@code [q0, q1)} for {@code m <= 4} rows: each panel streamed once from the packed s8 weights.
     * Uses {@code sum (x-zx)(w-zw) = sum (x-zx) w - zw * sum (x-zx)}, so the loop multiplies raw weights.
     */
    private static void gemv(int m, byte[] a, int aOff, int lda, int zx, PackedInt8Weights w, PreparedOutput out,
                             int q0, int q1) {
        if (q0 >= q1) {
            return;
        }
        int k = w.k();
        float[] x = new float[GEMV_ROWS * k];
        int[] xSum = new int[GEMV_ROWS];
        for (int r = 0; r < m; r++) {
            for (int p = 0; p < k; p++) {
                int v = (a[aOff + r * lda + p] & 0xFF) - zx;
                x[r * k + p] = v;
                xSum[r] += v;
            }
        }
        float[] tile = new float[GEMV_ROWS * NR];
        int[] acc = new int[GEMV_ROWS * NR];
        Object staging = VectorInt8Output.stagingFor(out, NR);
        byte[] panels = w.panels();
        for (int q = q0; q < q1; q++) {
            int base = q * k * NR;
            int cols = Math.min(NR, w.n() - q * NR);
            for (int p0 = 0; p0 < k; p0 += EXACT_K) {
                int len = Math.min(EXACT_K, k - p0);
                if (m == GEMV_ROWS) {
                    VectorInt8Blocks.gemvPanel4(panels, base, p0, len, x, 0, k, tile);
                    VectorInt8Blocks.tileToAcc(tile, GEMV_ROWS, NR, acc, 0, NR, p0 > 0);
                } else {
                    for (int r = 0; r < m; r++) {
                        VectorInt8Blocks.gemvPanel1(panels, base, p0, len, x, r * k, tile);
                        VectorInt8Blocks.tileToAcc(tile, 1, NR, acc, r * NR, NR, p0 > 0);
                    }
                }
            }
            for (int r = 0; r < m; r++) {
                if (!w.symmetric()) {
                    for (int c = 0; c < cols; c++) {
                        acc[r * NR + c] -= w.zeroPoint(q * NR + c) * xSum[r];
                    }
                }
                VectorInt8Output.apply(out, r, q * NR, cols, acc, r * NR, staging);
            }
        }
    }

    @Override
    public String name() {
        return "vector";
    }

    @Override
    public String toString() {
        return "vector (s8 weights widened to FP32 in registers, exact, " + MR + "x" + NR + " tile, "
                + pool.threads() + " threads)";
    }
}
