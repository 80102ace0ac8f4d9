package dev.graft.kernels;

import java.util.Objects;

/**
 * Static INT8 attention in one pass per head, the bits of the three operators it replaces: for every batch
 * {@code b} and head {@code h},
 * <pre>
 *   scores = requantize(Q K^T)                          u8 x u8 -> int32 -> u8 (score qparams)
 *   probs  = quantize(softmax(dequantize(scores) (/ or *) scale + mask))   u8 (prob qparams)
 *   out    = requantize(probs V)                        u8 x u8 -> int32 -> u8 (output qparams)
 * </pre>
 * which is {@code quantized_matmul -> quantized_softmax -> quantized_matmul} step by step: the same {@link Int8Gemm}
 * with K and V shifted into s8 weights ({@code x - 128}, zero point {@code z - 128}, which leaves {@code x - z}
 * unchanged), fbgemm's requantize ({@link Int8Output.Requantize}) for both products, and the score rows through
 * {@link Quantization#dequantize}, {@link Attention}'s scale/mask/softmax row kernel and {@link Quantization#quantize}.
 *
 * <p>What is saved: Q, K and V are read in place through strides (a {@code [B, S, H, D]} projection output viewed as
 * {@code [B, H, S, D]}: no permuted copies, no transposed copy of K), the {@code [B, H, Sq, Sk]} score and
 * probability tensors exist only as one head's {@code Sq x Sk} bytes per task, and the result is written through
 * strides (so it can land in the {@code [B, S, H, Dv]} layout the output projection reads).
 *
 * <p>Threads: heads are spread over the {@link Parallel} pool, each computed whole by one task; with fewer heads than
 * threads the GEMMs split themselves. Neither changes bits (integer sums are exact; each output is requantized from
 * its own sum). Every operand's column stride is 1.
 */
public final class QuantizedAttention {

    private QuantizedAttention() {
    }

    /**
     * A 4-d u8 operand {@code [B, H, rows, cols]} with contiguous rows, and its per-tensor quantization: element
     * {@code (b, h, i, c)} is {@code data[offset + b*batchStride + h*headStride + i*rowStride + c]}, value
     * {@code scale * (q - zeroPoint)}.
     */
    public record Operand(byte[] data, int offset, int batchStride, int headStride, int rowStride, float scale,
                          int zeroPoint) {
        public Operand {
            Objects.requireNonNull(data, "data");
            checkQParams("operand", scale, zeroPoint);
        }

        int at(int b, int h) {
            return offset + b * batchStride + h * headStride;
        }
    }

    /** The per-tensor quantization of a value computed on the way (the scores, the probabilities). */
    public record QParams(float scale, int zeroPoint) {
        public QParams {
            checkQParams("intermediate", scale, zeroPoint);
        }
    }

    /**
     * {@code out[b, h] = requantize(quantize(softmax(dequantize(requantize(q[b, h] k[b, h]^T, scores)) (/ or *)
     * scale + mask[b, h]), probs) v[b, h], out)}.
     *
     * @param q      {@code [B, H, Sq, D]}
     * @param k      {@code [B, H, Sk, D]}
     * @param v      {@code [B, H, Sk, Dv]}
     * @param mask   float {@code [B, H, Sq, Sk]} (strides 0 where broadcast), or null for none
     * @param scale  the divisor ({@code divide}) or factor of the dequantized scores; NaN for no scaling
     * @param scores the qparams {@code Q K^T} is requantized to
     * @param probs  the qparams the softmax is quantized to
     * @param out    {@code [B, H, Sq, Dv]}, its scale and zero point those of the result
     * @param gemm   the INT8 GEMM for both products
     */
    public static void attention(int batch, int heads, int sq, int sk, int d, int dv, Operand q, Operand k, Operand v,
                                 Attention.Operand mask, float scale, boolean divide, QParams scores, QParams probs,
                                 Operand out, Int8Gemm gemm) {
        attention(batch, heads, sq, sk, d, dv, q, k, v, mask, scale, divide, scores, probs, out, gemm,
                Parallel.shared());
    }

