package dev.graft.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Hand-computed convolutions, {@link Conv2dKernels#outputSize} and argument validation. */
class Conv2dKernelsTest {

    private static final FloatGemm GEMM = new ScalarFloatGemm();

    @Test
    void outputSizeFollowsTheUsualFormula() {
        assertEquals(3, Conv2dKernels.outputSize(5, 3, 1, 0, 1));
        assertEquals(5, Conv2dKernels.outputSize(5, 3, 1, 1, 1));
        assertEquals(3, Conv2dKernels.outputSize(5, 3, 2, 1, 1));
        assertEquals(1, Conv2dKernels.outputSize(5, 3, 1, 0, 2));   // dilated extent 5
        assertEquals(0, Conv2dKernels.outputSize(4, 3, 1, 0, 2));   // extent 5 > 4: empty, not 1
        assertEquals(0, Conv2dKernels.outputSize(1, 3, 2, 0, 1));   // floor, not truncation toward zero
        assertThrows(IllegalArgumentException.class, () -> Conv2dKernels.outputSize(5, 3, 0, 0, 1));
    }

    @Test
    void handComputedConvolutionWithPaddingStrideAndBias() {
        // x: 1x1x3x3 = 1..9, weight 2x2 of ones, bias 10, stride 2, padding 1 -> 2x2 output
        // windows (top-left corners at -1,-1 / -1,1 / 1,-1 / 1,1): {1}, {2,3}, {4,7}, {5,6,8,9}
        float[] x = {1, 2, 3, 4, 5, 6, 7, 8, 9};
        float[] weight = {1, 1, 1, 1};
        float[] expected = {11, 15, 21, 38};
        float[] out = new float[4];
        Conv2dKernels.conv2d(x, 1, 1, 3, 3, weight, new float[] {10}, 1, 2, 2, 2, 2, 1, 1, 1, 1, 1, out, GEMM);
        assertArrayEquals(expected, out); // c == oc == groups == 1: the depthwise path
        Conv2dKernels.conv2dReference(x, 1, 1, 3, 3, weight, new float[] {10}, 1, 2, 2, 2, 2, 1, 1, 1, 1, 1, out);
        assertArrayEquals(expected, out);
    }

    @Test
    void handComputedTwoChannelConvolution() {
        // Two input channels (1..4 and 10,20,30,40), one 1x2 kernel per channel: [1 -1] and [0 1]; oc = 1.
        float[] x = {1, 2, 3, 4, 10, 20, 30, 40};
        float[] weight = {1, -1, 0, 1};
        float[] out = new float[2];
        Conv2dKernels.conv2d(x, 1, 2, 2, 2, weight, null, 1, 1, 2, 1, 1, 0, 0, 1, 1, 1, out, new VectorFloatGemm());
        assertArrayEquals(new float[] {(1 - 2) + 20, (3 - 4) + 40}, out);
    }

    @Test
    void rejectsChannelsNotDivisibleByGroups() {
        var e = conv(new float[6 * 16], 1, 6, 4, 4, new float[6 * 9], 6, 3, 4);
        assertMessage(e, "conv2d", "groups=4", "c=6", "oc=6");
    }

    @Test
    void rejectsKernelLargerThanInput() {
        var e = conv(new float[4], 1, 1, 2, 2, new float[9], 1, 3, 1);
        assertMessage(e, "conv2d", "output would be 0x0", "dilated kernel 3x3");
    }

    @Test
    void rejectsShortArrays() {
        var shortX = conv(new float[15], 1, 1, 4, 4, new float[9], 1, 3, 1);
        assertMessage(shortX, "x has 15 elements", "n*c*h*w = 16");
        var shortWeight = conv(new float[16], 1, 1, 4, 4, new float[8], 1, 3, 1);
        assertMessage(shortWeight, "weight has 8 elements", "= 9");
        var shortOut = assertThrows(IllegalArgumentException.class, () -> Conv2dKernels.conv2d(new float[16],
                1, 1, 4, 4, new float[9], null, 1, 3, 3, 1, 1, 0, 0, 1, 1, 1, new float[3], GEMM));
        assertMessage(shortOut, "out has 3 elements", "n*oc*oh*ow = 4");
        var shortBias = assertThrows(IllegalArgumentException.class, () -> Conv2dKernels.conv2d(new float[16],
                1, 1, 4, 4, new float[18], new float[1], 2, 3, 3, 1, 1, 0, 0, 1, 1, 1, new float[8], GEMM));
        assertMessage(shortBias, "bias has 1 elements");
    }

    @Test
    void rejectsNonPositiveSizesStridesAndNegativePadding() {
        assertMessage(conv(new float[16], 0, 1, 4, 4, new float[9], 1, 3, 1), "n=0");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> Conv2dKernels.conv2dReference(
                new float[16], 1, 1, 4, 4, new float[9], null, 1, 3, 3, 0, 1, 0, 0, 1, 1, 1, new float[4])),
                "conv2dReference", "stride=(0,1)");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> Conv2dKernels.conv2d(
                new float[16], 1, 1, 4, 4, new float[9], null, 1, 3, 3, 1, 1, -1, 0, 1, 1, 1, new float[4], GEMM)),
                "padding=(-1,0)");
    }

    /** A square-kernel, stride-1, unpadded convolution call expected to fail validation. */
    private static IllegalArgumentException conv(float[] x, int n, int c, int hw, int hw2, float[] weight,
                                                 int oc, int k, int groups) {
        Executable call = () -> Conv2dKernels.conv2d(x, n, c, hw, hw2, weight, null, oc, k, k, 1, 1, 0, 0, 1, 1,
                groups, new float[1024], GEMM);
        return assertThrows(IllegalArgumentException.class, call);
    }

    private static void assertMessage(IllegalArgumentException e, String... parts) {
        for (String part : parts) {
            assertTrue(e.getMessage().contains(part), () -> "'" + part + "' missing from: " + e.getMessage());
        }
    }
}
