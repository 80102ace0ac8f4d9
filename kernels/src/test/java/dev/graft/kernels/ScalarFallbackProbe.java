package dev.graft.kernels;

import java.util.Arrays;

/** Main class run by {@link KernelsTest} in a JVM started without {@code --add-modules jdk.incubator.vector}. */
public final class ScalarFallbackProbe {

    private ScalarFallbackProbe() {
    }

    public static void main(String[] args) {
        FloatGemm gemm = Kernels.floatGemm();
        float[] c = new float[4];
        gemm.gemm(2, 2, 3, new float[] {1, 2, 3, 4, 5, 6}, 0, 3, 1,
                new float[] {7, 8, 9, 10, 11, 12}, 0, 2, 1, c, 0, 2, false);
        System.out.println("gemm=" + gemm.name() + " result=" + Arrays.toString(c));
        System.out.println("description=" + Kernels.description());
    }
}
