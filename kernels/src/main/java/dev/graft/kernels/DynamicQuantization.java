package dev.graft.kernels;

import java.util.Objects;

/**
 * Dynamic quantization of activations, as PyTorch 1.13's fbgemm {@code quantized::linear_dynamic} does it per call:
 * qparams from the input's min and max ({@code ChooseQuantizationParams}), quantize, INT8 GEMM, float output.
 */
public final class DynamicQuantization {

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
        int k = w.k();
        int len = Math.multiplyExact(m, k);
        Objects.checkFromIndexSize(xOff, len, x.length);
        float[] range = len == 0 ? new float[2] : minMax(x, xOff, len);
        Params p = chooseParams(range[0], range[1], reduceRange);
        float scale = (float) p.scale();
        byte[] q = ByteScratch.take(len);
        try {
            quantize(x, xOff, len, scale, p.zeroPoint(), q, 0);
            gemm.gemm(m, q, 0, k, p.zeroPoint(), w, new Int8Output.Dequantize(scale, bias, y, yOff, w.n()));
        } finally {
            ByteScratch.give(q);
        }
        return p;
    }
}
