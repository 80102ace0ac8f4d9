package dev.graft.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * {@link QuantizedAttention#attention} against the three steps it replaces, run the unfused way, byte for byte: each
 * head's {@code Q K^T} by {@link ScalarInt8Gemm} on contiguous copies (K transposed, shifted by
 * {@link PackedInt8Weights#packShiftedRows}, as {@code quantized_matmul} does), each score row dequantized, scaled,
 * masked, softmaxed and quantized by separate steps, then {@code P V} by the scalar GEMM again. Every
 * INT8 GEMM this JVM has is tried in turn (the generated code forced onto AMX tiles too, where the CPU has them), on
 * random shapes (1, primes, head sizes that are not multiples of 4, 16 or 64), inputs read through the
 * {@code [B, S, H, D]} strides BERT's projections give, extreme zero points, broadcast and full masks, 1-3 threads.
 */
class QuantizedAttentionPropertiesTest {

    /** The GEMMs under test: every available one, plus the JIT code with every product on AMX tiles. */
    private static List<Int8Gemm> gemms() {
        List<Int8Gemm> all = new ArrayList<>(Kernels.availableInt8Gemms());
        for (Int8Gemm g : Kernels.availableInt8Gemms()) {
            if (g instanceof JitInt8Gemm jit && jit.isa() == JitInt8Gemm.Isa.AMX) {
                all.add(jit.withAmxAlways());
            }
        }
        return all;
    }

    @Property(tries = 40)
    void matchesTheUnfusedSteps(@ForAll @IntRange(min = 1, max = 3) int batch,
                                @ForAll @IntRange(min = 1, max = 4) int heads,
                                @ForAll @IntRange(min = 1, max = 37) int sq,
                                @ForAll @IntRange(min = 1, max = 70) int sk,
                                @ForAll @IntRange(min = 1, max = 67) int d,
                                @ForAll @IntRange(min = 0, max = 2) int maskKind,
                                @ForAll boolean divide, @ForAll long seed) {
        Random r = new Random(seed);
        int dv = r.nextBoolean() ? d : 1 + r.nextInt(40);
        QuantizedAttention.Operand q = headsLayout(r, batch, heads, sq, d);
        QuantizedAttention.Operand k = headsLayout(r, batch, heads, sk, d);
        QuantizedAttention.Operand v = headsLayout(r, batch, heads, sk, dv);
        Attention.Operand mask = switch (maskKind) {
            case 0 -> null;
            case 1 -> padding(r, batch, heads, sq, sk);
            default -> {
                float[] m = new float[batch * heads * sq * sk];
                for (int i = 0; i < m.length; i++) {
                    m[i] = (float) (3 * r.nextGaussian());
                }
                yield new Attention.Operand(m, 0, heads * sq * sk, sq * sk, sk, 1);
            }
        };
        float scale = divide ? (float) Math.sqrt(d) : 1f / (float) Math.sqrt(d);
        // the score scale of a calibrated model: about the range of q k^T
        QuantizedAttention.QParams scores = new QuantizedAttention.QParams(
                q.scale() * k.scale() * d * (20 + r.nextInt(600)) / 255f, r.nextInt(256));
        QuantizedAttention.QParams probs = new QuantizedAttention.QParams(1f / 255, r.nextInt(8) == 0 ? 3 : 0);
        float outScale = v.scale() * (30 + r.nextInt(100)) / 255f;
        int outZero = r.nextInt(256);
        byte[] want = unfused(batch, heads, sq, sk, d, dv, q, k, v, mask, scale, divide, scores, probs, outScale,
                outZero);
        for (Int8Gemm gemm : gemms()) {
            for (Parallel pool : Int8GemmPropertiesTest.POOLS) {
                // [B, Sq, H, Dv] storage, 3 bytes in
                byte[] got = new byte[3 + batch * sq * heads * dv];
                QuantizedAttention.Operand out = new QuantizedAttention.Operand(got, 3, sq * heads * dv, dv,
                        heads * dv, outScale, outZero);
                QuantizedAttention.attention(batch, heads, sq, sk, d, dv, q, k, v, mask, scale, divide, scores,
                        probs, out, gemm, pool);
                for (int b = 0; b < batch; b++) {
                    for (int h = 0; h < heads; h++) {
                        for (int i = 0; i < sq; i++) {
                            for (int c = 0; c < dv; c++) {
                                int w = ((b * heads + h) * sq + i) * dv + c;
                                assertEquals(want[w], got[out.at(b, h) + i * out.rowStride() + c], gemm.name() + " ("
                                        + pool.threads() + " threads) b " + b + " h " + h + " i " + i + " c " + c);
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void refusesViewsOutsideTheirArraysAndBadQParams() {
        byte[] small = new byte[8];
        QuantizedAttention.Operand o = new QuantizedAttention.Operand(small, 0, 8, 8, 4, 0.1f, 0);
        QuantizedAttention.QParams p = new QuantizedAttention.QParams(0.1f, 0);
        Int8Gemm gemm = new ScalarInt8Gemm();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> QuantizedAttention.attention(
                1, 1, 3, 2, 4, 4, o, o, o, null, Float.NaN, false, p, p, o, gemm));
        assertEquals("quantized attention: q reaches index 11 of an array of 8", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new QuantizedAttention.QParams(0f, 0));
        assertThrows(IllegalArgumentException.class, () -> new QuantizedAttention.QParams(1f, 256));
        assertThrows(IllegalArgumentException.class, () -> new QuantizedAttention.Operand(small, 0, 0, 0, 0,
                Float.POSITIVE_INFINITY, 0));
    }

    /** The steps op by op: scalar u8 x u8 products on contiguous copies, the score tensor's softmax rows, [B,H,Sq,Dv]. */
    private static byte[] unfused(int batch, int heads, int sq, int sk, int d, int dv, QuantizedAttention.Operand q,
                                  QuantizedAttention.Operand k, QuantizedAttention.Operand v, Attention.Operand mask,
                                  float scale, boolean divide, QuantizedAttention.QParams sp,
                                  QuantizedAttention.QParams pp, float outScale, int outZero) {
        Int8Gemm scalar = new ScalarInt8Gemm();
        byte[] scores = new byte[batch * heads * sq * sk];
        byte[] out = new byte[batch * heads * sq * dv];
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                byte[] qc = rows(q, b, h, sq, d);
                byte[] kt = new byte[d * sk];   // K^T [D][Sk]
                for (int j = 0; j < sk; j++) {
                    for (int p = 0; p < d; p++) {
                        kt[p * sk + j] = k.data()[k.at(b, h) + j * k.rowStride() + p];
                    }
                }
                PackedInt8Weights kw = PackedInt8Weights.packShiftedRows(kt, 0, sk, d, sk, k.scale(),
                        k.zeroPoint() - 128, scalar);
                scalar.gemm(sq, qc, 0, d, q.zeroPoint(), kw, new Int8Output.Requantize(q.scale(), null, sp.scale(),
                        sp.zeroPoint(), false, scores, (b * heads + h) * sq * sk, sk));
            }
        }
        byte[] probs = new byte[scores.length];
        float[] row = new float[sk];
        for (int r = 0; r < batch * heads * sq; r++) {   // quantized_softmax's steps, one after the other
            Quantization.dequantize(scores, r * sk, true, row, 0, sk, sp.scale(), sp.zeroPoint());
            int b = r / (sq * heads);
            int h = (r / sq) % heads;
            for (int j = 0; j < sk; j++) {   // the div (or mul) node, then the mask's add node
                float x = divide ? row[j] / scale : row[j] * scale;
                row[j] = mask == null ? x : x + mask.data()[mask.at(b, h) + (r % sq) * mask.rowStride() + j];
            }
            if (Kernels.vectorKernels()) {   // the softmax node's row kernel
                VectorNormalization.softmaxRow(row, 0, sk, row, 0);
            } else {
                Normalization.softmaxRowScalar(row, 0, sk, row, 0);
            }
            Quantization.quantize(row, 0, probs, r * sk, sk, pp.scale(), pp.zeroPoint(), 0, 255);
        }
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                byte[] vc = rows(v, b, h, sk, dv);
                PackedInt8Weights vw = PackedInt8Weights.packShiftedRows(vc, 0, dv, sk, dv, v.scale(),
                        v.zeroPoint() - 128, scalar);
                int head = (b * heads + h) * sq;
                scalar.gemm(sq, probs, head * sk, sk, pp.zeroPoint(), vw, new Int8Output.Requantize(pp.scale(), null,
                        outScale, outZero, false, out, head * dv, dv));
            }
        }
        return out;
    }

    /** Head {@code (b, h)} of a strided operand as a contiguous {@code rows x cols} copy. */
    private static byte[] rows(QuantizedAttention.Operand o, int b, int h, int rows, int cols) {
        byte[] c = new byte[rows * cols];
        for (int i = 0; i < rows; i++) {
            System.arraycopy(o.data(), o.at(b, h) + i * o.rowStride(), c, i * cols, cols);
        }
        return c;
    }

    /**
     * Random u8 values stored {@code [B, S, H, D]} (2 bytes of offset) and seen as {@code [B, H, S, D]}, with a zero
     * point anywhere in [0, 255] (the extremes a third of the time).
     */
    private static QuantizedAttention.Operand headsLayout(Random r, int batch, int heads, int s, int d) {
        byte[] data = new byte[2 + batch * s * heads * d];
        r.nextBytes(data);
        int zero = switch (r.nextInt(6)) {
            case 0 -> 0;
            case 1 -> 255;
            default -> r.nextInt(256);
        };
        return new QuantizedAttention.Operand(data, 2, s * heads * d, d, heads * d, 0.005f + 0.05f * r.nextFloat(),
                zero);
    }

    /** BERT's padding mask: 0 for real keys, {@code -FLT_MAX} for padding, broadcast over heads and queries. */
    private static Attention.Operand padding(Random r, int batch, int heads, int sq, int sk) {
        float[] m = new float[batch * sk];
        for (int b = 0; b < batch; b++) {
            int real = 1 + r.nextInt(sk);
            for (int j = real; j < sk; j++) {
                m[b * sk + j] = -Float.MAX_VALUE;
            }
        }
        return new Attention.Operand(m, 0, sk, 0, 0, 1);
    }
}
