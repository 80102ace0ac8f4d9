package dev.graft.kernels;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link VnniActivations#pack} on the Vector API: 16 pixels of four consecutive im2col rows widened to 16 int lanes
 * each, shifted into the lane's four bytes and merged, then stored as 64 bytes: one 64-byte block of the packed
 * layout per four 16-byte loads (a scalar loop moves one byte per store).
 */
final class VectorVnniActivations {

    private static final VectorSpecies<Byte> BYTES = ByteVector.SPECIES_128;
    private static final VectorSpecies<Integer> INTS = IntVector.SPECIES_512;

    private VectorVnniActivations() {
    }

    static void pack(byte[] aT, int aOff, int ldaT, int m, int k, byte[] packed) {
        int k4 = (k + 3) / 4;
        int full = m / 16 * 16;
        for (int g = 0; g < k4; g++) {
            int rows = Math.min(4, k - 4 * g);
            for (int i = 0; i < full; i += 16) {
                IntVector merged = lane(aT, aOff + 4 * g * ldaT + i);
                for (int t = 1; t < rows; t++) {
                    merged = merged.or(lane(aT, aOff + (4 * g + t) * ldaT + i).lanewise(VectorOperators.LSHL, 8 * t));
                }
                merged.reinterpretAsBytes().intoArray(packed, (((i >> 6) * k4 + g) * 64 + (i & 63)) * 4);
            }
        }
        VnniActivations.packScalar(aT, aOff, ldaT, m, k, packed, full);
    }

    /** 16 bytes from {@code aT[at]}, zero-extended to 16 ints. */
    private static IntVector lane(byte[] aT, int at) {
        return ((IntVector) ByteVector.fromArray(BYTES, aT, at).convertShape(VectorOperators.B2I, INTS, 0))
                .and(0xFF);
    }
}
