package dev.graft.kernels;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link Quantization}'s loops on the Vector API, 16 values at a time, bit-identical to the reference: rounding to
 * nearest even by adding and subtracting 1.5 * 2^23 (exact for |v| <= 2^22, and values are clamped to that range
 * first, which cannot change a result that is clamped to 8 bits anyway); NaN lanes are sent to {@code qmin} as the
 * reference does.
 */
final class VectorQuantization {
    private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_512;
    private static final VectorSpecies<Integer> INTS = IntVector.SPECIES_512;
    private static final VectorSpecies<Byte> BYTES = ByteVector.SPECIES_128;
    private static final int LANES = FLOATS.length();
    private static final float MAGIC = 12582912f;
    private static final float LIMIT = 4194304f;

    private VectorQuantization() {
    }

    static void quantize(float[] x, int xOff, byte[] out, int outOff, int n, float inverse, int zeroPoint, int qmin,
                         int qmax) {
        int i = 0;
        for (int bound = n - LANES; i <= bound; i += LANES) {
            quantizeVector(x, xOff + i, out, outOff + i, inverse, zeroPoint, qmin, qmax);
        }
        for (; i < n; i++) {
            out[outOff + i] = (byte) Quantization.quantizeOne(x[xOff + i], inverse, zeroPoint, qmin, qmax);
        }
    }

    private static void quantizeVector(float[] x, int xi, byte[] out, int oi, float inverse, int zeroPoint, int qmin,
                                       int qmax) {
        FloatVector v = FloatVector.fromArray(FLOATS, x, xi).mul(inverse);
        v = v.blend(-LIMIT, v.test(VectorOperators.IS_NAN)).max(-LIMIT).min(LIMIT).add(MAGIC).sub(MAGIC);
        IntVector q = ((IntVector) v.convert(VectorOperators.F2I, 0)).add(zeroPoint).max(qmin).min(qmax);
        ((ByteVector) q.convertShape(VectorOperators.I2B, BYTES, 0)).intoArray(out, oi);
    }

    /**
     * Dynamic quantization's form (fbgemm's vector {@code Quantize<uint8_t>}, see
     * {@link DynamicQuantization#quantize}): {@code clamp(rint(fma(x, inverse, zeroPoint)), 0, 255)}, NaN to 0 as
     * Java's {@code (int) Math.rint(NaN)}; the scalar form for the tail.
     */
    static void quantizeFma(float[] x, int xOff, byte[] out, int outOff, int n, float inverse, int zeroPoint) {
        float zp = zeroPoint;
        int i = 0;
        for (int bound = n - LANES; i <= bound; i += LANES) {
            FloatVector t = FloatVector.fromArray(FLOATS, x, xOff + i).fma(inverse, zp);
            t = t.blend(0f, t.test(VectorOperators.IS_NAN)).max(-LIMIT).min(LIMIT).add(MAGIC).sub(MAGIC);
            IntVector q = ((IntVector) t.convert(VectorOperators.F2I, 0)).max(0).min(255);
            ((ByteVector) q.convertShape(VectorOperators.I2B, BYTES, 0)).intoArray(out, outOff + i);
        }
        for (; i < n; i++) {
            out[outOff + i] = (byte) DynamicQuantization.quantizeOne(x[xOff + i], inverse, zp);
        }
    }

    /** {@code {min, max}} of {@code x[xOff .. xOff+n)} with {@link Math#min}/{@link Math#max} semantics (NaN wins). */
    static float[] minMax(float[] x, int xOff, int n) {
        FloatVector lo = FloatVector.broadcast(FLOATS, Float.POSITIVE_INFINITY);
        FloatVector hi = FloatVector.broadcast(FLOATS, Float.NEGATIVE_INFINITY);
        int i = 0;
        for (int bound = n - LANES; i <= bound; i += LANES) {
            FloatVector v = FloatVector.fromArray(FLOATS, x, xOff + i);
            lo = lo.min(v);
            hi = hi.max(v);
        }
        float min = lo.reduceLanes(VectorOperators.MIN);
        float max = hi.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) {
            min = Math.min(min, x[xOff + i]);
            max = Math.max(max, x[xOff + i]);
        }
        return new float[] {min, max};
    }

    static void dequantize(byte[] q, int qOff, boolean unsigned, float[] out, int outOff, int n, float scale,
                           int zeroPoint) {
        int i = 0;
        for (int bound = n - LANES; i <= bound; i += LANES) {
            dequantizeVector(q, qOff + i, unsigned, out, outOff + i, scale, zeroPoint);
        }
        for (; i < n; i++) {
            int v = unsigned ? q[qOff + i] & 0xFF : q[qOff + i];
            out[outOff + i] = scale * (float) (v - zeroPoint);
        }
    }

    private static void dequantizeVector(byte[] q, int qi, boolean unsigned, float[] out, int oi, float scale,
                                         int zeroPoint) {
        IntVector v = (IntVector) ByteVector.fromArray(BYTES, q, qi).convertShape(VectorOperators.B2I, INTS, 0);
        if (unsigned) {
            v = v.and(0xFF);
        }
        ((FloatVector) v.sub(zeroPoint).convert(VectorOperators.I2F, 0)).mul(scale).intoArray(out, oi);
    }

    /** {@link DynamicQuantization#dequantizeRowsReference} 16 columns at a time, bit for bit; scalar tail. */
    static void dequantizeRows(int m, int n, int[] acc, float[] rowScales, int[] rowZeroPoints, int[] columnTerms,
                               float[] weightScales, float[] bias, float[] y, int yOff) {
        for (int i = 0; i < m; i++) {
            float sx = rowScales[i];
            int zx = rowZeroPoints[i];
            int row = i * n;
            int j = 0;
            for (int bound = n - LANES; j <= bound; j += LANES) {
                IntVector c = IntVector.fromArray(INTS, columnTerms, j).mul(zx);
                FloatVector a = (FloatVector) IntVector.fromArray(INTS, acc, row + j).sub(c)
                        .convert(VectorOperators.I2F, 0);
                FloatVector scale = FloatVector.fromArray(FLOATS, weightScales, j).mul(sx);
                FloatVector out = bias == null ? a.mul(scale) : a.fma(scale, FloatVector.fromArray(FLOATS, bias, j));
                out.intoArray(y, yOff + row + j);
            }
            for (; j < n; j++) {
                float a = acc[row + j] - zx * columnTerms[j];
                float scale = sx * weightScales[j];
                y[yOff + row + j] = bias == null ? a * scale : Math.fma(a, scale, bias[j]);
            }
        }
    }
}
