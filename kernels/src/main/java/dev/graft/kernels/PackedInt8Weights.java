package dev.graft.kernels;

import java.util.Arrays;
import java.util.Objects;

/**
 * An s8 weight matrix {@code W[n][k]} (PyTorch's {@code [out_features][in_features]}) with per-channel or
 * per-tensor scales and zero points, packed once, when the model is converted, into the layout the INT8 kernels
 * stream through. No kernel ever repacks it.
 *
 * <p>Layout: panels of {@link #panelWidth()} output channels; {@code panels[(q*k + p)*width + j] = W[q*width + j][p]},
 * the last panel zero-padded. For every step {@code p} of the sum, the weights of {@code width} consecutive output
 * channels are then one contiguous run of bytes (a GEMV reads the whole matrix front to back; the GEMM widens a
 * block of it to float once per call and reuses it across all rows of A).
 *
 * <p>Zero-point folding (gemmlowp, XNNPACK): {@link #columnSum(int)} {@code = sum_p W[j][p]} is computed here, so
 * the integer reference gets {@code sum_p (x-zx)(w-zw) = sum xw - zw*sum x - zx*colSum + k*zx*zw} without a pass
 * over W per call. The vector kernels subtract the zero points when widening instead, which costs nothing there.
 *
 * <p>Immutable after construction and safe to share between threads.
 */
public final class PackedInt8Weights {

    /** Panel width when the vector kernels are absent; any width works for the scalar kernels. */
    static final int DEFAULT_PANEL_WIDTH = 32;

    private final int n;
    private final int k;
    private final int width;
    private final byte[] panels;
    private final float[] scales;
    private final int[] zeroPoints;
    private final int[] columnSums;
    private final boolean symmetric;

    private PackedInt8Weights(int n, int k, int width, byte[] panels, float[] scales, int[] zeroPoints,
                              int[] columnSums) {
        this.n = n;
        this.k = k;
        this.width = width;
        this.panels = panels;
        this.scales = scales;
        this.zeroPoints = zeroPoints;
        this.columnSums = columnSums;
        boolean allZero = true;
        for (int z : zeroPoints) {
            allZero &= z == 0;
        }
        this.symmetric = allZero;
    }

    /**
     * Packs {@code W[j][p] = weights[off + j*k + p]} (row-major {@code [n][k]}, s8).
     *
     * @param scales     {@code n} per-channel scales, or one per-tensor scale (each used as a float32)
     * @param zeroPoints {@code n} or one zero point in {@code [-128, 127]}, or {@code null} for all zero (symmetric)
     * @throws IllegalArgumentException on inconsistent sizes or out-of-range zero points
     */
    public static PackedInt8Weights pack(byte[] weights, int off, int n, int k, float[] scales, int[] zeroPoints) {
        return pack(weights, off, n, k, scales, zeroPoints, Kernels.int8PanelWidth());
    }

    /** {@link #pack} with an explicit panel width (tests use odd widths to reach every padding case). */
    static PackedInt8Weights pack(byte[] weights, int off, int n, int k, float[] scales, int[] zeroPoints,
                                  int width) {
        Objects.requireNonNull(weights, "weights");
        Objects.requireNonNull(scales, "scales");
        if (n < 1 || k < 1 || width < 1) {
            throw new IllegalArgumentException("PackedInt8Weights: need n >= 1 and k >= 1, got n=" + n + ", k=" + k);
        }
        if (off < 0 || (long) off + (long) n * k > weights.length) {
            throw new IllegalArgumentException("PackedInt8Weights: [" + n + " x " + k + "] at offset " + off
                    + " does not fit in " + weights.length + " bytes");
        }
        float[] s = perChannel("scales", scales, n);
        int[] z = zeroPoints == null ? new int[n] : perChannel(zeroPoints, n);
        for (int j = 0; j < n; j++) {
            if (z[j] < -128 || z[j] > 127) {
                throw new IllegalArgumentException("PackedInt8Weights: zero point " + z[j] + " of channel " + j
                        + " is outside [-128, 127]");
            }
            if (!(s[j] > 0) || Float.isInfinite(s[j])) {
                throw new IllegalArgumentException("PackedInt8Weights: scale " + s[j] + " of channel " + j
                        + " must be finite and > 0");
            }
        }
        int panelsCount = (n + width - 1) / width;
        byte[] packed = new byte[Math.multiplyExact(Math.multiplyExact(panelsCount, k), width)];
        int[] sums = new int[n];
        for (int j = 0; j < n; j++) {
            int q = j / width;
            int lane = j - q * width;
            int src = off + j * k;
            int sum = 0;
            for (int p = 0; p < k; p++) {
                byte w = weights[src + p];
                packed[(q * k + p) * width + lane] = w;
                sum += w;
            }
            sums[j] = sum;
        }
        return new PackedInt8Weights(n, k, width, packed, s, z, sums);
    }

    private static float[] perChannel(String what, float[] values, int n) {
        if (values.length == n) {
            return values.clone();
        }
        if (values.length == 1) {
            float[] all = new float[n];
            Arrays.fill(all, values[0]);
            return all;
        }
        throw new IllegalArgumentException("PackedInt8Weights: " + what + " has " + values.length
                + " entries; need 1 (per tensor) or n=" + n + " (per channel)");
    }

    private static int[] perChannel(int[] values, int n) {
        if (values.length == n) {
            return values.clone();
        }
        if (values.length == 1) {
            int[] all = new int[n];
            Arrays.fill(all, values[0]);
            return all;
        }
        throw new IllegalArgumentException("PackedInt8Weights: zeroPoints has " + values.length
                + " entries; need 1 (per tensor) or n=" + n + " (per channel)");
    }

    /** Output channels (rows of W, columns of the product). */
    public int n() {
        return n;
    }

    /** Input features (the summed dimension). */
    public int k() {
        return k;
    }

    /** Output channels per packed panel. */
    public int panelWidth() {
        return width;
    }

    /** Scale of output channel {@code j} (float32, as fbgemm uses it). */
    public float scale(int j) {
        return scales[j];
    }

    /** Zero point of output channel {@code j}. */
    public int zeroPoint(int j) {
        return zeroPoints[j];
    }

    /** {@code sum_p W[j][p]} of the raw s8 values. */
    public int columnSum(int j) {
        return columnSums[j];
    }

    /** True when every zero point is 0 (symmetric weights, PyTorch's default). */
    public boolean symmetric() {
        return symmetric;
    }

    /** {@code W[j][p]}. */
    public byte weight(int j, int p) {
        int q = j / width;
        return panels[(q * k + p) * width + (j - q * width)];
    }

    /** Bytes held (the packed panels); for size reports. */
    public long sizeInBytes() {
        return panels.length + 12L * n;
    }

    byte[] panels() {
        return panels;
    }

    float[] scales() {
        return scales;
    }

    int[] zeroPoints() {
        return zeroPoints;
    }

    @Override
    public String toString() {
        return "PackedInt8Weights[" + n + " x " + k + ", panels of " + width + (symmetric ? ", symmetric]" : "]");
    }
}
