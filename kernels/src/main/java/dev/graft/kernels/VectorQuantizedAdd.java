package dev.graft.kernels;

import static dev.graft.kernels.VectorInt8Blocks.BYTES;
import static dev.graft.kernels.VectorInt8Blocks.INTS;
import static dev.graft.kernels.VectorMicroKernel.LANES;
import static dev.graft.kernels.VectorMicroKernel.SPECIES;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/** {@link QuantizedAdd#add} on the Vector API, bit-identical to the reference (rounding as in {@link VectorInt8Output}). */
final class VectorQuantizedAdd {

    private static final float MAGIC = 12582912f; // 1.5 * 2^23: (v + MAGIC) - MAGIC == rint(v) for |v| <= 2^22
    private static final float LIMIT = 4194304f;

    private VectorQuantizedAdd() {
    }

    static void add(byte[] a, int aOff, QuantizedAdd.QParams qa, byte[] b, int bOff, QuantizedAdd.QParams qb,
                    QuantizedAdd.QParams qo, boolean relu, byte[] out, int outOff, int len) {
        float inverse = 1f / qo.scale();
        int i = 0;
        for (int bound = len - LANES; i <= bound; i += LANES) {
            addVector(a, aOff + i, qa, b, bOff + i, qb, inverse, qo.zeroPoint(), relu, out, outOff + i);
        }
        for (; i < len; i++) {
            out[outOff + i] = (byte) QuantizedAdd.one(a[aOff + i] & 0xFF, qa, b[bOff + i] & 0xFF, qb, inverse,
                    qo.zeroPoint(), relu);
        }
    }

    /** u8 bytes at {@code s}, centred, as floats. */
    private static FloatVector centred(byte[] src, int s, int zp) {
        IntVector v = (IntVector) ByteVector.fromArray(BYTES, src, s).convertShape(VectorOperators.B2I, INTS, 0);
        return (FloatVector) v.and(0xFF).sub(zp).convert(VectorOperators.I2F, 0);
    }

    private static void addVector(byte[] a, int ai, QuantizedAdd.QParams qa, byte[] b, int bi,
                                  QuantizedAdd.QParams qb, float inverse, int zo, boolean relu, byte[] out, int oi) {
        FloatVector c = centred(a, ai, qa.zeroPoint()).mul(qa.scale())
                .add(centred(b, bi, qb.zeroPoint()).mul(qb.scale()));
        if (relu) {
            c = c.max(0f);
        }
        c = c.mul(inverse).max(-LIMIT).min(LIMIT).add(MAGIC).sub(MAGIC);
        IntVector q = ((IntVector) c.convert(VectorOperators.F2I, 0)).add(zo).max(0).min(255);
        ((ByteVector) q.convertShape(VectorOperators.I2B, BYTES, 0)).intoArray(out, oi);
    }
}
