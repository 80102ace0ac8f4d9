package dev.graft.kernels;

/**
 * An {@link Int8Output} with its per-channel constants computed once per call (the same float operations fbgemm
 * performs per element, hoisted: they depend on the channel only), plus the scalar way to apply it to a run of
 * accumulators. The vector kernels read the same arrays, so scalar and vector stages cannot drift apart.
 */
final class PreparedOutput {

    enum Kind { INT32, REQUANTIZE, DEQUANTIZE }

    final Kind kind;
    final Int8Output stage;
    /** Requantize: atw/outScale; dequantize: inScale*wScale. Per channel. */
    final float[] multiplier;
    /** Requantize: bias/atw (0 without bias); dequantize: the bias (null without). Per channel. */
    final float[] biasTerm;
    final int zeroPoint;
    final int lowerBound;

    private PreparedOutput(Kind kind, Int8Output stage, float[] multiplier, float[] biasTerm, int zeroPoint,
                           int lowerBound) {
        this.kind = kind;
        this.stage = stage;
        this.multiplier = multiplier;
        this.biasTerm = biasTerm;
        this.zeroPoint = zeroPoint;
        this.lowerBound = lowerBound;
    }

    static PreparedOutput of(Int8Output stage, PackedInt8Weights w) {
        int n = w.n();
        return switch (stage) {
            case Int8Output.Int32 s -> new PreparedOutput(Kind.INT32, s, null, null, 0, 0);
            case Int8Output.Requantize r -> {
                float[] mult = new float[n];
                float[] biasTerm = new float[n];
                float outScale = r.outputScale();
                for (int j = 0; j < n; j++) {
                    float atw = r.inputScale() * w.scale(j);
                    mult[j] = atw / outScale;
                    biasTerm[j] = r.bias() == null ? 0f : r.bias()[r.biasOff() + j] / atw;
                }
                yield new PreparedOutput(Kind.REQUANTIZE, r, mult, biasTerm, r.outputZeroPoint(),
                        r.relu() ? r.outputZeroPoint() : 0);
            }
            case Int8Output.Dequantize d -> {
                float[] mult = new float[n];
                float[] bias = d.bias() == null ? null : new float[n];
                for (int j = 0; j < n; j++) {
                    mult[j] = d.inputScale() * w.scale(j);
                    if (bias != null) {
                        bias[j] = d.bias()[d.biasOff() + j];
                    }
                }
                yield new PreparedOutput(Kind.DEQUANTIZE, d, mult, bias, 0, 0);
            }
        };
    }

    /** Checks that rows {@code [0, m)} and columns {@code [0, n)} of the destination (and the bias) are in range. */
    void check(String kernel, int m, int n) {
        int off;
        int rs;
        int cs;
        switch (stage) {
            case Int8Output.Int32 s -> { off = s.off(); rs = s.rowStride(); cs = s.colStride(); }
            case Int8Output.Requantize r -> {
                off = r.off(); rs = r.rowStride(); cs = r.colStride();
                checkBias(kernel, r.bias(), r.biasOff(), n);
            }
            case Int8Output.Dequantize d -> {
                off = d.off(); rs = d.rowStride(); cs = d.colStride();
                checkBias(kernel, d.bias(), d.biasOff(), n);
            }
        }
        long lo = off + Math.min(0L, (long) (m - 1) * rs) + Math.min(0L, (long) (n - 1) * cs);
        long hi = off + Math.max(0L, (long) (m - 1) * rs) + Math.max(0L, (long) (n - 1) * cs);
        if (m > 0 && (lo < 0 || hi >= stage.length())) {
            throw new IllegalArgumentException(kernel + ": output [" + m + " x " + n + "] with offset " + off
                    + " and strides (" + rs + ", " + cs + ") addresses [" + lo + ", " + hi + "] but the array has "
                    + stage.length() + " elements");
        }
    }

    private static void checkBias(String kernel, float[] bias, int biasOff, int n) {
        if (bias != null && (biasOff < 0 || (long) biasOff + n > bias.length)) {
            throw new IllegalArgumentException(kernel + ": bias needs " + n + " values from offset " + biasOff
                    + " but has " + bias.length);
        }
    }

    /** fbgemm's requantization of one accumulator (the reference for the vector stage). */
    static int requantize(int acc, float biasTerm, float multiplier, int zeroPoint, int lowerBound) {
        float raw = (float) acc + biasTerm;
        float scaled = raw * multiplier;
        long q = (long) Math.rint(scaled) + zeroPoint;
        return (int) Math.max(lowerBound, Math.min(255L, q));
    }

    /** Float output of one accumulator (fbgemm's FMA form). */
    static float dequantize(int acc, float multiplier, float[] bias, int j) {
        return bias == null ? (float) acc * multiplier : Math.fma((float) acc, multiplier, bias[j]);
    }

    /** Writes {@code acc[accOff + c]} for {@code c < cols} as elements {@code (i, j0 + c)}, scalar. */
    void applyScalar(int i, int j0, int cols, int[] acc, int accOff) {
        switch (stage) {
            case Int8Output.Int32 s -> {
                int base = s.off() + i * s.rowStride();
                for (int c = 0; c < cols; c++) {
                    s.out()[base + (j0 + c) * s.colStride()] = acc[accOff + c];
                }
            }
            case Int8Output.Requantize r -> {
                int base = r.off() + i * r.rowStride();
                for (int c = 0; c < cols; c++) {
                    int j = j0 + c;
                    r.out()[base + j * r.colStride()] = (byte) requantize(acc[accOff + c], biasTerm[j],
                            multiplier[j], zeroPoint, lowerBound);
                }
            }
            case Int8Output.Dequantize d -> {
                int base = d.off() + i * d.rowStride();
                for (int c = 0; c < cols; c++) {
                    int j = j0 + c;
                    d.out()[base + j * d.colStride()] = dequantize(acc[accOff + c], multiplier[j], biasTerm, j);
                }
            }
        }
    }

    /** Shared argument checks; returns the prepared output stage. */
    static PreparedOutput checkGemm(String kernel, int m, byte[] a, int aOff, int lda, int aZeroPoint,
                                PackedInt8Weights w, Int8Output output) {
        java.util.Objects.requireNonNull(a, "a");
        java.util.Objects.requireNonNull(w, "w");
        java.util.Objects.requireNonNull(output, "output");
        if (m < 0) {
            throw new IllegalArgumentException(kernel + ": negative m=" + m);
        }
        if (aZeroPoint < 0 || aZeroPoint > 255) {
            throw new IllegalArgumentException(kernel + ": activation zero point " + aZeroPoint
                    + " is outside [0, 255]");
        }
        if (m > 1 && lda < w.k()) {
            throw new IllegalArgumentException(kernel + ": lda=" + lda + " is smaller than k=" + w.k());
        }
        if (m > 0 && (aOff < 0 || aOff + (long) (m - 1) * lda + w.k() > a.length)) {
            throw new IllegalArgumentException(kernel + ": activations [" + m + " x " + w.k() + "] at offset " + aOff
                    + " with row stride " + lda + " do not fit in " + a.length + " bytes");
        }
        PreparedOutput prepared = PreparedOutput.of(output, w);
        prepared.check(kernel, m, w.n());
        return prepared;
    }
}
