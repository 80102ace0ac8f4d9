package dev.graft.bench;

import java.util.Random;

import dev.graft.kernels.FloatGemm;
import dev.graft.kernels.Int8Gemm;
import dev.graft.kernels.Int8Output;
import dev.graft.kernels.PackedInt8Weights;

/**
 * The matrix products of one MiniLM-L6 encoder layer (hidden 384, 12 heads of 32, feed-forward 1536) on {@code seq}
 * tokens: Q, K, V and output projections, the two feed-forward layers, and per head QK^T and PV (batched matmul on
 * strided views: K^T and the head slices are read in place, no copies). INT8 runs the six linear layers quantized
 * (requantized u8 in, u8 out) and attention in FP32, as PyTorch's quantized BERT does; FP32 runs everything in FP32.
 * Softmax, layer norm and GELU are left out: they are the same code in both variants.
 */
final class MiniLm {

    static final int HIDDEN = 384;
    static final int HEADS = 12;
    static final int HEAD = 32;
    static final int FFN = 1536;

    private final int seq;
    private final Runnable[] steps;

    MiniLm(int seq, boolean int8, FloatGemm fp32, Int8Gemm q8, Random r) {
        this.seq = seq;
        Runnable[] linears = {
            linear(seq, HIDDEN, HIDDEN, int8, fp32, q8, r), linear(seq, HIDDEN, HIDDEN, int8, fp32, q8, r),
            linear(seq, HIDDEN, HIDDEN, int8, fp32, q8, r), linear(seq, HIDDEN, HIDDEN, int8, fp32, q8, r),
            linear(seq, HIDDEN, FFN, int8, fp32, q8, r), linear(seq, FFN, HIDDEN, int8, fp32, q8, r)};
        float[] q = KernelBench.floats(seq * HIDDEN, r);
        float[] k = KernelBench.floats(seq * HIDDEN, r);
        float[] v = KernelBench.floats(seq * HIDDEN, r);
        float[] scores = new float[HEADS * seq * seq];
        float[] ctx = new float[seq * HIDDEN];
        Runnable attention = () -> {
            for (int h = 0; h < HEADS; h++) {
                // scores_h = Q_h K_h^T: Q_h rows are token rows of q at column h*HEAD; K_h^T read in place.
                fp32.gemm(seq, seq, HEAD, q, h * HEAD, HIDDEN, 1, k, h * HEAD, 1, HIDDEN,
                        scores, h * seq * seq, seq, false);
                // ctx_h = P_h V_h, written into ctx's column slice for head h.
                fp32.gemm(seq, HEAD, seq, scores, h * seq * seq, seq, 1, v, h * HEAD, HIDDEN, 1,
                        ctx, h * HEAD, HIDDEN, false);
            }
        };
        this.steps = new Runnable[] {linears[0], linears[1], linears[2], attention, linears[3], linears[4],
            linears[5]};
    }

    static long macs(int seq) {
        return (long) seq * HIDDEN * HIDDEN * 4 + 2L * seq * HIDDEN * FFN + 2L * HEADS * seq * seq * HEAD;
    }

    private static Runnable linear(int m, int k, int n, boolean int8, FloatGemm fp32, Int8Gemm q8, Random r) {
        if (!int8) {
            return KernelBench.fp32Linear(fp32, m, k, n, r);
        }
        byte[] x = KernelBench.bytes(m * k, r);
        PackedInt8Weights w = PackedInt8Weights.pack(KernelBench.bytes(n * k, r), 0, n, k,
                KernelBench.scales(n, r), null, q8);
        byte[] y = new byte[m * n];
        Int8Output out = new Int8Output.Requantize(0.02f, KernelBench.floats(n, r), 0.05f, 128, false, y, 0, n);
        return () -> q8.gemm(m, x, 0, k, 120, w, out);
    }

    void run() {
        for (Runnable s : steps) {
            s.run();
        }
    }

    int seq() {
        return seq;
    }
}
