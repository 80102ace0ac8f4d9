package dev.graft.kernels;

import static dev.graft.kernels.VectorMicroKernel.LANES;
import static dev.graft.kernels.VectorMicroKernel.MR;
import static dev.graft.kernels.VectorMicroKernel.NR;
import static dev.graft.kernels.VectorMicroKernel.SPECIES;

import java.util.Arrays;

/**
 * {@link FloatGemm} on the Vector API, in the classic packed, cache-blocked form (Goto / BLIS).
 *
 * <p>The loop nest, outermost first:
 * <pre>
 *   for jc in N, step NC          a block of columns of B and C
 *     for pc in K, step KC        pack B[pc.., jc..] (KC x NC) into NR-wide panels
 *       for ic in M, step MC      pack A[ic.., pc..] (MC x KC) into MR-high panels
 *         for jr in NC, step NR     one B panel (KC x NR = 32 KiB) stays in L1 while ...
 *           for ir in MC, step MR   ... the A block (MC x KC, in L2) streams past it
 *             micro-kernel: MR x NR tile of C += A panel x B panel, in registers
 * </pre>
 * Blocking over K bounds the panels so they stay in cache; every element of C is then touched once per K block
 * (overwritten on the first when not accumulating, added to afterwards). Edges need no special kernel: packed
 * panels are zero-padded to full width and the partial tile is cut when stored.
 *
 * <p>Rows of A that are too few to pay for packing ({@code m <= 4} by default, e.g. batch-1 inference) take the
 * unpacked loops of {@link VectorSkinnyGemm} when B's layout allows.
 *
 * <p>Thread safety: each call takes its own packing buffers (about 1.2 MiB with the default blocks) from a small
 * lock-free pool and returns them at the end, so concurrent calls never share mutable state and the JVM does not
 * zero a fresh megabyte per call. The panels are on-heap {@code float[]}; moving them to 64-byte aligned off-heap
 * segments only touches {@link PackingScratch}, {@link FloatPacking} and {@link VectorMicroKernel}.
 *
 * <p>A call is spread over a {@link Parallel} pool (see {@link #split}); results do not depend on the thread
 * count. Loading this class requires the {@code jdk.incubator.vector} module;
 * use {@link Kernels#floatGemm()} to get it only when the module is present.
 */
public final class VectorFloatGemm implements FloatGemm {

    private static final int DEFAULT_KC = 256;
    private static final int DEFAULT_MC = 128;
    private static final int DEFAULT_NC = 1024;
    private static final int DEFAULT_SKINNY_ROWS = 4;

    private final int kc;
    private final int mc;
    private final int nc;
    private final int skinnyRows;
    private final PackingScratch.Pool scratchPool;
    private final Parallel pool;

    /** Creates the GEMM with block sizes tuned for AVX-512 cores with 48 KiB L1 and 2 MiB L2, on the shared pool. */
    public VectorFloatGemm() {
        this(Parallel.shared());
    }

    /** Default blocks on {@code pool} (a pool of one thread runs every call on the caller alone). */
    public VectorFloatGemm(Parallel pool) {
        this(DEFAULT_KC, DEFAULT_MC, DEFAULT_NC, DEFAULT_SKINNY_ROWS, pool);
    }

    VectorFloatGemm(int kc, int mc, int nc, int skinnyRows) {
        this(kc, mc, nc, skinnyRows, new Parallel(1));
    }

    /**
     * Block sizes made explicit, so tests can force tiny blocks (and every blocking edge) on small matrices.
     * {@code mc} and {@code nc} are rounded up to whole panels; {@code skinnyRows = 0} disables the unpacked path.
     */
    VectorFloatGemm(int kc, int mc, int nc, int skinnyRows, Parallel pool) {
        this.pool = java.util.Objects.requireNonNull(pool, "pool");
        if (kc < 1 || mc < 1 || nc < 1 || skinnyRows < 0) {
            throw new IllegalArgumentException("VectorFloatGemm: bad block sizes kc=" + kc + ", mc=" + mc
                    + ", nc=" + nc + ", skinnyRows=" + skinnyRows);
        }
        this.kc = kc;
        this.mc = FloatPacking.ceilDiv(mc, MR) * MR;
        this.nc = FloatPacking.ceilDiv(nc, NR) * NR;
        this.skinnyRows = skinnyRows;
        this.scratchPool = new PackingScratch.Pool(FloatPacking.packedASize(this.mc, kc, MR),
                FloatPacking.packedBSize(this.nc, kc, NR), MR * NR, Runtime.getRuntime().availableProcessors());
    }

