package dev.graft.kernels;

import java.util.Objects;

/**
 * Quantized 2-D convolution weights {@code [oc][c/groups][kh][kw]} (s8, per-channel or per-tensor scales and zero
 * points), packed once for {@link Int8Conv2d}: one {@link PackedInt8Weights} per group for the im2row + GEMM path
 * ({@code n = oc/groups}, {@code k = c/groups*kh*kw}, in {@code (ci, ky, kx)} order), or, for depthwise weights
 * ({@code groups == oc}, one input channel each), the taps as they are plus their sums.
 */
public final class PackedConvWeights {

    final int oc;
    final int cpg;
    final int kh;
    final int kw;
    final int groups;
    /** GEMM path: one packing per group; null for depthwise. */
    final PackedInt8Weights[] perGroup;
    /** Depthwise: taps {@code [oc][kh*kw]} as ints, scales, zero points and tap sums per channel. */
    final int[] taps;
    final float[] scales;
    final int[] zeroPoints;
    final int[] tapSums;

    private PackedConvWeights(int oc, int cpg, int kh, int kw, int groups, PackedInt8Weights[] perGroup,
                              int[] taps, float[] scales, int[] zeroPoints, int[] tapSums) {
        this.oc = oc;
        this.cpg = cpg;
        this.kh = kh;
        this.kw = kw;
        this.groups = groups;
        this.perGroup = perGroup;
        this.taps = taps;
        this.scales = scales;
        this.zeroPoints = zeroPoints;
        this.tapSums = tapSums;
    }

    /**
     * Packs {@code weight[((o*cpg + ci)*kh + ky)*kw + kx]}.
     *
     * @param scales     {@code oc} scales or one
     * @param zeroPoints {@code oc} zero points or one, or {@code null} for symmetric weights
     */
    public static PackedConvWeights pack(byte[] weight, int oc, int cpg, int kh, int kw, int groups,
                                         float[] scales, int[] zeroPoints) {
        return pack(weight, oc, cpg, kh, kw, groups, scales, zeroPoints, Kernels.int8Gemm());
    }

    /** {@link #pack} for a given INT8 GEMM rather than the one chosen at start-up (benchmarks, tests). */
    public static PackedConvWeights pack(byte[] weight, int oc, int cpg, int kh, int kw, int groups,
                                         float[] scales, int[] zeroPoints, Int8Gemm gemm) {
        Objects.requireNonNull(weight, "weight");
        if (oc < 1 || cpg < 1 || kh < 1 || kw < 1 || groups < 1 || oc % groups != 0) {
            throw new IllegalArgumentException("PackedConvWeights: bad shape oc=" + oc + " c/groups=" + cpg
                    + " kernel " + kh + "x" + kw + " groups=" + groups);
        }
        int k = cpg * kh * kw;
        if ((long) oc * k > weight.length) {
            throw new IllegalArgumentException("PackedConvWeights: weight has " + weight.length + " values, needs "
                    + (long) oc * k);
        }
        int opg = oc / groups;
        if (cpg == 1 && opg == 1) {
            PackedInt8Weights all = PackedInt8Weights.pack(weight, 0, oc, k, scales, zeroPoints,
                    PackedInt8Weights.DEFAULT_PANEL_WIDTH);
            int[] taps = new int[oc * k];
            float[] s = new float[oc];
            int[] z = new int[oc];
            int[] sums = new int[oc];
            for (int o = 0; o < oc; o++) {
                for (int t = 0; t < k; t++) {
                    taps[o * k + t] = weight[o * k + t];
                }
                s[o] = all.scale(o);
                z[o] = all.zeroPoint(o);
                sums[o] = all.columnSum(o);
            }
            return new PackedConvWeights(oc, cpg, kh, kw, groups, null, taps, s, z, sums);
        }
        PackedInt8Weights[] per = new PackedInt8Weights[groups];
        for (int g = 0; g < groups; g++) {
            per[g] = PackedInt8Weights.pack(weight, g * opg * k, opg, k, slice(scales, g * opg, opg),
                    zeroPoints == null ? null : slice(zeroPoints, g * opg, opg), gemm);
        }
        return new PackedConvWeights(oc, cpg, kh, kw, groups, per, null, null, null, null);
    }

    private static float[] slice(float[] v, int from, int len) {
        return v.length == 1 ? v : java.util.Arrays.copyOfRange(v, from, from + len);
    }

    private static int[] slice(int[] v, int from, int len) {
        return v.length == 1 ? v : java.util.Arrays.copyOfRange(v, from, from + len);
    }

    /** True for depthwise weights (one input channel per group and one output channel per group). */
    public boolean depthwise() {
        return perGroup == null;
    }

    /** Output channels. */
    public int outChannels() {
        return oc;
    }

    /** Groups. */
    public int groups() {
        return groups;
    }

    /** Kernel height. */
    public int kernelH() {
        return kh;
    }

    /** Kernel width. */
    public int kernelW() {
        return kw;
    }

    /** Input channels per group. */
    public int inChannelsPerGroup() {
        return cpg;
    }
}