    /** As above, the heads spread over {@code pool} (tests try 1-3 threads). */
    static void attention(int batch, int heads, int sq, int sk, int d, int dv, Operand q, Operand k, Operand v,
                          Attention.Operand mask, float scale, boolean divide, QParams scores, QParams probs,
                          Operand out, Int8Gemm gemm, Parallel pool) {
        Objects.requireNonNull(scores, "scores");
        Objects.requireNonNull(probs, "probs");
        Objects.requireNonNull(gemm, "gemm");
        if (batch < 0 || heads < 0 || sq < 0 || sk < 1 || d < 1 || dv < 1) {
            throw new IllegalArgumentException("quantized attention: need sk, d, dv >= 1 and no negative size, got"
                    + " batch " + batch + ", heads " + heads + ", sq " + sq + ", sk " + sk + ", d " + d + ", dv " + dv);
        }
        within("q", q, batch, heads, sq, d);
        within("k", k, batch, heads, sk, d);
        within("v", v, batch, heads, sk, dv);
        within("out", out, batch, heads, sq, dv);
        if (mask != null) {
            Attention.within("mask", mask, batch, heads, sq, sk);
        }
        if (batch == 0 || heads == 0 || sq == 0) {
            return;
        }
        int pairs = batch * heads;
        int tasks = Math.min(pool.threads(), pairs);
        if (tasks <= 1) {
            Scratch s = new Scratch(sq, sk);
            for (int p = 0; p < pairs; p++) {
                head(p / heads, p % heads, sq, sk, d, dv, q, k, v, mask, scale, divide, scores, probs, out, gemm, s);
            }
        } else {
            pool.forEach(tasks, t -> {
                Scratch s = new Scratch(sq, sk);
                for (int p = pairs * t / tasks; p < pairs * (t + 1) / tasks; p++) {
                    head(p / heads, p % heads, sq, sk, d, dv, q, k, v, mask, scale, divide, scores, probs, out, gemm,
                            s);
                }
            });
        }
    }

    /** One task's buffers: one head's scores and probabilities, one float row. */
    private static final class Scratch {
        final byte[] scores;
        final byte[] probs;
        final float[] row;

        Scratch(int sq, int sk) {
            scores = new byte[Math.multiplyExact(sq, sk)];
            probs = new byte[scores.length];
            row = new float[sk];
        }
    }

    private static void head(int b, int h, int sq, int sk, int d, int dv, Operand q, Operand k, Operand v,
                             Attention.Operand mask, float scale, boolean divide, QParams sp, QParams pp, Operand out,
                             Int8Gemm gemm, Scratch s) {
        // scores = Q K^T: K's rows are the weights' rows W[j][p] = K[j][p]
        PackedInt8Weights kw = PackedInt8Weights.packShifted(k.data(), k.at(b, h), k.rowStride(), sk, d, k.scale(),
                k.zeroPoint() - 128, gemm);
        gemm.gemm(sq, q.data(), q.at(b, h), q.rowStride(), q.zeroPoint(), kw,
                new Int8Output.Requantize(q.scale(), null, sp.scale(), sp.zeroPoint(), false, s.scores, 0, sk));
        boolean vector = Kernels.vectorKernels();
        for (int i = 0; i < sq; i++) {
            Attention.quantizedSoftmaxRow(vector, s.scores, i * sk, true, sp.scale(), sp.zeroPoint(), sk, scale, divide,
                    mask, b, h, i, s.row, s.probs, i * sk, pp.scale(), pp.zeroPoint(), 0, 255);
        }
        // out = P V: V [Sk][Dv] is B as stored, rows rowStride apart
        PackedInt8Weights vw = PackedInt8Weights.packShiftedRows(v.data(), v.at(b, h), v.rowStride(), sk, dv,
                v.scale(), v.zeroPoint() - 128, gemm);
        gemm.gemm(sq, s.probs, 0, sk, pp.zeroPoint(), vw, new Int8Output.Requantize(pp.scale(), null, out.scale(),
                out.zeroPoint(), false, out.data(), out.at(b, h), out.rowStride()));
    }

    private static void checkQParams(String what, float scale, int zeroPoint) {
        if (!(scale > 0f) || Float.isInfinite(scale)) {
            throw new IllegalArgumentException("quantized attention: " + what + " scale must be finite and > 0, got "
                    + scale);
        }
        if (zeroPoint < 0 || zeroPoint > 255) {
            throw new IllegalArgumentException("quantized attention: " + what + " zero point " + zeroPoint
                    + " is outside [0, 255]");
        }
    }

    /** Every element of a {@code [batch, heads, rows, cols]} view with contiguous rows lies inside its array. */
    private static void within(String what, Operand o, int batch, int heads, int rows, int cols) {
        if (o.offset() < 0 || o.batchStride() < 0 || o.headStride() < 0 || o.rowStride() < 0) {
            throw new IllegalArgumentException("quantized attention: " + what + " has a negative offset or stride");
        }
        if (batch == 0 || heads == 0 || rows == 0) {
            return;
        }
        long last = o.offset() + (long) (batch - 1) * o.batchStride() + (long) (heads - 1) * o.headStride()
                + (long) (rows - 1) * o.rowStride() + (cols - 1);
        if (last >= o.data().length) {
            throw new IllegalArgumentException("quantized attention: " + what + " reaches index " + last
                    + " of an array of " + o.data().length);
        }
    }
}