    /** Bits per vector of the species in use, e.g. 512 with AVX-512. */
    public static int vectorBitSize() {
        return SPECIES.vectorBitSize();
    }

    /** Floats per vector of the species in use, e.g. 16 with AVX-512. */
    public static int lanes() {
        return LANES;
    }

    @Override
    public void gemm(int m, int n, int k,
                     float[] a, int aOff, int aRowStride, int aColStride,
                     float[] b, int bOff, int bRowStride, int bColStride,
                     float[] c, int cOff, int ldc, boolean accumulate) {
        GemmArguments.check("VectorFloatGemm", m, n, k, a, aOff, aRowStride, aColStride,
                b, bOff, bRowStride, bColStride, c, cOff, ldc);
        if (m == 0 || n == 0) {
            return;
        }
        if (k == 0) { // empty sum
            if (!accumulate) {
                for (int i = 0; i < m; i++) {
                    Arrays.fill(c, cOff + i * ldc, cOff + i * ldc + n, 0f);
                }
            }
            return;
        }
        split(m, n, k, a, aOff, aRowStride, aColStride, b, bOff, bRowStride, bColStride, c, cOff, ldc, accumulate);
    }

    /**
     * Spreads the call over the pool: by columns (whole NR panels) when there are enough, else by rows (whole MR
     * panels). Every element of C is still summed by one task in the same order as on one thread (the K blocks and
     * each tile's order of p do not depend on which columns or rows a task owns), so any thread count gives the
     * same bits. Products under about a million multiply-adds stay on the caller.
     */
    private void split(int m, int n, int k, float[] a, int aOff, int aRowStride, int aColStride,
                       float[] b, int bOff, int bRowStride, int bColStride,
                       float[] c, int cOff, int ldc, boolean accumulate) {
        int threads = pool.threads();
        int colPanels = FloatPacking.ceilDiv(n, NR);
        int rowPanels = FloatPacking.ceilDiv(m, MR);
        boolean skinny = m <= skinnyRows; // decided for the whole product, so a split never changes the path
        if (threads == 1 || (long) m * n * k < 1_000_000L || (colPanels < 2 && rowPanels < 2)) {
            single(m, n, k, a, aOff, aRowStride, aColStride, b, bOff, bRowStride, bColStride, c, cOff, ldc,
                    accumulate, skinny);
        } else if (colPanels >= 2 * threads || colPanels >= rowPanels || m <= skinnyRows) {
            int tasks = Math.min(threads, colPanels);
            pool.forEach(tasks, t -> {
                int j0 = Math.min(n, colPanels * t / tasks * NR);
                int j1 = Math.min(n, colPanels * (t + 1) / tasks * NR);
                if (j1 > j0) {
                    single(m, j1 - j0, k, a, aOff, aRowStride, aColStride, b, bOff + j0 * bColStride, bRowStride,
                            bColStride, c, cOff + j0, ldc, accumulate, skinny);
                }
            });
        } else {
            int tasks = Math.min(threads, rowPanels);
            pool.forEach(tasks, t -> {
                int i0 = Math.min(m, rowPanels * t / tasks * MR);
                int i1 = Math.min(m, rowPanels * (t + 1) / tasks * MR);
                if (i1 > i0) {
                    single(i1 - i0, n, k, a, aOff + i0 * aRowStride, aRowStride, aColStride, b, bOff, bRowStride,
                            bColStride, c, cOff + i0 * ldc, ldc, accumulate, skinny);
                }
            });
        }
    }

    private void single(int m, int n, int k, float[] a, int aOff, int aRowStride, int aColStride,
                        float[] b, int bOff, int bRowStride, int bColStride,
                        float[] c, int cOff, int ldc, boolean accumulate, boolean skinny) {
        if (skinny && bColStride == 1) {
            VectorSkinnyGemm.rowMajorB(m, n, k, a, aOff, aRowStride, aColStride, b, bOff, bRowStride,
                    c, cOff, ldc, accumulate);
        } else if (skinny && bRowStride == 1 && aColStride == 1) {
            VectorSkinnyGemm.columnMajorB(m, n, k, a, aOff, aRowStride, b, bOff, bColStride,
                    c, cOff, ldc, accumulate);
        } else {
            packed(m, n, k, a, aOff, aRowStride, aColStride, b, bOff, bRowStride, bColStride,
                    c, cOff, ldc, accumulate);
        }
    }

