package dev.graft.kernels;

import java.util.Objects;

/**
 * An FP32 weight matrix {@code W[n][k]} (a linear layer's {@code [out][in]}) packed once into the micro-kernel's
 * panel layout, so a linear layer does not repack B on every call (measured: about a fifth of a 128x768x3072
 * product). Layout as {@link PackedInt8Weights}: {@code panels[(q*k + p)*NR + j] = W[q*NR + j][p]}, zero-padded; any
 * K block of a panel is one contiguous run, exactly what {@link VectorMicroKernel#multiplyPanels} reads.
 *
 * <p>Use with {@link VectorFloatGemm#linear}. Immutable, shareable between threads.
 */
public final class PackedFloatWeights {

    final int n;
    final int k;
    final int width;
    final float[] panels;

    private PackedFloatWeights(int n, int k, int width, float[] panels) {
        this.n = n;
        this.k = k;
        this.width = width;
        this.panels = panels;
    }

    /** Packs {@code W[j][p] = weights[off + j*k + p]} for the vector kernel's panel width. */
    public static PackedFloatWeights pack(float[] weights, int off, int n, int k) {
        Objects.requireNonNull(weights, "weights");
        if (n < 1 || k < 1 || off < 0 || off + (long) n * k > weights.length) {
            throw new IllegalArgumentException("PackedFloatWeights: [" + n + " x " + k + "] at offset " + off
                    + " does not fit in " + weights.length + " floats");
        }
        int width = Kernels.floatPanelWidth(); // the vector micro-kernel's NR (or a default for scalar builds)
        int panelsCount = (n + width - 1) / width;
        float[] packed = new float[Math.multiplyExact(Math.multiplyExact(panelsCount, k), width)];
        for (int j = 0; j < n; j++) {
            int q = j / width;
            int lane = j - q * width;
            for (int p = 0; p < k; p++) {
                packed[(q * k + p) * width + lane] = weights[off + j * k + p];
            }
        }
        return new PackedFloatWeights(n, k, width, packed);
    }

    /** Output features. */
    public int n() {
        return n;
    }

    /** Input features. */
    public int k() {
        return k;
    }

    /** {@code W[j][p]}. */
    public float weight(int j, int p) {
        int q = j / width;
        return panels[(q * k + p) * width + (j - q * width)];
    }
}
