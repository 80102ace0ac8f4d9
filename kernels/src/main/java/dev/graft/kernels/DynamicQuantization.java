package dev.graft.kernels;

import java.util.Objects;

/**
 * Dynamic quantization of activations, as PyTorch 1.13's fbgemm {@code quantized::linear_dynamic} does it per call:
 * qparams from the input's min and max ({@code ChooseQuantizationParams}), quantize, INT8 GEMM, float output.
 * {@link #linearPerToken} is the per-token form (torchao's asymmetric per-token activations): one scale and zero
 * point per row of the input.
 */
public final class DynamicQuantization {

    /** torchao's {@code eps} for per-token activations: {@code torch.finfo(torch.float32).eps}. */
    private static final float PER_TOKEN_EPS = Math.ulp(1f);

    /**
     * Int32 accumulators per block of rows in {@link #linearPerToken} (512 KiB: an L2 of 2 MiB holds them with the
     * block's activations and the weights' current panels).
     */
    private static final int PER_TOKEN_BLOCK_INTS = 1 << 17;

    /** fbgemm's {@code SMALL_SCALE_THRESHOLD}. */
    private static final float SMALL_SCALE = 6.1e-5f;

    private DynamicQuantization() {
    }

    /** Affine u8 quantization parameters; kernels use {@code (float) scale}. */
    public record Params(double scale, int zeroPoint) {
    }

    /**
     * {@code ChooseQuantizationParams(min, max, 0, 255, preserve_sparsity=false, force_power_of_two=false,
     * reduceRange)}: the range is widened to contain 0, the scale computed in double, a too-small scale raised to
     * 6.1e-5 (stretching the range), and the zero point taken from whichever end loses less, rounded half to even.
     * With {@code reduceRange} the integer range is {@code [0, 127]}.
     */
    public static Params chooseParams(float min, float max, boolean reduceRange) {
        if (!(min <= max)) {
            throw new IllegalArgumentException("chooseParams: min " + min + " > max " + max + " (or NaN)");
        }
        int qmin = 0;
        int qmax = reduceRange ? 127 : 255;
        min = Math.min(min, 0f);
        max = Math.max(max, 0f);
        double scale = ((double) max - min) / (qmax - qmin);
        if ((float) scale == 0f || Float.isInfinite(1f / (float) scale)) {
            scale = 0.1;
        }
        if (scale < SMALL_SCALE) {
            float original = (float) scale;
            scale = SMALL_SCALE;
            if (min == 0f) {
                max = SMALL_SCALE * (qmax - qmin);
            } else if (max == 0f) {
                min = -SMALL_SCALE * (qmax - qmin);
            } else {
                float amplifier = SMALL_SCALE / original;
                min *= amplifier;
                max *= amplifier;
            }
        }
        double fromMin = qmin - min / scale;
        double fromMax = qmax - max / scale;
        double errorMin = Math.abs(qmin) - Math.abs(min / scale);
        double errorMax = Math.abs(qmax) - Math.abs(max / scale);
        double initial = errorMin < errorMax ? fromMin : fromMax;
        int zeroPoint;
        if (initial < qmin) {
            zeroPoint = qmin;
        } else if (initial > qmax) {
            zeroPoint = qmax;
        } else {
            zeroPoint = (int) Math.rint(initial);
        }
        return new Params(scale, zeroPoint);
    }

    /**
     * fbgemm's vector {@code Quantize<uint8_t>}: {@code q = clamp(rint(fma(x, 1/scale, zeroPoint)), 0, 255)} with
     * {@code 1/scale} rounded to float once. Writes {@code out[outOff + i]} for {@code i < len}.
     */
    public static void quantize(float[] x, int xOff, int len, float scale, int zeroPoint, byte[] out, int outOff) {
        Objects.checkFromIndexSize(xOff, len, x.length);
        Objects.checkFromIndexSize(outOff, len, out.length);
        float inverse = 1f / scale;
        if (Kernels.vectorKernels()) {
            VectorQuantization.quantizeFma(x, xOff, out, outOff, len, inverse, zeroPoint);
            return;
        }
        quantizeReference(x, xOff, len, inverse, zeroPoint, out, outOff);
    }

    /** The scalar reference of {@link #quantize}, given {@code 1/scale} already rounded to float. */
    static void quantizeReference(float[] x, int xOff, int len, float inverse, int zeroPoint, byte[] out,
                                  int outOff) {
        float zp = zeroPoint;
        for (int i = 0; i < len; i++) {
            out[outOff + i] = (byte) quantizeOne(x[xOff + i], inverse, zp);
        }
    }

    /** One value of {@link #quantize}. */
    static int quantizeOne(float x, float inverse, float zp) {
        return Math.max(0, Math.min(255, (int) Math.rint(Math.fma(x, inverse, zp))));
    }

