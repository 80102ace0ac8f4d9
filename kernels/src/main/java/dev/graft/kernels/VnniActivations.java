package dev.graft.kernels;

/**
 * Activations laid out like VNNI weights, for the generated kernel's {@code WEIGHT_ROWS} form (a convolution whose
 * output stays NCHW): from an im2col matrix ({@code k} rows of {@code m} pixels, {@code X[i][p] = aT[aOff +
 * p*ldaT + i]}) to panels of 64 pixels, K in groups of four, each pixel's four bytes adjacent:
 * {@code packed[((q*k4 + g)*64 + lane)*4 + t] = X[q*64 + lane][4g + t]}. Bytes past K or past {@code m} are left
 * zero (they meet zero weights or masked-off columns).
 */
final class VnniActivations {

    private VnniActivations() {
    }

    /** Bytes {@link #pack} writes for {@code m} pixels and {@code k} features. */
    static int packedBytes(int m, int k) {
        return Math.multiplyExact(Math.multiplyExact((m + 63) / 64, (k + 3) / 4), 256);
    }

    /** Packs {@code X} into {@code packed} (at least {@link #packedBytes} long, zero-filled by the caller). */
    static void pack(byte[] aT, int aOff, int ldaT, int m, int k, byte[] packed) {
        if (Kernels.vectorKernels()) {
            VectorVnniActivations.pack(aT, aOff, ldaT, m, k, packed);
        } else {
            packScalar(aT, aOff, ldaT, m, k, packed, 0);
        }
    }

    /** The reference, and the vector version's tail: pixels {@code [from, m)}. */
    static void packScalar(byte[] aT, int aOff, int ldaT, int m, int k, byte[] packed, int from) {
        int k4 = (k + 3) / 4;
        for (int p = 0; p < k; p++) {
            int src = aOff + p * ldaT;
            int g = p >> 2;
            int t = p & 3;
            for (int i = from; i < m; i++) {
                packed[(((i >> 6) * k4 + g) * 64 + (i & 63)) * 4 + t] = aT[src + i];
            }
        }
    }

    /** {@code -sum_p X[i][p]} per pixel, in panels of 64 (the term the weights' zero points multiply). */
    static int[] negatedPixelSums(byte[] aT, int aOff, int ldaT, int m, int k) {
        int[] sums = new int[(m + 63) / 64 * 64];
        for (int p = 0; p < k; p++) {
            int src = aOff + p * ldaT;
            for (int i = 0; i < m; i++) {
                sums[i] -= aT[src + i] & 0xFF;
            }
        }
        return sums;
    }
}
