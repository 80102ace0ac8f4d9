package dev.graft.kernels;

import static dev.graft.kernels.VectorInt8Blocks.widen;
import static dev.graft.kernels.VectorMicroKernel.LANES;
import static dev.graft.kernels.VectorMicroKernel.NR;
import static dev.graft.kernels.VectorMicroKernel.SPECIES;

import jdk.incubator.vector.FloatVector;

/**
 * The register tile of {@link VectorInt8Gemm}: one {@code MR}-row panel of centred activations (floats) times one
 * {@code NR}-column panel of raw s8 weights, read straight from {@link PackedInt8Weights} and widened to float in
 * registers.
 *
 * <p>Why a taller tile than the FP32 kernel's 8x2: each step {@code p} widens two weight vectors (a sign-extending
 * load and an int-to-float conversion each, four uops that do not need the FMA units) and feeds them to
 * {@code 2*MR} fused multiply-adds. With {@code MR = 12} that is 24 accumulators + 2 weight vectors + 1 broadcast =
 * 27 of the 32 zmm registers, and 24 FMAs per 4 conversion uops. Reading s8 panels directly, instead of a block
 * widened to floats beforehand, also quarters the weight bytes the kernel streams.
 *
 * <p>Exactness: every product {@code (x - zx) * w} is at most {@code 255 * 128 = 32,640} in magnitude, so a sum of
 * at most {@link VectorInt8Blocks#EXACT_K} = 512 of them stays below {@code 16,711,681 < 2^24}: every partial sum is an integer that
 * float32 holds exactly, whatever the order. The zero points of the weights are applied afterwards in int32.
 *
 * <p>Like {@link VectorMicroKernel}, the result goes to a small {@code tile} array; moving it on is a separate,
 * small method, so this one stays small enough for C2 to inline every Vector API call.
 */
final class VectorInt8MicroKernel {

    /** Rows of activations per register tile. */
    static final int MR = 12;
    /** Rows of the short tile used for a last panel of at most 8 rows (no 12-row tile half wasted on padding). */
    static final int SHORT_MR = 8;

    private VectorInt8MicroKernel() {
    }

    /** Height of the panel that starts {@code remaining} rows before the end of a row block. */
    static int panelRows(int remaining) {
        return remaining <= SHORT_MR ? SHORT_MR : MR;
    }

    /** Rows of a block of {@code rows} once every panel is padded to its height. */
    static int paddedRows(int rows) {
        int full = rows / MR;
        int rest = rows - full * MR;
        return full * MR + (rest == 0 ? 0 : rest <= SHORT_MR ? SHORT_MR : MR);
    }

    /**
     * {@code tile[r*NR + j] = sum_{p < kc} a[aBase + p*MR + r] * w[wBase + p*NR + j]} for {@code r < MR},
     * {@code j < NR}, where the weights are s8 bytes.
     */
    static void multiplyPanels(int kc, float[] a, int aBase, byte[] w, int wBase, float[] tile) {
        FloatVector z = FloatVector.zero(SPECIES);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z;
        FloatVector c40 = z, c41 = z, c50 = z, c51 = z, c60 = z, c61 = z, c70 = z, c71 = z;
        FloatVector c80 = z, c81 = z, c90 = z, c91 = z, ca0 = z, ca1 = z, cb0 = z, cb1 = z;
        for (int p = 0; p < kc; p++) {
            int ai = aBase + p * MR;
            int wi = wBase + p * NR;
            FloatVector w0 = widen(w, wi);
            FloatVector w1 = widen(w, wi + LANES);
            FloatVector x = FloatVector.broadcast(SPECIES, a[ai]);
            c00 = x.fma(w0, c00);
            c01 = x.fma(w1, c01);
            x = FloatVector.broadcast(SPECIES, a[ai + 1]);
            c10 = x.fma(w0, c10);
            c11 = x.fma(w1, c11);
            x = FloatVector.broadcast(SPECIES, a[ai + 2]);
            c20 = x.fma(w0, c20);
            c21 = x.fma(w1, c21);
            x = FloatVector.broadcast(SPECIES, a[ai + 3]);
            c30 = x.fma(w0, c30);
            c31 = x.fma(w1, c31);
            x = FloatVector.broadcast(SPECIES, a[ai + 4]);
            c40 = x.fma(w0, c40);
            c41 = x.fma(w1, c41);
            x = FloatVector.broadcast(SPECIES, a[ai + 5]);
            c50 = x.fma(w0, c50);
            c51 = x.fma(w1, c51);
            x = FloatVector.broadcast(SPECIES, a[ai + 6]);
            c60 = x.fma(w0, c60);
            c61 = x.fma(w1, c61);
            x = FloatVector.broadcast(SPECIES, a[ai + 7]);
            c70 = x.fma(w0, c70);
            c71 = x.fma(w1, c71);
            x = FloatVector.broadcast(SPECIES, a[ai + 8]);
            c80 = x.fma(w0, c80);
            c81 = x.fma(w1, c81);
            x = FloatVector.broadcast(SPECIES, a[ai + 9]);
            c90 = x.fma(w0, c90);
            c91 = x.fma(w1, c91);
            x = FloatVector.broadcast(SPECIES, a[ai + 10]);
            ca0 = x.fma(w0, ca0);
            ca1 = x.fma(w1, ca1);
            x = FloatVector.broadcast(SPECIES, a[ai + 11]);
            cb0 = x.fma(w0, cb0);
            cb1 = x.fma(w1, cb1);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, LANES);
        c10.intoArray(tile, NR);
        c11.intoArray(tile, NR + LANES);
        c20.intoArray(tile, 2 * NR);
        c21.intoArray(tile, 2 * NR + LANES);
        c30.intoArray(tile, 3 * NR);
        c31.intoArray(tile, 3 * NR + LANES);
        c40.intoArray(tile, 4 * NR);
        c41.intoArray(tile, 4 * NR + LANES);
        c50.intoArray(tile, 5 * NR);
        c51.intoArray(tile, 5 * NR + LANES);
        c60.intoArray(tile, 6 * NR);
        c61.intoArray(tile, 6 * NR + LANES);
        c70.intoArray(tile, 7 * NR);
        c71.intoArray(tile, 7 * NR + LANES);
        c80.intoArray(tile, 8 * NR);
        c81.intoArray(tile, 8 * NR + LANES);
        c90.intoArray(tile, 9 * NR);
        c91.intoArray(tile, 9 * NR + LANES);
        ca0.intoArray(tile, 10 * NR);
        ca1.intoArray(tile, 10 * NR + LANES);
        cb0.intoArray(tile, 11 * NR);
        cb1.intoArray(tile, 11 * NR + LANES);
    }