    private void packed(int m, int n, int k,
                        float[] a, int aOff, int aRowStride, int aColStride,
                        float[] b, int bOff, int bRowStride, int bColStride,
                        float[] c, int cOff, int ldc, boolean accumulate) {
        PackingScratch scratch = scratchPool.acquire();
        try {
            packedBlocks(m, n, k, a, aOff, aRowStride, aColStride, b, bOff, bRowStride, bColStride,
                    c, cOff, ldc, accumulate, scratch);
        } finally {
            scratchPool.release(scratch);
        }
    }

    private void packedBlocks(int m, int n, int k,
                              float[] a, int aOff, int aRowStride, int aColStride,
                              float[] b, int bOff, int bRowStride, int bColStride,
                              float[] c, int cOff, int ldc, boolean accumulate, PackingScratch scratch) {
        float[] aPacked = scratch.a;
        float[] bPacked = scratch.b;
        float[] tile = scratch.tile;
        for (int jc = 0; jc < n; jc += nc) {
            int ncCur = Math.min(nc, n - jc);
            for (int pc = 0; pc < k; pc += kc) {
                int kcCur = Math.min(kc, k - pc);
                FloatPacking.packB(b, bOff, bRowStride, bColStride, pc, kcCur, jc, ncCur, NR, bPacked);
                // Only the first K block may overwrite C; later blocks add their partial sums.
                boolean add = accumulate || pc > 0;
                for (int ic = 0; ic < m; ic += mc) {
                    int mcCur = Math.min(mc, m - ic);
                    FloatPacking.packA(a, aOff, aRowStride, aColStride, ic, mcCur, pc, kcCur, MR, aPacked);
                    multiplyBlocks(mcCur, ncCur, kcCur, aPacked, bPacked, tile, c, cOff + ic * ldc + jc, ldc, add);
                }
            }
        }
    }

    /** C block ({@code mcCur x ncCur} at {@code cBase}) (+)= packed A block x packed B block, tile by tile. */
    private static void multiplyBlocks(int mcCur, int ncCur, int kcCur, float[] aPacked, float[] bPacked,
                                       float[] tile, float[] c, int cBase, int ldc, boolean add) {
        for (int j0 = 0; j0 < ncCur; j0 += NR) {
            int cols = Math.min(NR, ncCur - j0);
            int bBase = j0 * kcCur; // panel j0/NR starts at (j0/NR) * kcCur * NR
            for (int i0 = 0; i0 < mcCur; i0 += MR) {
                int rows = Math.min(MR, mcCur - i0);
                VectorMicroKernel.multiplyPanels(kcCur, aPacked, i0 * kcCur, bPacked, bBase, tile);
                VectorMicroKernel.storeTile(tile, c, cBase + i0 * ldc + j0, ldc, rows, cols, add);
            }
        }
    }

    /**
     * FP32 linear layer on weights packed once: {@code y[i][j] = act(sum_p x[i][p] * W[j][p] + bias[j])} for
     * {@code i < m}, {@code j < w.n()}, with {@code x} row-major ({@code ldx}) and {@code y} row-major ({@code ldy}).
     * {@code bias} may be null; {@code relu} clamps at 0. The bias and ReLU are fused into the last store.
     */
    public void linear(int m, float[] x, int xOff, int ldx, PackedFloatWeights w, float[] bias, boolean relu,
                       float[] y, int yOff, int ldy) {
        linear(m, x, xOff, ldx, w, bias, relu ? Activation.RELU : Activation.NONE, y, yOff, ldy);
    }

    /** As above with any {@link Activation} in the epilogue (GELU: the bits of {@link Elementwise#gelu} after it). */
    public void linear(int m, float[] x, int xOff, int ldx, PackedFloatWeights w, float[] bias, Activation act,
                       float[] y, int yOff, int ldy) {
        // B is the packed weight, valid by construction; zero strides make the shared check look at x and y only.
        GemmArguments.check("VectorFloatGemm.linear", m, w.n(), w.k(), x, xOff, ldx, 1, x, 0, 0, 0, y, yOff, ldy);
        if (bias != null && bias.length < w.n()) {
            throw new IllegalArgumentException("linear: bias has " + bias.length + " values, needs " + w.n());
        }
        if (m > 0) {
            VectorFloatLinear.linear(m, x, xOff, ldx, w, bias, act, y, yOff, ldy, pool);
        }
    }

    @Override
    public String name() {
        return "vector";
    }

    /** Name plus the species and tile, e.g. {@code vector (512-bit FloatVector, 16 lanes, 8x32 tile)}. */
    @Override
    public String toString() {
        return name() + " (" + vectorBitSize() + "-bit FloatVector, " + LANES + " lanes, " + MR + "x" + NR + " tile)";
    }
}
