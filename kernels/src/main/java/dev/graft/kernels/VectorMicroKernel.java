package dev.graft.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The register-blocked heart of {@link VectorFloatGemm}: multiplies one packed {@code MR}-row panel of A by one
 * packed {@code NR}-column panel of B, holding the whole {@code MR x NR} result tile in vector registers.
 *
 * <p>With AVX-512 ({@code LANES = 16}) the tile is 8 rows x 2 vectors = 16 accumulator registers, plus 2 for the
 * B row and 1 for the broadcast A value: 19 of the 32 zmm registers, so nothing spills. Each step {@code p} does 2
 * vector loads and 8 broadcasts for 16 FMAs, enough arithmetic per load to keep both FMA ports busy.
 *
 * <p>Why the result goes to a small {@code tile} array instead of straight into C: writing C directly (load, add,
 * store per accumulator, plus the edge cases) would push this method past the ~40-50 vector operations after which
 * C2 stops inlining the Vector API intrinsics and the kernel collapses into boxed, allocation-heavy code. The tile is
 * 2 KiB and stays in L1; {@link #storeTile} moves it into C with a second, small method.
 */
final class VectorMicroKernel {

    static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    static final int LANES = SPECIES.length();
    /** Rows of A per register tile. */
    static final int MR = 8;
    /** Columns of B per register tile: two vectors. */
    static final int NR = 2 * LANES;

    private VectorMicroKernel() {
    }

    /**
     * {@code tile[r*NR + j] = sum_{p < kc} aPanel[aBase + p*MR + r] * bPanel[bBase + p*NR + j]}, each sum
     * accumulated in increasing {@code p} with fused multiply-adds. The panels are laid out as
     * {@link FloatPacking} writes them.
     */
    static void multiplyPanels(int kc, float[] aPanel, int aBase, float[] bPanel, int bBase, float[] tile) {
        FloatVector zero = FloatVector.zero(SPECIES);
        FloatVector c00 = zero, c01 = zero, c10 = zero, c11 = zero, c20 = zero, c21 = zero, c30 = zero, c31 = zero;
        FloatVector c40 = zero, c41 = zero, c50 = zero, c51 = zero, c60 = zero, c61 = zero, c70 = zero, c71 = zero;
        for (int p = 0; p < kc; p++) {
            // Indices written in terms of p so C2 can prove them in range once, outside the loop.
            int ai = aBase + p * MR;
            int bi = bBase + p * NR;
            FloatVector b0 = FloatVector.fromArray(SPECIES, bPanel, bi);
            FloatVector b1 = FloatVector.fromArray(SPECIES, bPanel, bi + LANES);
            FloatVector a = FloatVector.broadcast(SPECIES, aPanel[ai]);
            c00 = a.fma(b0, c00);
            c01 = a.fma(b1, c01);
            a = FloatVector.broadcast(SPECIES, aPanel[ai + 1]);
            c10 = a.fma(b0, c10);
            c11 = a.fma(b1, c11);
            a = FloatVector.broadcast(SPECIES, aPanel[ai + 2]);
            c20 = a.fma(b0, c20);
            c21 = a.fma(b1, c21);
            a = FloatVector.broadcast(SPECIES, aPanel[ai + 3]);
            c30 = a.fma(b0, c30);
            c31 = a.fma(b1, c31);
            a = FloatVector.broadcast(SPECIES, aPanel[ai + 4]);
            c40 = a.fma(b0, c40);
            c41 = a.fma(b1, c41);
            a = FloatVector.broadcast(SPECIES, aPanel[ai + 5]);
            c50 = a.fma(b0, c50);
            c51 = a.fma(b1, c51);
            a = FloatVector.broadcast(SPECIES, aPanel[ai + 6]);
            c60 = a.fma(b0, c60);
            c61 = a.fma(b1, c61);
            a = FloatVector.broadcast(SPECIES, aPanel[ai + 7]);
            c70 = a.fma(b0, c70);
            c71 = a.fma(b1, c71);
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

    /**
     * Moves the top-left {@code rows x cols} of {@code tile} into C at {@code c[cIndex + r*ldc + j]}: overwriting
     * when {@code add} is false, adding when true. Padded rows and columns of the tile are dropped.
     */
    static void storeTile(float[] tile, float[] c, int cIndex, int ldc, int rows, int cols, boolean add) {
        if (cols == NR) {
            for (int r = 0; r < rows; r++) {
                storeRow(tile, r * NR, c, cIndex + r * ldc, add);
            }
        } else {
            // Right edge of C: fewer than NR columns remain; a scalar loop is simplest and only runs once per row block.
            for (int r = 0; r < rows; r++) {
                int t = r * NR;
                int ci = cIndex + r * ldc;
                for (int j = 0; j < cols; j++) {
                    c[ci + j] = add ? c[ci + j] + tile[t + j] : tile[t + j];
                }
            }
        }
    }

    private static void storeRow(float[] tile, int t, float[] c, int ci, boolean add) {
        FloatVector v0 = FloatVector.fromArray(SPECIES, tile, t);
        FloatVector v1 = FloatVector.fromArray(SPECIES, tile, t + LANES);
        if (add) {
            v0 = v0.add(FloatVector.fromArray(SPECIES, c, ci));
            v1 = v1.add(FloatVector.fromArray(SPECIES, c, ci + LANES));
        }
        v0.intoArray(c, ci);
        v1.intoArray(c, ci + LANES);
    }
}
