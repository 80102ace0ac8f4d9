package dev.graft.kernels;

import java.util.Objects;

/**
 * Scaled dot-product attention in one pass per head: {@code softmax(Q K^T / scale + mask) V}, for every batch
 * {@code b} and head {@code h}, reading Q, K, V and the mask in place through strides (no permuted copies) and
 * writing the result through strides (so a caller can lay it out as {@code [B, S, H, D]}, the layout the next
 * projection reads, directly).
 *
 * <p>Each head's scores live only in a scratch row block of {@code Sq x Sk} floats owned by one task, never in a
 * {@code [B, H, Sq, Sk]} tensor. The arithmetic is the unfused graph's, step by step: the same {@link FloatGemm}
 * for both products, the scale as one IEEE division (or multiplication) per score, the mask as one IEEE addition,
 * the softmax by the same row kernel as {@link Normalization#softmaxRows}. So the result has the bits of {@code
 * matmul -> div -> add -> softmax -> matmul} computed op by op (the conformance test checks this), at any thread
 * count: each head is computed whole by one task, or, when there are fewer heads than threads, with the GEMM's own
 * split, which does not change bits either.
 *
 * <p>{@link #attentionReference} is the plain scalar reference (double sums, double exponentials).
 */
public final class Attention {

    private Attention() {
    }

    /** Where a 4-d operand {@code [B, H, rows, cols]} lives: array, offset and the four strides. */
    public record Operand(float[] data, int offset, int batchStride, int headStride, int rowStride, int colStride) {
        public Operand {
            Objects.requireNonNull(data, "data");
        }

        int at(int b, int h) {
            return offset + b * batchStride + h * headStride;
        }
    }

    /**
     * {@code out[b, h] = softmax(q[b, h] k[b, h]^T (/ or *) scale + mask[b, h]) v[b, h]}.
     *
     * @param q      {@code [B, H, Sq, D]}
     * @param k      {@code [B, H, Sk, D]}
     * @param v      {@code [B, H, Sk, Dv]}
     * @param mask   {@code [B, H, Sq, Sk]} (strides 0 where broadcast), or null for none
     * @param scale  the divisor ({@code divide}) or factor of the scores; NaN for no scaling
     * @param out    {@code [B, H, Sq, Dv]}; its column stride must be 1
     */
    public static void attention(int batch, int heads, int sq, int sk, int d, int dv,
                                 Operand q, Operand k, Operand v, Operand mask, float scale, boolean divide,
                                 Operand out) {
        check(batch, heads, sq, sk, d, dv, q, k, v, mask, out);
        if (batch == 0 || heads == 0 || sq == 0 || dv == 0) {
            return;
        }
        FloatGemm gemm = Kernels.floatGemm();
        boolean vector = Kernels.vectorKernels();
        int pairs = batch * heads;
        Parallel pool = Parallel.shared();
        if (pairs >= pool.threads()) {
            int tasks = Math.min(pool.threads(), pairs);
            pool.forEach(tasks, t -> {
                float[] scores = new float[Math.multiplyExact(sq, Math.max(sk, 1))];
                for (int p = pairs * t / tasks; p < pairs * (t + 1) / tasks; p++) {
                    head(gemm, vector, p / heads, p % heads, sq, sk, d, dv, q, k, v, mask, scale, divide, out,
                            scores, false);
                }
            });
        } else {
            float[] scores = new float[Math.multiplyExact(sq, Math.max(sk, 1))];
            for (int p = 0; p < pairs; p++) {
                head(gemm, vector, p / heads, p % heads, sq, sk, d, dv, q, k, v, mask, scale, divide, out, scores,
                        true);
            }
        }
    }

    private static void head(FloatGemm gemm, boolean vector, int b, int h, int sq, int sk, int d, int dv,
                             Operand q, Operand k, Operand v, Operand mask, float scale, boolean divide,
                             Operand out, float[] scores, boolean rowsInParallel) {
        int oAt = out.at(b, h);
        if (sk == 0) { // an empty softmax row: the product with an empty V is zero, as op by op
            for (int i = 0; i < sq; i++) {
                java.util.Arrays.fill(out.data(), oAt + i * out.rowStride(), oAt + i * out.rowStride() + dv, 0f);
            }
            return;
        }
        // scores = Q K^T: B[p][j] = K[j][p]
        gemm.gemm(sq, sk, d, q.data(), q.at(b, h), q.rowStride(), q.colStride(),
                k.data(), k.at(b, h), k.colStride(), k.rowStride(), scores, 0, sk, false);
        if (rowsInParallel) {
            int perTask = Math.max(1, Elementwise.CHUNK / sk);
            int tasks = (sq + perTask - 1) / perTask;
            Parallel.shared().forEach(tasks, t -> rows(vector, b, h, t * perTask, Math.min(sq, (t + 1) * perTask),
                    sk, mask, scale, divide, scores));
        } else {
            rows(vector, b, h, 0, sq, sk, mask, scale, divide, scores);
        }
        gemm.gemm(sq, dv, sk, scores, 0, sk, 1, v.data(), v.at(b, h), v.rowStride(), v.colStride(),
                out.data(), oAt, out.rowStride(), false);
    }

