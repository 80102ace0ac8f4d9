package dev.graft.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Deterministic horizontal sums of float vectors.
 *
 * <p>{@code FloatVector.reduceLanes(ADD)} leaves the order of the additions unspecified, and the JDK uses different
 * orders in the interpreter and in C2-compiled code: the same call gave different bits once the method was
 * compiled, which breaks Graft's promise of bit-identical results (a traced model must match the eager one).
 * Here the order is fixed: lane {@code i} is added to lane {@code i + n/2}, then {@code i + n/4}, ... a pairwise
 * tree whose every step is one vector add with defined operands, so every tier computes the same bits.
 */
public final class FloatLanes {
    private FloatLanes() {
    }

    /** The sum of all lanes, in the fixed pairwise order described above. */
    public static float sum(FloatVector v) {
        VectorSpecies<Float> species = v.species();
        FloatVector s = v;
        for (int half = species.length() / 2; half >= 1; half /= 2) {
            s = s.add(s.rearrange(VectorShuffle.iota(species, half, 1, true)));
        }
        return s.lane(0);
    }

    /** The same sum in scalar code, the reference for {@link #sum}: identical bits by construction. */
    public static float sumReference(float[] lanes) {
        float[] s = lanes.clone();
        for (int half = s.length / 2; half >= 1; half /= 2) {
            float[] next = new float[s.length];
            for (int i = 0; i < s.length; i++) {
                next[i] = s[i] + s[(i + half) % s.length];
            }
            s = next;
        }
        return s[0];
    }
}
