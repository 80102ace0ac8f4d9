package dev.graft.kernels;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Objects;

/**
 * An s8 weight matrix {@code W[n][k]} (PyTorch's {@code [out_features][in_features]}) with per-channel or
 * per-tensor scales and zero points, packed once, when the model is converted, into the layout the INT8 kernels
 * stream through. No kernel ever repacks it.
 *
 * <p>Two layouts, chosen by the INT8 GEMM the weights are packed for ({@link Layout}):
 * <ul>
 *   <li>{@link Layout#PANELS} (Vector API and scalar kernels): panels of {@link #panelWidth()} output channels;
 *       {@code panels[(q*k + p)*width + j] = W[q*width + j][p]}, the last panel zero-padded. For every step {@code p}
 *       of the sum, the weights of {@code width} consecutive output channels are one contiguous run of bytes.</li>
 *   <li>{@link Layout#VNNI} (generated AVX-512 VNNI kernels): the same panels, but K in groups of four, each column's
 *       four weights adjacent: byte {@code ((q*groups + g)*width + j)*4 + t} is {@code W[q*width + j][4g + t]}, zero
 *       past K and past N, with {@link #vnniGroups()} the K groups rounded up to a multiple of 16; from 64 KiB on
 *       in 64-byte aligned off-heap memory. One 64-byte load is the second operand of one {@code vpdpbusd} for 16
 *       columns, and 16 groups of 16 columns (rows 256 bytes apart) one AMX weight tile.</li>
 * </ul>
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

    /** VNNI-layout weights from this size on live in aligned off-heap memory. */
    static final long OFF_HEAP_BYTES = 64 * 1024;

    /** Four bytes of a byte[] as one little-endian int (the per-call packers move groups of four at a time). */
    private static final VarHandle QUADS = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    /** XOR with this subtracts 128 from each of four u8 bytes, giving the s8 bytes (u - 128 = u ^ 0x80 as a byte). */
    private static final int SHIFT4 = 0x80808080;

    /** How the bytes are laid out; each {@link Int8Gemm} reads one (the scalar reference reads both). */
    enum Layout { PANELS, VNNI }

    private final int n;
    private final int k;
    private final int width;
    private final Layout layout;
    /** {@link Layout#PANELS}: the panels; null for VNNI. */
    private final byte[] panels;
    /** {@link Layout#VNNI}: the groups of four; null for PANELS. */
    private final MemorySegment vnni;
    private final float[] scales;
    private final int[] zeroPoints;
    private final int[] columnSums;
    private final boolean symmetric;

    private PackedInt8Weights(int n, int k, int width, Layout layout, byte[] panels, MemorySegment vnni,
                              float[] scales, int[] zeroPoints, int[] columnSums) {
        this.n = n;
        this.k = k;
        this.width = width;
        this.layout = layout;
        this.panels = panels;
        this.vnni = vnni;
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
        return pack(weights, off, n, k, scales, zeroPoints, Kernels.int8PanelWidth(), Kernels.int8Layout());
    }

    /**
     * {@link #pack} for a given INT8 GEMM rather than the one chosen at start-up (tests and benchmarks that run
     * several providers side by side).
     */
    public static PackedInt8Weights pack(byte[] weights, int off, int n, int k, float[] scales, int[] zeroPoints,
                                         Int8Gemm gemm) {
        return switch (gemm) {
            case JitInt8Gemm jit -> pack(weights, off, n, k, scales, zeroPoints, JitInt8Gemm.PANEL_WIDTH, Layout.VNNI);
            case VectorInt8Gemm vector -> pack(weights, off, n, k, scales, zeroPoints, VectorInt8Gemm.panelWidth(),
                    Layout.PANELS);
            default -> pack(weights, off, n, k, scales, zeroPoints, DEFAULT_PANEL_WIDTH, Layout.PANELS);
        };
    }

    /**
     * The right operand of a u8 x u8 product as s8 weights, packed in one pass: {@code W[j][p] = b[off + p*ldb + j]
     * - 128} for {@code j < n}, {@code p < k} (B stored {@code [k][n]} row-major, u8), with one per-tensor scale and
     * zero point (in [-128, 127], already shifted by the caller). The same weights, sums and layout as {@link #pack}
     * on the shifted transpose, without the transposed copy: an attention product packs one of these per head and
     * call, where the copy, the second pass and its allocations cost several times the product itself.
     */
    public static PackedInt8Weights packShiftedRows(byte[] b, int off, int ldb, int k, int n, float scale,
                                                    int zeroPoint, Int8Gemm gemm) {
        Objects.requireNonNull(b, "b");
        if (n < 1 || k < 1 || ldb < n) {
            throw new IllegalArgumentException("PackedInt8Weights: need n >= 1, k >= 1 and ldb >= n, got n=" + n
                    + ", k=" + k + ", ldb=" + ldb);
        }
        if (off < 0 || (long) off + (long) (k - 1) * ldb + n > b.length) {
            throw new IllegalArgumentException("PackedInt8Weights: [" + k + " x " + n + "] at offset " + off
                    + " with row stride " + ldb + " does not fit in " + b.length + " bytes");
        }
        if (!(gemm instanceof JitInt8Gemm)) { // the panel layouts: through the transposed copy
            byte[] w = new byte[n * k];
            for (int p = 0; p < k; p++) {
                for (int j = 0; j < n; j++) {
                    w[j * k + p] = (byte) ((b[off + p * ldb + j] & 0xFF) - 128);
                }
            }
            return pack(w, 0, n, k, new float[] {scale}, new int[] {zeroPoint}, gemm);
        }
        if (zeroPoint < -128 || zeroPoint > 127) {
            throw new IllegalArgumentException("PackedInt8Weights: zero point " + zeroPoint + " is outside [-128, 127]");
        }
        if (!(scale > 0) || Float.isInfinite(scale)) {
            throw new IllegalArgumentException("PackedInt8Weights: scale " + scale + " must be finite and > 0");
        }
        int width = JitInt8Gemm.PANEL_WIDTH;
        int panels = (n + width - 1) / width;
        int groups = vnniGroups(k);
        byte[] packed = new byte[Math.toIntExact(Math.multiplyExact((long) panels * groups * width, 4L))];
        int[] sums = new int[n];
        int panelBytes = groups * width * 4;
        int whole = k & ~3;
        // Four rows of B at a time: column j's four bytes are one group of W[j], one int of the packed panel.
        for (int p = 0; p < whole; p += 4) {
            int r0 = off + p * ldb;
            int groupBase = (p >> 2) * width * 4;
            for (int j = 0; j < n; j++) {
                int b0 = b[r0 + j] & 0xFF;
                int b1 = b[r0 + ldb + j] & 0xFF;
                int b2 = b[r0 + 2 * ldb + j] & 0xFF;
                int b3 = b[r0 + 3 * ldb + j] & 0xFF;
                sums[j] += b0 + b1 + b2 + b3 - 512;
                int at = (j / width) * panelBytes + groupBase + (j % width) * 4;
                QUADS.set(packed, at, (b0 | b1 << 8 | b2 << 16 | b3 << 24) ^ SHIFT4);
            }
        }
        for (int p = whole; p < k; p++) {
            int row = off + p * ldb;
            int groupBase = (p >> 2) * width * 4 + (p & 3);
            for (int j = 0; j < n; j++) {
                int v = (b[row + j] & 0xFF) - 128;
                sums[j] += v;
                packed[(j / width) * panelBytes + groupBase + (j % width) * 4] = (byte) v;
            }
        }
        float[] scales = new float[n];
        Arrays.fill(scales, scale);
        int[] zeroPoints = new int[n];
        Arrays.fill(zeroPoints, zeroPoint);
        return new PackedInt8Weights(n, k, width, Layout.VNNI, null, MemorySegment.ofArray(packed), scales,
                zeroPoints, sums);
    }

    /**
     * The transposed right operand of a u8 x u8 product as s8 weights: {@code W[j][p] = w[off + j*ldw + p] - 128}
     * for {@code j < n}, {@code p < k} (W stored {@code [n][k]}, rows {@code ldw} apart, u8): attention's
     * {@code Q K^T} packs each head's K rows this way, read in place. Scale and zero point as in
     * {@link #packShiftedRows}; the same weights, sums and layout as {@link #pack} on the shifted copy.
     */
    public static PackedInt8Weights packShifted(byte[] w, int off, int ldw, int n, int k, float scale, int zeroPoint,
                                                Int8Gemm gemm) {
        Objects.requireNonNull(w, "w");
        if (n < 1 || k < 1 || ldw < k) {
            throw new IllegalArgumentException("PackedInt8Weights: need n >= 1, k >= 1 and ldw >= k, got n=" + n
                    + ", k=" + k + ", ldw=" + ldw);
        }
        if (off < 0 || (long) off + (long) (n - 1) * ldw + k > w.length) {
            throw new IllegalArgumentException("PackedInt8Weights: [" + n + " x " + k + "] at offset " + off
                    + " with row stride " + ldw + " does not fit in " + w.length + " bytes");
        }
        if (!(gemm instanceof JitInt8Gemm)) { // the panel layouts: through the shifted copy
            byte[] shifted = new byte[n * k];
            for (int j = 0; j < n; j++) {
                for (int p = 0; p < k; p++) {
                    shifted[j * k + p] = (byte) ((w[off + j * ldw + p] & 0xFF) - 128);
                }
            }
            return pack(shifted, 0, n, k, new float[] {scale}, new int[] {zeroPoint}, gemm);
        }
        if (zeroPoint < -128 || zeroPoint > 127) {
            throw new IllegalArgumentException("PackedInt8Weights: zero point " + zeroPoint + " is outside [-128, 127]");
        }
        if (!(scale > 0) || Float.isInfinite(scale)) {
            throw new IllegalArgumentException("PackedInt8Weights: scale " + scale + " must be finite and > 0");
        }
        int width = JitInt8Gemm.PANEL_WIDTH;
        int panels = (n + width - 1) / width;
        int groups = vnniGroups(k);
        byte[] packed = new byte[Math.toIntExact(Math.multiplyExact((long) panels * groups * width, 4L))];
        int[] sums = new int[n];
        int quads = k >> 2;
        for (int j = 0; j < n; j++) {
            int row = off + j * ldw;
            // W[j][4g + t] sits at ((q*groups + g)*width + lane)*4 + t: each group of four is four adjacent bytes,
            // moved as one int. The row's sum is kept as two 16-bit halves (bytes 0+1+2+3 of each int land in
            // them pairwise, at most 510 per int), emptied every 128 ints before they can overflow.
            int at = ((j / width) * groups * width + j % width) * 4;
            int sum = 0;
            int halves = 0;
            for (int g = 0; g < quads; g++) {
                int u = (int) QUADS.get(w, row + 4 * g);
                QUADS.set(packed, at + g * width * 4, u ^ SHIFT4);
                halves += (u & 0x00FF00FF) + ((u >>> 8) & 0x00FF00FF);
                if ((g & 127) == 127) {
                    sum += (halves & 0xFFFF) + (halves >>> 16);
                    halves = 0;
                }
            }
            sum += (halves & 0xFFFF) + (halves >>> 16) - 512 * quads;
            for (int p = 4 * quads; p < k; p++) {
                int v = (w[row + p] & 0xFF) - 128;
                sum += v;
                packed[at + (p >> 2) * width * 4 + (p & 3)] = (byte) v;
            }
            sums[j] = sum;
        }
        float[] scales = new float[n];
        Arrays.fill(scales, scale);
        int[] zeroPoints = new int[n];
        Arrays.fill(zeroPoints, zeroPoint);
        return new PackedInt8Weights(n, k, width, Layout.VNNI, null, MemorySegment.ofArray(packed), scales,
                zeroPoints, sums);
    }

    /** {@link #pack} in the panel layout with an explicit width (tests use odd widths to reach every padding case). */
    static PackedInt8Weights pack(byte[] weights, int off, int n, int k, float[] scales, int[] zeroPoints,
                                  int width) {
        return pack(weights, off, n, k, scales, zeroPoints, width, Layout.PANELS);
    }

    /** {@link #pack} for an explicit kernel layout and panel width. */
    static PackedInt8Weights pack(byte[] weights, int off, int n, int k, float[] scales, int[] zeroPoints,
                                  int width, Layout layout) {
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
        int[] sums = new int[n];
        for (int j = 0; j < n; j++) {
            int sum = 0;
            for (int p = 0; p < k; p++) {
                sum += weights[off + j * k + p];
            }
            sums[j] = sum;
        }
        if (layout == Layout.VNNI) {
            int groups = vnniGroups(k);
            long bytes = Math.multiplyExact(Math.multiplyExact((long) panelsCount * groups, width), 4L);
            byte[] packed = new byte[Math.toIntExact(bytes)];
            for (int j = 0; j < n; j++) {
                int q = j / width;
                int lane = j - q * width;
                for (int p = 0; p < k; p++) {
                    packed[((q * groups + p / 4) * width + lane) * 4 + (p & 3)] = weights[off + j * k + p];
                }
            }
            // A model's weights go off-heap, 64-byte aligned, so every vector load of the generated kernel is one
            // cache line (freed with these weights by the GC). Small matrices packed per call (attention's K and V
            // per head) stay on the heap: an off-heap allocation per call costs more than the split loads.
            MemorySegment segment = MemorySegment.ofArray(packed);
            if (bytes >= OFF_HEAP_BYTES) {
                segment = Arena.ofAuto().allocate(bytes, 64);
                MemorySegment.copy(packed, 0, segment, ValueLayout.JAVA_BYTE, 0, packed.length);
            }
            return new PackedInt8Weights(n, k, width, layout, null, segment, s, z, sums);
        }
        byte[] packed = new byte[Math.multiplyExact(Math.multiplyExact(panelsCount, k), width)];
        for (int j = 0; j < n; j++) {
            int q = j / width;
            int lane = j - q * width;
            for (int p = 0; p < k; p++) {
                packed[(q * k + p) * width + lane] = weights[off + j * k + p];
            }
        }
        return new PackedInt8Weights(n, k, width, layout, packed, null, s, z, sums);
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
        if (layout == Layout.VNNI) {
            int groups = vnniGroups(k);
            return vnni.get(ValueLayout.JAVA_BYTE, ((long) (q * groups + p / 4) * width + (j - q * width)) * 4 + (p & 3));
        }
        return panels[(q * k + p) * width + (j - q * width)];
    }

    /**
     * K groups of four per panel in {@link Layout#VNNI}: {@code ceil(k/4)} rounded up to a multiple of 16 with zero
     * weights, so an AMX kernel can step K in whole tiles (the VNNI kernels read only the first {@code ceil(k/4)}).
     */
    static int vnniGroups(int k) {
        return ((k + 3) / 4 + 15) / 16 * 16;
    }

    /** {@link #vnniGroups(int)} of these weights. */
    int vnniGroups() {
        return vnniGroups(k);
    }

    /** Bytes of one panel in {@link Layout#VNNI}. */
    long vnniPanelBytes() {
        return (long) vnniGroups() * width * 4;
    }

    /** Bytes held (the packed weights); for size reports. */
    public long sizeInBytes() {
        return (layout == Layout.VNNI ? vnni.byteSize() : panels.length) + 12L * n;
    }

    Layout layout() {
        return layout;
    }

    /** The panels of {@link Layout#PANELS}. */
    byte[] panels() {
        if (layout != Layout.PANELS) {
            throw new IllegalStateException("weights packed in the " + layout + " layout have no byte panels");
        }
        return panels;
    }

    /** The groups of four of {@link Layout#VNNI}. */
    MemorySegment vnni() {
        if (layout != Layout.VNNI) {
            throw new IllegalStateException("weights packed in the " + layout + " layout have no VNNI groups");
        }
        return vnni;
    }

    float[] scales() {
        return scales;
    }

    int[] zeroPoints() {
        return zeroPoints;
    }

    @Override
    public String toString() {
        return "PackedInt8Weights[" + n + " x " + k + ", " + (layout == Layout.VNNI ? "VNNI " : "") + "panels of "
                + width + (symmetric ? ", symmetric]" : "]");
    }
}