    /** {@code {min, max}} of the values, NaN propagating as {@link Math#min} does. */
    static float[] minMax(float[] x, int xOff, int len) {
        if (Kernels.vectorKernels()) {
            return VectorQuantization.minMax(x, xOff, len);
        }
        float min = Float.POSITIVE_INFINITY;
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < len; i++) {
            min = Math.min(min, x[xOff + i]);
            max = Math.max(max, x[xOff + i]);
        }
        return new float[] {min, max};
    }

    /**
     * Dynamic quantized linear: {@code y[i][j] = fma(acc, float(sx) * sw[j], bias[j])} where the activations'
     * qparams come from the min and max of all of {@code x[xOff .. xOff + m*k)} (row-major {@code [m][k]}) and
     * {@code acc} is the exact int32 dot product of centred u8 activations and s8 weights. Writes row-major
     * {@code y[yOff + i*n + j]}. Returns the activation parameters used.
     */
    public static Params linear(int m, float[] x, int xOff, PackedInt8Weights w, float[] bias, boolean reduceRange,
                                float[] y, int yOff, Int8Gemm gemm) {
        return linear(m, x, xOff, w, bias, reduceRange, Activation.NONE, y, yOff, gemm);
    }

    /**
     * As above with an activation on the outputs. With one ({@link Activation#GELU}), the rows go to the GEMM in
     * blocks whose outputs still sit in the L2 cache when the activation runs over them; the qparams are the whole
     * input's, and each row's sums do not depend on the block, so the bits are those of the linear followed by
     * {@link Elementwise#gelu}.
     */
    public static Params linear(int m, float[] x, int xOff, PackedInt8Weights w, float[] bias, boolean reduceRange,
                                Activation act, float[] y, int yOff, Int8Gemm gemm) {
        int k = w.k();
        int n = w.n();
        int len = Math.multiplyExact(m, k);
        Objects.checkFromIndexSize(xOff, len, x.length);
        float[] range = len == 0 ? new float[2] : minMax(x, xOff, len);
        Params p = chooseParams(range[0], range[1], reduceRange);
        float scale = (float) p.scale();
        byte[] q = ByteScratch.take(len);
        try {
            quantize(x, xOff, len, scale, p.zeroPoint(), q, 0);
            dequantizingGemm(gemm, m, q, 0, k, p.zeroPoint(), w, scale, bias, act, y, yOff);
        } finally {
            ByteScratch.give(q);
        }
        return p;
    }

    /**
     * {@code y = act(dequantize(q x w^T) + bias)} for {@code m} rows of quantized activations (scale {@code scale},
     * zero point {@code zx}, {@code lda = k}), row-major {@code y}. With an activation the rows go to the GEMM in
     * blocks whose outputs are still in the L2 cache when the activation runs over them (each row's sums do not
     * depend on the block: the bits of the GEMM followed by the separate activation). Shared by the dynamic and
     * the static float-output INT8 linears.
     */
    public static void dequantizingGemm(Int8Gemm gemm, int m, byte[] q, int qOff, int k, int zx, PackedInt8Weights w,
                                        float scale, float[] bias, Activation act, float[] y, int yOff) {
        int n = w.n();
        int block = act == Activation.NONE ? Math.max(m, 1) : activationBlockRows(n);
        for (int i0 = 0; i0 < m; i0 += block) {
            int rows = Math.min(block, m - i0);
            gemm.gemm(rows, q, qOff + i0 * k, k, zx, w, new Int8Output.Dequantize(scale, bias, y, yOff + i0 * n, n));
            activate(act, y, yOff + i0 * n, rows * n);
        }
    }

    /**
     * {@link #dequantizingGemm} whose float outputs (after the activation) are scaled per channel and quantized
     * right away: {@code out[i][j] = quantize(y[i][j] * factors[j], outScale, outZero)} in {@code [qmin, qmax]}, the
     * bits of {@link Quantization#scaleAndQuantizeRows} on the float output (SmoothQuant's scale and the next INT8
     * layer's input quantization, fused into the producer). The float outputs exist one block of rows at a time
     * (about 1 MiB, in cache), never as a whole tensor.
     */
    public static void dequantizingGemmQuantized(Int8Gemm gemm, int m, byte[] q, int qOff, int k, int zx,
                                                 PackedInt8Weights w, float scale, float[] bias, Activation act,
                                                 float[] factors, float outScale, int outZero, int qmin, int qmax,
                                                 byte[] out, int outOff) {
        int n = w.n();
        if (factors.length < n) {
            throw new IllegalArgumentException("dequantizingGemmQuantized: " + factors.length + " factors for " + n
                    + " channels");
        }
        java.util.Objects.checkFromIndexSize(outOff, Math.multiplyExact(m, n), out.length);
        int block = Math.min(Math.max(m, 1), activationBlockRows(n));
        float[] y = new float[Math.multiplyExact(block, n)];
        for (int i0 = 0; i0 < m; i0 += block) {
            int rows = Math.min(block, m - i0);
            gemm.gemm(rows, q, qOff + i0 * k, k, zx, w, new Int8Output.Dequantize(scale, bias, y, 0, n));
            activate(act, y, 0, rows * n);
            Quantization.scaleAndQuantizeRows(y, 0, rows, n, factors, out, outOff + i0 * n, outScale, outZero, qmin,
                    qmax);
        }
    }

    /**
     * Rows per block of an activation applied after the GEMM: about 1 MiB of outputs, a multiple of 96 rows (whole
     * 6-row tiles of vpdpbusd and 32-row blocks of the AMX tiles) where that many fit, else of 6.
     */
    private static int activationBlockRows(int n) {
        int rows = Math.max(6, (1 << 18) / Math.max(1, n));
        return rows >= 96 ? rows - rows % 96 : rows - rows % 6;
    }

    /** The activation over {@code y[off, off + len)} in place (the bits of {@link Elementwise#gelu}). */
    private static void activate(Activation act, float[] y, int off, int len) {
        switch (act) {
            case NONE -> { }
            case RELU -> {
                for (int i = off; i < off + len; i++) {
                    y[i] = Math.max(y[i], 0f);
                }
            }
            case GELU -> {
                if (Kernels.vectorKernels()) {
                    VectorElementwise.gelu(y, off, y, off, len);
                } else {
                    for (int i = off; i < off + len; i++) {
                        y[i] = FastFloatMath.gelu(y[i]);
                    }
                }
            }
        }
    }

    /**
     * torchao's {@code choose_qparams_affine} for asymmetric per-token u8 activations
     * ({@code _uint8_asymm_per_token_quant}): in float32, the range widened to contain 0,
     * {@code scale = max((max - min) / qmax, eps)} with eps the float32 epsilon, and
     * {@code zeroPoint = clamp(-rint(min / scale), 0, qmax)}; {@code qmax} is 255, or 127 with {@code reduceRange}.
     */
    public static Params chooseParamsPerToken(float min, float max, boolean reduceRange) {
        if (!(min <= max)) {
            throw new IllegalArgumentException("chooseParamsPerToken: min " + min + " > max " + max + " (or NaN)");
        }
        int qmax = reduceRange ? 127 : 255;
        float lo = Math.min(min, 0f);
        float hi = Math.max(max, 0f);
        float scale = Math.max((hi - lo) / qmax, PER_TOKEN_EPS);
        if (Float.isInfinite(scale)) {
            throw new IllegalArgumentException("chooseParamsPerToken: range [" + min + ", " + max + "] is not finite");
        }
        float zero = -(float) Math.rint(lo / scale);
        int zeroPoint = (int) Math.max(0f, Math.min(qmax, zero));
        return new Params(scale, zeroPoint);
    }

    /**
     * Dynamic quantized linear with per-token activations (torchao's
     * {@code Int8DynamicActivationIntxWeightConfig(weight_dtype=int8, weight_granularity=PerAxis(0),
     * act_mapping_type=ASYMMETRIC)} on uint8 activations): row {@code i} of {@code x} gets its own
     * {@link #chooseParamsPerToken} qparams {@code (sx[i], zx[i])} and is quantized as
     * {@code clamp(rint(x * (1f/sx[i])) + zx[i], 0, qmax)} ({@link Quantization#quantize}); the GEMM accumulates
     * {@code sum_p x_q[i][p] * (W[j][p] - zw[j])} exactly in int32, the zero-point term
     * {@code zx[i] * sum_p (W[j][p] - zw[j])} is subtracted exactly, and
     * {@code y[i][j] = fma(float(acc), sx[i] * sw[j], bias[j])} (without a bias {@code float(acc) * (sx[i] * sw[j])}),
     * the float output of {@link #linear} with the row's scale. Writes row-major {@code y[yOff + i*n + j]}.
     */
    public static void linearPerToken(int m, float[] x, int xOff, PackedInt8Weights w, float[] bias,
                                      boolean reduceRange, float[] y, int yOff, Int8Gemm gemm) {
        linearPerToken(m, x, xOff, w, bias, reduceRange, Activation.NONE, y, yOff, gemm);
    }

    /** As above with an activation applied to each row block right after its output stage (still in cache). */
    public static void linearPerToken(int m, float[] x, int xOff, PackedInt8Weights w, float[] bias,
                                      boolean reduceRange, Activation act, float[] y, int yOff, Int8Gemm gemm) {
        int k = w.k();
        int n = w.n();
        int len = Math.multiplyExact(m, k);
        Objects.checkFromIndexSize(xOff, len, x.length);
        Objects.checkFromIndexSize(yOff, Math.multiplyExact(m, n), y.length);
        if (bias != null && bias.length < n) {
            throw new IllegalArgumentException("linearPerToken: bias has " + bias.length + " values for " + n
                    + " columns");
        }
        int[] columnTerms = new int[n];
        float[] weightScales = new float[n];
        for (int j = 0; j < n; j++) {
            columnTerms[j] = w.columnSum(j) - k * w.zeroPoint(j);
            weightScales[j] = w.scale(j);
        }
        // Blocks of rows whose int32 accumulators stay in the L2 cache between the GEMM and the output stage,
        // shared among the pool's threads (each block's GEMM then runs on its thread alone, Parallel being
        // re-entrant); a whole number of the generated kernels' row tiles where possible: 6 rows for vpdpbusd, 32
        // for the AMX blocks (96 both).
        Parallel pool = Parallel.shared();
        int rows = Math.max(1, Math.min(PER_TOKEN_BLOCK_INTS / Math.max(1, n), (m + pool.threads() - 1)
                / pool.threads()));
        if (rows < m) { // several blocks: cut them at tile boundaries (one block takes the rows as they are)
            rows = rows >= 96 ? rows - rows % 96 : rows >= 32 ? rows - rows % 32 : rows >= 12 ? rows - rows % 6 : rows;
        }
        int blockRows = rows;
        int blocks = m == 0 ? 0 : (m + blockRows - 1) / blockRows;
        if (blocks == 1) {
            perTokenRows(0, m, x, xOff, w, bias, reduceRange, act, y, yOff, gemm, columnTerms, weightScales);
        } else {
            pool.forEach(blocks, b -> perTokenRows(b * blockRows, Math.min(m, (b + 1) * blockRows), x, xOff, w, bias,
                    reduceRange, act, y, yOff, gemm, columnTerms, weightScales));
        }
    }

    /** Rows {@code [i0, i1)} of {@link #linearPerToken}. */
    private static void perTokenRows(int i0, int i1, float[] x, int xOff, PackedInt8Weights w, float[] bias,
                                     boolean reduceRange, Activation act, float[] y, int yOff, Int8Gemm gemm,
                                     int[] columnTerms,
                                     float[] weightScales) {
        int k = w.k();
        int n = w.n();
        int rows = i1 - i0;
        int qmax = reduceRange ? 127 : 255;
        float[] rowScales = new float[rows];
        int[] rowZeroPoints = new int[rows];
        byte[] q = ByteScratch.take(rows * k);
        int[] acc = IntScratch.take(rows * n);
        try {
            for (int r = 0; r < rows; r++) {
                int at = xOff + (i0 + r) * k;
                float[] range = k == 0 ? new float[2] : minMax(x, at, k);
                Params p = chooseParamsPerToken(range[0], range[1], reduceRange);
                rowScales[r] = (float) p.scale();
                rowZeroPoints[r] = p.zeroPoint();
                Quantization.quantize(x, at, q, r * k, k, rowScales[r], p.zeroPoint(), 0, qmax);
            }
            gemm.gemm(rows, q, 0, k, 0, w, new Int8Output.Int32(acc, 0, n, 1));
            int out = yOff + i0 * n;
            if (Kernels.vectorKernels()) {
                VectorQuantization.dequantizeRows(rows, n, acc, rowScales, rowZeroPoints, columnTerms, weightScales,
                        bias, y, out);
            } else {
                dequantizeRowsReference(rows, n, acc, rowScales, rowZeroPoints, columnTerms, weightScales, bias, y,
                        out);
            }
            activate(act, y, out, rows * n);
        } finally {
            ByteScratch.give(q);
            IntScratch.give(acc);
        }
    }

    /**
     * The output stage of {@link #linearPerToken}: {@code y[yOff + i*n + j] = fma(float(acc[i*n+j] - zx[i] *
     * columnTerms[j]), sx[i] * sw[j], bias[j])}, or {@code float(..) * (sx[i] * sw[j])} without a bias.
     */
    static void dequantizeRowsReference(int m, int n, int[] acc, float[] rowScales, int[] rowZeroPoints,
                                        int[] columnTerms, float[] weightScales, float[] bias, float[] y, int yOff) {
        for (int i = 0; i < m; i++) {
            float sx = rowScales[i];
            int zx = rowZeroPoints[i];
            for (int j = 0; j < n; j++) {
                float a = acc[i * n + j] - zx * columnTerms[j];
                float scale = sx * weightScales[j];
                y[yOff + i * n + j] = bias == null ? a * scale : Math.fma(a, scale, bias[j]);
            }
        }
    }
}