    /** {@link #multiplyPanels} for a panel of 8 rows ({@code a[aBase + p*8 + r]}), the short last panel. */
    static void multiplyPanels8(int kc, float[] a, int aBase, byte[] w, int wBase, float[] tile) {
        FloatVector z = FloatVector.zero(SPECIES);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z;
        FloatVector c40 = z, c41 = z, c50 = z, c51 = z, c60 = z, c61 = z, c70 = z, c71 = z;
        for (int p = 0; p < kc; p++) {
            int ai = aBase + p * 8;
            int wi = wBase + p * NR;
            FloatVector w0 = widen(w, wi);
            FloatVector w1 = widen(w, wi + LANES);
            FloatVector x = FloatVector.broadcast(SPECIES, a[ai]);
            c00 = x.fma(w0, c00);
            c01 = x.fma(w1, c01);
            x = FloatVector.broadcast(SPECIES, a[ai + 1]);
            c10 = x.fma(w0, c10);
            c11 = x.fma(w1, c11);
            x = FloatVector.broadcast(SPECIES, a[ai + 2]);
            c20 = x.fma(w0, c20);
            c21 = x.fma(w1, c21);
            x = FloatVector.broadcast(SPECIES, a[ai + 3]);
            c30 = x.fma(w0, c30);
            c31 = x.fma(w1, c31);
            x = FloatVector.broadcast(SPECIES, a[ai + 4]);
            c40 = x.fma(w0, c40);
            c41 = x.fma(w1, c41);
            x = FloatVector.broadcast(SPECIES, a[ai + 5]);
            c50 = x.fma(w0, c50);
            c51 = x.fma(w1, c51);
            x = FloatVector.broadcast(SPECIES, a[ai + 6]);
            c60 = x.fma(w0, c60);
            c61 = x.fma(w1, c61);
            x = FloatVector.broadcast(SPECIES, a[ai + 7]);
            c70 = x.fma(w0, c70);
            c71 = x.fma(w1, c71);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, LANES);
        c10.intoArray(tile, NR);
        c11.intoArray(tile, NR + LANES);
        c20.intoArray(tile, 2 * NR);
        c21.intoArray(tile, 2 * NR + LANES);
        c30.intoArray(tile, 3 * NR);
        c31.intoArray(tile, 3 * NR + LANES);
        c40.intoArray(tile, 4 * NR);
        c41.intoArray(tile, 4 * NR + LANES);
        c50.intoArray(tile, 5 * NR);
        c51.intoArray(tile, 5 * NR + LANES);
        c60.intoArray(tile, 6 * NR);
        c61.intoArray(tile, 6 * NR + LANES);
        c70.intoArray(tile, 7 * NR);
        c71.intoArray(tile, 7 * NR + LANES);
    }
}
