package dev.graft.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Random;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * {@link Attention#attention} against its double reference on random shapes (1, primes, head sizes off the vector
 * width), strided inputs (the [B, S, H, D] layout BERT's projections give), broadcast and full masks and BERT's
 * {@code -FLT_MAX} padding.
 *
 * <p>Tolerance, per output element {@code o = sum_j p_j v_j}: a score is a d-term float sum, off by at most
 * {@code ds = gamma(d) * sum |q k|} (before scaling, {@link Tolerance}), plus one rounding each for the scale and
 * the mask; exp turns an absolute error e of its argument into a relative error e (to first order), so each
 * probability is off by at most {@code p_j ((2 ds_max / scale) + (sk + 8) u)} (the exponentials' few ulps, the float
 * sum of sk terms, the division); the product with V adds {@code gamma(sk) sum_j p_j |v_j|}. Together, with a factor
 * two to cover second-order terms: {@code 2 (2 e_max + (2 sk + 8) u) sum_j p_j |v_j|}.
 */
class AttentionPropertiesTest {

    private static final double U = 0x1p-24;

    @Property(tries = 80)
    void matchesTheReference(@ForAll @IntRange(min = 1, max = 3) int batch,
                             @ForAll @IntRange(min = 1, max = 5) int heads,
                             @ForAll @IntRange(min = 1, max = 41) int sq,
                             @ForAll @IntRange(min = 1, max = 41) int sk,
                             @ForAll @IntRange(min = 1, max = 37) int d,
                             @ForAll @IntRange(min = 0, max = 2) int maskKind,
                             @ForAll boolean divide, @ForAll long seed) {
        Random r = new Random(seed);
        int dv = r.nextBoolean() ? d : 1 + r.nextInt(23);
        // [B, S, H, D] storage read as [B, H, S, D], as the fused operator receives BERT's projections
        Attention.Operand q = headsLayout(r, batch, heads, sq, d);
        Attention.Operand k = headsLayout(r, batch, heads, sk, d);
        Attention.Operand v = headsLayout(r, batch, heads, sk, dv);
        Attention.Operand mask = switch (maskKind) {
            case 0 -> null;
            case 1 -> padding(r, batch, sk);
            default -> new Attention.Operand(gaussian(r, batch * heads * sq * sk, 3), 0, heads * sq * sk, sq * sk,
                    sk, 1);
        };
        float scale = divide ? (float) Math.sqrt(d) : 1f / (float) Math.sqrt(d);
        float[] got = new float[batch * heads * sq * dv + 5];
        float[] ref = new float[got.length];
        Attention.Operand outGot = new Attention.Operand(got, 5, sq * heads * dv, dv, heads * dv, 1);
        Attention.Operand outRef = new Attention.Operand(ref, 5, sq * heads * dv, dv, heads * dv, 1);
        Attention.attention(batch, heads, sq, sk, d, dv, q, k, v, mask, scale, divide, outGot);
        Attention.attentionReference(batch, heads, sq, sk, d, dv, q, k, v, mask, scale, divide, outRef);
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < sq; i++) {
                    double[] p = probabilities(b, h, i, sk, d, q, k, mask, scale, divide);
                    double e = 0;
                    for (int j = 0; j < sk; j++) {
                        double abs = 0;
                        for (int c = 0; c < d; c++) {
                            abs += Math.abs(q.data()[q.at(b, h) + i * q.rowStride() + c]
                                    * k.data()[k.at(b, h) + j * k.rowStride() + c]);
                        }
                        double s = divide ? abs / scale : abs * scale;
                        e = Math.max(e, Tolerance.of(d, s) + 2 * U * (s + 1));
                    }
                    for (int c = 0; c < dv; c++) {
                        double weighted = 0;
                        for (int j = 0; j < sk; j++) {
                            weighted += p[j] * Math.abs(v.data()[v.at(b, h) + j * v.rowStride() + c]);
                        }
                        double tol = 2 * (2 * e + (2 * sk + 8) * U) * weighted + Float.MIN_NORMAL;
                        int at = outRef.at(b, h) + i * outRef.rowStride() + c;
                        assertEquals(ref[at], got[at], tol, "b " + b + " h " + h + " i " + i + " c " + c);
                    }
                }
            }
        }
        assertEquals(0f, got[0] + got[4], "nothing written before the output's offset");
    }

    /** The exact softmax row the reference uses, in double (for the tolerance's weights). */
    private static double[] probabilities(int b, int h, int i, int sk, int d, Attention.Operand q, Attention.Operand k,
                                          Attention.Operand mask, float scale, boolean divide) {
        double[] s = new double[sk];
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < sk; j++) {
            double dot = 0;
            for (int c = 0; c < d; c++) {
                dot += (double) q.data()[q.at(b, h) + i * q.rowStride() + c] * k.data()[k.at(b, h) + j * k.rowStride() + c];
            }
            dot = divide ? dot / scale : dot * scale;
            if (mask != null) {
                dot += mask.data()[mask.at(b, h) + i * mask.rowStride() + j * mask.colStride()];
            }
            s[j] = dot;
            max = Math.max(max, dot);
        }
        double sum = 0;
        for (int j = 0; j < sk; j++) {
            s[j] = Math.exp(s[j] - max);
            sum += s[j];
        }
        for (int j = 0; j < sk; j++) {
            s[j] /= sum;
        }
        return s;
    }

    private static Attention.Operand headsLayout(Random r, int batch, int heads, int s, int d) {
        float[] data = gaussian(r, batch * s * heads * d + 3, 2);
        return new Attention.Operand(data, 3, s * heads * d, d, heads * d, 1);
    }

    private static Attention.Operand padding(Random r, int batch, int sk) {
        float[] m = new float[batch * sk];
        for (int b = 0; b < batch; b++) {
            for (int j = 1 + r.nextInt(sk); j < sk; j++) {
                m[b * sk + j] = -Float.MAX_VALUE;
            }
        }
        return new Attention.Operand(m, 0, sk, 0, 0, 1);
    }

    private static float[] gaussian(Random r, int n, double sigma) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (r.nextGaussian() * sigma);
        }
        return a;
    }

    @Test
    void refusesViewsOutsideTheirArrays() {
        float[] small = new float[10];
        Attention.Operand o = new Attention.Operand(small, 0, 8, 4, 3, 1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Attention.attention(1, 1, 4, 4, 4, 4, o, o, o, null, Float.NaN, false, o));
        assertEquals("attention: q reaches index 12 of an array of 10", e.getMessage());
        Attention.Operand strided = new Attention.Operand(new float[64], 0, 16, 16, 4, 2);
        assertThrows(IllegalArgumentException.class,
                () -> Attention.attention(1, 1, 2, 2, 2, 2, strided, strided, strided, null, 1f, true, strided));
    }
}