    /** Scale, mask and softmax of score rows {@code [from, to)}, in place. */
    private static void rows(boolean vector, int b, int h, int from, int to, int sk, Operand mask, float scale,
                             boolean divide, float[] scores) {
        for (int i = from; i < to; i++) {
            scaleMaskSoftmax(vector, scores, i * sk, sk, scale, divide, mask, b, h, i);
        }
    }

    /**
     * The float middle of an INT8 attention, row by row, in place of dequantize -> scale -> mask add -> softmax ->
     * quantize: rows of {@code cols} quantized scores (row {@code r} is batch {@code r / (heads * sq)}, head
     * {@code (r / sq) % heads}, query {@code r % sq} for the mask) are dequantized into a scratch row, scaled, masked,
     * softmaxed and quantized into {@code out}, with the same kernels in the same order as the five operators, so the
     * same bits. Rows are spread over the threads in chunks.
     */
    public static void quantizedSoftmaxRows(byte[] q, int qOff, boolean unsigned, float qScale, int qZero, int batch,
                                            int heads, int sq, int cols, float scale, boolean divide, Operand mask,
                                            byte[] out, int outOff, float outScale, int outZero, int qmin, int qmax) {
        int rows = Math.multiplyExact(Math.multiplyExact(batch, heads), sq);
        int n = Math.multiplyExact(rows, cols);
        java.util.Objects.checkFromIndexSize(qOff, n, q.length);
        java.util.Objects.checkFromIndexSize(outOff, n, out.length);
        if (mask != null) {
            within("mask", mask, batch, heads, sq, cols);
        }
        if (n == 0) {
            return;
        }
        boolean vector = Kernels.vectorKernels();
        int perTask = Math.max(1, Elementwise.CHUNK / cols);
        int tasks = (rows + perTask - 1) / perTask;
        Parallel.shared().forEach(tasks, t -> {
            float[] row = new float[cols];
            for (int r = t * perTask; r < Math.min(rows, (t + 1) * perTask); r++) {
                int i = r % sq;
                int h = (r / sq) % heads;
                int b = r / (sq * heads);
                quantizedSoftmaxRow(vector, q, qOff + r * cols, unsigned, qScale, qZero, cols, scale, divide, mask, b,
                        h, i, row, out, outOff + r * cols, outScale, outZero, qmin, qmax);
            }
        });
    }

    /**
     * One quantized score row {@code (b, h, i)} of {@code cols} into its quantized probabilities: dequantize, scale,
     * mask, softmax, quantize, through {@code row} (scratch); one fused pass on the Vector API when the bytes are u8
     * and the mask row contiguous (the same bits, {@link VectorNormalization#quantizedSoftmaxRow}), else step by step.
     */
    static void quantizedSoftmaxRow(boolean vector, byte[] q, int qi, boolean unsigned, float qScale, int qZero,
                                    int cols, float scale, boolean divide, Operand mask, int b, int h, int i,
                                    float[] row, byte[] out, int oi, float outScale, int outZero, int qmin, int qmax) {
        if (vector && unsigned && (mask == null || mask.colStride() == 1)) {
            VectorNormalization.quantizedSoftmaxRow(q, qi, cols, qScale, qZero, !Float.isNaN(scale), scale, divide,
                    mask == null ? null : mask.data(), mask == null ? 0 : mask.at(b, h) + i * mask.rowStride(), row,
                    out, oi, 1f / outScale, outZero, qmin, qmax);
            return;
        }
        Quantization.dequantize(q, qi, unsigned, row, 0, cols, qScale, qZero);
        scaleMaskSoftmax(vector, row, 0, cols, scale, divide, mask, b, h, i);
        Quantization.quantize(row, 0, out, oi, cols, outScale, outZero, qmin, qmax);
    }

