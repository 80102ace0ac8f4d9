package dev.graft.kernels;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Same inputs, same bits: through JIT tiers and repeated calls. A model that was traced must give exactly the outputs
 * of the eager model, which is only possible if every kernel is deterministic.
 */
class DeterminismTest {

    @Test
    void laneSumsFollowTheFixedPairwiseOrder() {
        Random r = new Random(1);
        float[] lanes = new float[FloatVector.SPECIES_PREFERRED.length()];
        for (int trial = 0; trial < 20_000; trial++) { // enough calls for C2 to compile sum()
            for (int i = 0; i < lanes.length; i++) {
                lanes[i] = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(8) - 4));
            }
            FloatVector v = FloatVector.fromArray(FloatVector.SPECIES_PREFERRED, lanes, 0);
            assertEquals(Float.floatToRawIntBits(FloatLanes.sumReference(lanes)),
                    Float.floatToRawIntBits(FloatLanes.sum(v)), "trial " + trial);
        }
    }

    /**
     * The skinny (few-row) GEMM once reduced with reduceLanes(ADD), whose order changed when C2 compiled it: the first
     * calls and later calls differed in the last bit. Hundreds of calls cover the interpreter, C1 and C2.
     */
    @Test
    void repeatedGemmCallsGiveIdenticalBits() {
        Random r = new Random(2);
        FloatGemm gemm = new VectorFloatGemm();
        for (int[] s : new int[][] {{3, 100, 7}, {4, 384, 384}, {2, 33, 5}}) {
            int m = s[0];
            int k = s[1];
            int n = s[2];
            float[] a = new float[m * k * 3];
            float[] w = new float[n * k];
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) r.nextGaussian();
            }
            for (int i = 0; i < w.length; i++) {
                w[i] = (float) r.nextGaussian();
            }
            float[] first = null;
            for (int call = 0; call < 400; call++) {
                float[] c = new float[m * n];
                // A rows 3k apart (a strided view), B as a transposed [n][k] weight: the linear-layer layout.
                gemm.gemm(m, n, k, a, 0, 3 * k, 1, w, 0, 1, k, c, 0, n, false);
                if (first == null) {
                    first = c;
                } else {
                    assertArrayEquals(first, c, 0f, "call " + call + " of " + m + "x" + k + "x" + n);
                }
            }
        }
    }
}
