package dev.graft.kernels;

import java.util.Objects;

/**
 * What an {@link Int8Gemm} does with each int32 accumulator {@code acc[i][j] = sum_p (x[i][p]-zx)(w[j][p]-zw[j])}:
 * the output stage, fused into the kernel so the int32 matrix never goes to memory. Each stage names its
 * destination: element {@code (i, j)} goes to {@code out[off + i*rowStride + j*colStride]}, so a transposed
 * destination (an NCHW convolution output is {@code [channel][pixel]}) costs no copy.
 *
 * <p>The float arithmetic is PyTorch 1.13's fbgemm, operation for operation (see {@link Requantize} and
 * {@link Dequantize}); the golden cases k_16..k_23 pin it bit for bit.
 */
public sealed interface Int8Output permits Int8Output.Int32, Int8Output.Requantize, Int8Output.Dequantize {

    /** Rows of the destination that {@code m} rows and {@code n} columns address; checked before any write. */
    int length();

    /** The raw int32 accumulators. */
    record Int32(int[] out, int off, int rowStride, int colStride) implements Int8Output {
        public Int32 {
            Objects.requireNonNull(out, "out");
        }

        @Override
        public int length() {
            return out.length;
        }
    }

    /**
     * Requantize to u8 (fbgemm {@code ReQuantizeOutput} with a float bias), per output channel {@code j}:
     * <pre>
     *   atw   = float(inputScale) * wScale[j]            (float32 product)
     *   mult  = atw / float(outputScale)                  (float32 quotient)
     *   raw   = float(acc) + bias[j] / atw                (float32; no addition without a bias)
     *   q     = rint(raw * mult) + outputZeroPoint        (round half to even)
     *   out   = clamp(q, relu ? outputZeroPoint : 0, 255)
     * </pre>
     * {@code bias} may be {@code null}; otherwise {@code bias[biasOff + j]} is channel {@code j}'s bias.
     */
    record Requantize(float inputScale, float[] bias, int biasOff, float outputScale, int outputZeroPoint,
                      boolean relu, byte[] out, int off, int rowStride, int colStride) implements Int8Output {
        public Requantize {
            Objects.requireNonNull(out, "out");
            if (!(outputScale > 0) || !(inputScale > 0)) {
                throw new IllegalArgumentException("Requantize: scales must be > 0, got input " + inputScale
                        + ", output " + outputScale);
            }
            if (outputZeroPoint < 0 || outputZeroPoint > 255) {
                throw new IllegalArgumentException("Requantize: output zero point " + outputZeroPoint
                        + " is outside [0, 255]");
            }
        }

        /** Row-major {@code [m][n]} destination, no bias offset. */
        public Requantize(float inputScale, float[] bias, float outputScale, int outputZeroPoint, boolean relu,
                          byte[] out, int off, int ldo) {
            this(inputScale, bias, 0, outputScale, outputZeroPoint, relu, out, off, ldo, 1);
        }

        @Override
        public int length() {
            return out.length;
        }
    }

    /**
     * Float output for dynamic quantization (fbgemm {@code ReQuantizeForFloat}, vector path):
     * {@code out = fma(float(acc), float(inputScale) * wScale[j], bias[j])}, a single rounding; without a bias
     * {@code float(acc) * (inputScale * wScale[j])}.
     */
    record Dequantize(float inputScale, float[] bias, int biasOff, float[] out, int off, int rowStride,
                      int colStride) implements Int8Output {
        public Dequantize {
            Objects.requireNonNull(out, "out");
        }

        /** Row-major {@code [m][n]} destination, no bias offset. */
        public Dequantize(float inputScale, float[] bias, float[] out, int off, int ldo) {
            this(inputScale, bias, 0, out, off, ldo, 1);
        }

        @Override
        public int length() {
            return out.length;
        }
    }
}
