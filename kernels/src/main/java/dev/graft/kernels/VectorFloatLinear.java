package dev.graft.kernels;

import static dev.graft.kernels.VectorMicroKernel.LANES;
import static dev.graft.kernels.VectorMicroKernel.MR;
import static dev.graft.kernels.VectorMicroKernel.NR;
import static dev.graft.kernels.VectorMicroKernel.SPECIES;

import jdk.incubator.vector.FloatVector;

/**
 * FP32 linear layer on pre-packed weights: {@code y[i][j] = act(sum_p x[i][p] * W[j][p] + bias[j])}, with the bias
 * and ReLU fused into the last K block's store. B is never packed per call; A (the activations) is packed per
 * block as in {@link VectorFloatGemm}. Summation per element: K blocks of {@code KC} in order, each an FMA chain in
 * increasing {@code p}, exactly like {@link VectorFloatGemm}'s packed path, then the bias.
 */
final class VectorFloatLinear {

    private static final int KC = 256;
    private static final int MC = 128;
    private static final int NC = 1024;
    /** Row panels per thread from which x is split by rows rather than by columns. */
    private static final int ROW_SPLIT_PANELS = 16;

    private VectorFloatLinear() {
    }

    static void linear(int m, float[] x, int xOff, int ldx, PackedFloatWeights w, float[] bias, Activation act,
                       float[] y, int yOff, int ldy, Parallel pool) {
        if (w.width != NR) {
            throw new IllegalArgumentException("linear: weights packed with width " + w.width + ", need " + NR);
        }
        int panels = FloatPacking.ceilDiv(w.n, NR);
        int rowPanels = FloatPacking.ceilDiv(m, MR);
        int threads = pool.threads();
        if (threads > 1 && (long) m * w.n * w.k >= 1_000_000L && rowPanels >= ROW_SPLIT_PANELS * threads) {
            // Tall x: split by rows, so the tasks do not each pack all of x (each element is still summed by one
            // task in the same order, so the bits do not depend on the split).
            pool.forEach(threads, t -> {
                int i0 = Math.min(m, rowPanels * t / threads * MR);
                int i1 = Math.min(m, rowPanels * (t + 1) / threads * MR);
                if (i1 > i0) {
                    columns(i1 - i0, x, xOff + i0 * ldx, ldx, w, bias, act, y, yOff + i0 * ldy, ldy, 0, w.n);
                }
            });
            return;
        }
        int tasks = Math.max(1, Math.min(threads, (long) m * w.n * w.k < 1_000_000L ? 1 : panels));
        pool.forEach(tasks, t -> {
            int j0 = Math.min(w.n, panels * t / tasks * NR);
            int j1 = Math.min(w.n, panels * (t + 1) / tasks * NR);
            if (j1 > j0) {
                columns(m, x, xOff, ldx, w, bias, act, y, yOff, ldy, j0, j1);
            }
        });
    }

    private static void columns(int m, float[] x, int xOff, int ldx, PackedFloatWeights w, float[] bias,
                                Activation act, float[] y, int yOff, int ldy, int j0, int j1) {
        float[] aPacked = new float[MC * KC];
        float[] tile = new float[MR * NR];
        for (int jc = j0; jc < j1; jc += NC) {
            int ncCur = Math.min(NC, j1 - jc);
            for (int ic = 0; ic < m; ic += MC) {
                int mcCur = Math.min(MC, m - ic);
                for (int pc = 0; pc < w.k; pc += KC) {
                    int kcCur = Math.min(KC, w.k - pc);
                    FloatPacking.packA(x, xOff, ldx, 1, ic, mcCur, pc, kcCur, MR, aPacked);
                    for (int j = 0; j < ncCur; j += NR) {
                        int cols = Math.min(NR, ncCur - j);
                        int bBase = ((jc + j) / NR * w.k + pc) * NR;
                        for (int i = 0; i < mcCur; i += MR) {
                            int rows = Math.min(MR, mcCur - i);
                            VectorMicroKernel.multiplyPanels(kcCur, aPacked, i * kcCur, w.panels, bBase, tile);
                            VectorMicroKernel.storeTile(tile, y, yOff + (ic + i) * ldy + jc + j, ldy, rows, cols,
                                    pc > 0);
                        }
                    }
                }
                if (bias != null || act != Activation.NONE) {
                    for (int r = 0; r < mcCur; r++) {
                        epilogue(y, yOff + (ic + r) * ldy + jc, bias, jc, ncCur, act);
                    }
                }
            }
        }
    }

    /** {@code y[d + c] = act(y[d + c] + bias[j0 + c])} for {@code c < len}. */
    private static void epilogue(float[] y, int d, float[] bias, int j0, int len, Activation act) {
        boolean relu = act == Activation.RELU;
        boolean gelu = act == Activation.GELU;
        int c = 0;
        for (int bound = len - LANES; c <= bound; c += LANES) {
            FloatVector v = FloatVector.fromArray(SPECIES, y, d + c);
            if (bias != null) {
                v = v.add(FloatVector.fromArray(SPECIES, bias, j0 + c));
            }
            if (relu) {
                v = v.max(0f);
            } else if (gelu) {
                v = VectorFloatMath.gelu(v);
            }
            v.intoArray(y, d + c);
        }
        for (; c < len; c++) {
            float v = y[d + c] + (bias == null ? 0f : bias[j0 + c]);
            y[d + c] = relu ? Math.max(v, 0f) : gelu ? FastFloatMath.gelu(v) : v;
        }
    }
}