    /** One score row: the scale, the mask row {@code (b, h, i)}, the softmax, in place. */
    static void scaleMaskSoftmax(boolean vector, float[] scores, int row, int sk, float scale, boolean divide,
                                         Operand mask, int b, int h, int i) {
        boolean scaled = !Float.isNaN(scale);
        if (vector && (mask == null || mask.colStride() == 1)) { // one pass fewer, the same bits
            VectorNormalization.scaleMaskSoftmaxRow(scores, row, sk, scaled, scale, divide,
                    mask == null ? null : mask.data(), mask == null ? 0 : mask.at(b, h) + i * mask.rowStride());
            return;
        }
        if (scaled || mask != null) {
            int mAt = mask == null ? 0 : mask.at(b, h) + i * mask.rowStride();
            int mc = mask == null ? 0 : mask.colStride();
            for (int j = 0; j < sk; j++) {
                float s = scores[row + j];
                if (scaled) {
                    s = divide ? s / scale : s * scale;
                }
                if (mask != null) {
                    s = s + mask.data()[mAt + j * mc];
                }
                scores[row + j] = s;
            }
        }
        if (vector) {
            VectorNormalization.softmaxRow(scores, row, sk, scores, row);
        } else {
            Normalization.softmaxRowScalar(scores, row, sk, scores, row);
        }
    }

    /** The plain reference: products and softmax sums in double, each output rounded once. */
    public static void attentionReference(int batch, int heads, int sq, int sk, int d, int dv,
                                          Operand q, Operand k, Operand v, Operand mask, float scale,
                                          boolean divide, Operand out) {
        check(batch, heads, sq, sk, d, dv, q, k, v, mask, out);
        double[] row = new double[sk];
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < sq; i++) {
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < sk; j++) {
                        double s = 0;
                        for (int p = 0; p < d; p++) {
                            s += (double) q.data()[q.at(b, h) + i * q.rowStride() + p * q.colStride()]
                                    * k.data()[k.at(b, h) + j * k.rowStride() + p * k.colStride()];
                        }
                        if (!Float.isNaN(scale)) {
                            s = divide ? s / scale : s * scale;
                        }
                        if (mask != null) {
                            s += mask.data()[mask.at(b, h) + i * mask.rowStride() + j * mask.colStride()];
                        }
                        row[j] = s;
                        max = Math.max(max, s);
                    }
                    double sum = 0;
                    for (int j = 0; j < sk; j++) {
                        row[j] = Math.exp(row[j] - max);
                        sum += row[j];
                    }
                    for (int c = 0; c < dv; c++) {
                        double acc = 0;
                        for (int j = 0; j < sk; j++) {
                            acc += row[j] / sum * v.data()[v.at(b, h) + j * v.rowStride() + c * v.colStride()];
                        }
                        out.data()[out.at(b, h) + i * out.rowStride() + c * out.colStride()] = (float) acc;
                    }
                }
            }
        }
    }

    private static void check(int batch, int heads, int sq, int sk, int d, int dv, Operand q, Operand k, Operand v,
                              Operand mask, Operand out) {
        if (batch < 0 || heads < 0 || sq < 0 || sk < 0 || d < 0 || dv < 0) {
            throw new IllegalArgumentException("attention: negative size (batch " + batch + ", heads " + heads
                    + ", sq " + sq + ", sk " + sk + ", d " + d + ", dv " + dv + ")");
        }
        if (out.colStride() != 1) {
            throw new IllegalArgumentException("attention: the output's column stride must be 1, got "
                    + out.colStride());
        }
        within("q", q, batch, heads, sq, d);
        within("k", k, batch, heads, sk, d);
        within("v", v, batch, heads, sk, dv);
        within("out", out, batch, heads, sq, dv);
        if (mask != null) {
            within("mask", mask, batch, heads, sq, sk);
        }
    }

    /** Every element of a {@code [batch, heads, rows, cols]} view lies inside its array (strides >= 0). */
    static void within(String what, Operand o, int batch, int heads, int rows, int cols) {
        if (o.offset() < 0 || o.batchStride() < 0 || o.headStride() < 0 || o.rowStride() < 0 || o.colStride() < 0) {
            throw new IllegalArgumentException("attention: " + what + " has a negative offset or stride");
        }
        if (batch == 0 || heads == 0 || rows == 0 || cols == 0) {
            return;
        }
        long last = o.offset() + (long) (batch - 1) * o.batchStride() + (long) (heads - 1) * o.headStride()
                + (long) (rows - 1) * o.rowStride() + (long) (cols - 1) * o.colStride();
        if (last >= o.data().length) {
            throw new IllegalArgumentException("attention: " + what + " reaches index " + last + " of an array of "
                    + o.data().length);
        }
    }
}
