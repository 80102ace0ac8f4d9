package dev.graft.kernels;

import static dev.graft.kernels.VectorFloatMath.LANES;
import static dev.graft.kernels.VectorFloatMath.SPECIES;

import jdk.incubator.vector.FloatVector;

/** The array loops of {@link Elementwise} on the Vector API; tails go through the bit-identical scalar functions. */
final class VectorElementwise {

    private VectorElementwise() {
    }

    static void gelu(float[] in, int inOff, float[] out, int outOff, int n) {
        int i = 0;
        for (int bound = n - LANES; i <= bound; i += LANES) {
            VectorFloatMath.gelu(FloatVector.fromArray(SPECIES, in, inOff + i)).intoArray(out, outOff + i);
        }
        for (; i < n; i++) {
            out[outOff + i] = FastFloatMath.gelu(in[inOff + i]);
        }
    }

    static void erf(float[] in, int inOff, float[] out, int outOff, int n) {
        int i = 0;
        for (int bound = n - LANES; i <= bound; i += LANES) {
            VectorFloatMath.erf(FloatVector.fromArray(SPECIES, in, inOff + i)).intoArray(out, outOff + i);
        }
        for (; i < n; i++) {
            out[outOff + i] = FastFloatMath.erf(in[inOff + i]);
        }
    }

    /** {@code out[outOff + j] = a[aOff + j] * b[bOff + j]} for {@code j < n} (IEEE products, as the scalar loop). */
    static void multiply(float[] a, int aOff, float[] b, int bOff, float[] out, int outOff, int n) {
        int j = 0;
        for (int bound = n - LANES; j <= bound; j += LANES) {
            FloatVector.fromArray(SPECIES, a, aOff + j).mul(FloatVector.fromArray(SPECIES, b, bOff + j))
                    .intoArray(out, outOff + j);
        }
        for (; j < n; j++) {
            out[outOff + j] = a[aOff + j] * b[bOff + j];
        }
    }
}
