package dev.graft.kernels;

import static dev.graft.kernels.VectorInt8Blocks.INTS;
import static dev.graft.kernels.VectorMicroKernel.LANES;
import static dev.graft.kernels.VectorMicroKernel.SPECIES;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The {@link PreparedOutput} stages on the Vector API, one row segment at a time, bit-identical to
 * {@link PreparedOutput#applyScalar}.
 *
 * <p>Rounding: the Vector API has no round-to-nearest-even, and its float-to-int conversion truncates. For
 * {@code |v| <= 2^22}, {@code (v + 1.5*2^23) - 1.5*2^23} is exactly {@code rint(v)}: the sum lies in
 * {@code [2^23, 2^24)} where float's spacing is 1, so the addition itself rounds half to even, and the subtraction
 * is exact. Values are first clamped to {@code [-2^22, 2^22]}, which cannot change the final result: anything that
 * large lands outside {@code [0, 255]} after adding the zero point either way, and is clamped to the same bound.
 */
final class VectorInt8Output {

    private static final VectorSpecies<Byte> BYTES = VectorSpecies.of(byte.class, VectorShape.forBitSize(LANES * 8));
    private static final float MAGIC = 12582912f; // 1.5 * 2^23
    private static final float LIMIT = 4194304f;  // 2^22

    private VectorInt8Output() {
    }

    /**
     * Applies {@code out}'s stage to {@code acc[accOff + c]}, {@code c < cols}, as elements {@code (i, j0 + c)}.
     * A unit column stride is written with vector stores; any other stride through a small staging row.
     */
    static void apply(PreparedOutput out, int i, int j0, int cols, int[] acc, int accOff, Object staging) {
        switch (out.stage) {
            case Int8Output.Int32 s -> {
                if (s.colStride() == 1) {
                    System.arraycopy(acc, accOff, s.out(), s.off() + i * s.rowStride() + j0, cols);
                } else {
                    out.applyScalar(i, j0, cols, acc, accOff);
                }
            }
            case Int8Output.Requantize r -> {
                int base = r.off() + i * r.rowStride();
                if (r.colStride() == 1) {
                    requantizeRow(out, j0, cols, acc, accOff, r.out(), base + j0);
                } else {
                    byte[] row = (byte[]) staging;
                    requantizeRow(out, j0, cols, acc, accOff, row, 0);
                    for (int c = 0; c < cols; c++) {
                        r.out()[base + (j0 + c) * r.colStride()] = row[c];
                    }
                }
            }
            case Int8Output.Dequantize d -> {
                int base = d.off() + i * d.rowStride();
                if (d.colStride() == 1) {
                    dequantizeRow(out, j0, cols, acc, accOff, d.out(), base + j0);
                } else {
                    float[] row = (float[]) staging;
                    dequantizeRow(out, j0, cols, acc, accOff, row, 0);
                    for (int c = 0; c < cols; c++) {
                        d.out()[base + (j0 + c) * d.colStride()] = row[c];
                    }
                }
            }
        }
    }

    /** A staging row big enough for {@code cols} elements of {@code out}'s destination type, or null. */
    static Object stagingFor(PreparedOutput out, int cols) {
        return switch (out.kind) {
            case REQUANTIZE -> new byte[cols];
            case DEQUANTIZE -> new float[cols];
            case INT32 -> null;
        };
    }

    private static void requantizeRow(PreparedOutput out, int j0, int cols, int[] acc, int accOff,
                                      byte[] dst, int d) {
        int c = 0;
        for (int bound = cols - LANES; c <= bound; c += LANES) {
            requantizeVector(acc, accOff + c, out.biasTerm, out.multiplier, j0 + c, out.zeroPoint,
                    out.lowerBound, dst, d + c);
        }
        for (; c < cols; c++) {
            int j = j0 + c;
            dst[d + c] = (byte) PreparedOutput.requantize(acc[accOff + c], out.biasTerm[j], out.multiplier[j],
                    out.zeroPoint, out.lowerBound);
        }
    }

    private static void requantizeVector(int[] acc, int a, float[] biasTerm, float[] mult, int j, int zp, int lo,
                                         byte[] dst, int d) {
        FloatVector v = (FloatVector) IntVector.fromArray(INTS, acc, a).convert(VectorOperators.I2F, 0);
        v = v.add(FloatVector.fromArray(SPECIES, biasTerm, j)).mul(FloatVector.fromArray(SPECIES, mult, j));
        v = v.max(-LIMIT).min(LIMIT).add(MAGIC).sub(MAGIC);
        IntVector q = (IntVector) v.convert(VectorOperators.F2I, 0);
        q = q.add(zp).max(lo).min(255);
        ((ByteVector) q.convertShape(VectorOperators.I2B, BYTES, 0)).intoArray(dst, d);
    }

    private static void dequantizeRow(PreparedOutput out, int j0, int cols, int[] acc, int accOff,
                                      float[] dst, int d) {
        int c = 0;
        for (int bound = cols - LANES; c <= bound; c += LANES) {
            dequantizeVector(acc, accOff + c, out.multiplier, out.biasTerm, j0 + c, dst, d + c);
        }
        for (; c < cols; c++) {
            dst[d + c] = PreparedOutput.dequantize(acc[accOff + c], out.multiplier[j0 + c], out.biasTerm, j0 + c);
        }
    }

    private static void dequantizeVector(int[] acc, int a, float[] mult, float[] bias, int j, float[] dst, int d) {
        FloatVector v = (FloatVector) IntVector.fromArray(INTS, acc, a).convert(VectorOperators.I2F, 0);
        FloatVector m = FloatVector.fromArray(SPECIES, mult, j);
        v = bias == null ? v.mul(m) : v.fma(m, FloatVector.fromArray(SPECIES, bias, j));
        v.intoArray(dst, d);
    }
}
