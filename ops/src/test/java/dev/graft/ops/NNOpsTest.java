package dev.graft.ops;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Hand-computed cases for {@link NNOps} and the {@link F} facade, and the errors they must raise. */
class NNOpsTest {

    /** Hand-computed expectations carry 10 significant digits; float32 results are good to ~1e-7 relative. */
    private static final float TOL = 2e-6f;

    // ---------------------------------------------------------------- softmax

    @Test
    void softmaxOfARowSumsToOne() {
        Tensor y = F.softmax(Tensor.of(new float[] {1, 2, 3}, 3), 0);
        assertValues(new float[] {0.0900305732f, 0.2447284711f, 0.6652409558f}, y);
        float sum = 0;
        for (float v : y.toFloatArray()) {
            sum += v;
        }
        assertEquals(1f, sum, 1e-6f);
    }

    @Test
    void softmaxIsStableForLargeInputs() {
        Tensor y = F.softmax(Tensor.of(new float[] {1000, 1001, 1002, -1000, -1001, -1002}, 2, 3), 1);
        assertValues(new float[] {0.0900305732f, 0.2447284711f, 0.6652409558f,
                0.6652409558f, 0.2447284711f, 0.0900305732f}, y);
    }

    @Test
    void softmaxAlongTheFirstDimAndNegativeDims() {
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4}, 2, 2);
        assertValues(new float[] {0.1192029220f, 0.1192029220f, 0.8807970780f, 0.8807970780f}, F.softmax(x, 0));
        assertValues(new float[] {0.5f, 0.5f, 0.25f, 0.75f},
                F.softmax(Tensor.of(new float[] {0, 0, 0, (float) Math.log(3)}, 2, 2), -1));
    }

    @Test
    void softmaxGivesZeroToMinusInfinityAndOneToA0dTensor() {
        assertValues(new float[] {1f, 0f}, F.softmax(Tensor.of(new float[] {0, Float.NEGATIVE_INFINITY}, 2), 0));
        Tensor y = F.softmax(Tensor.scalar(5f), -1);
        assertArrayEquals(new int[0], y.shape());
        assertEquals(1f, y.item());
    }

    @Test
    void softmaxOfARowWithNaNIsNaN() {
        for (float v : F.softmax(Tensor.of(new float[] {1, Float.NaN, 3}, 3), 0).toFloatArray()) {
            assertTrue(Float.isNaN(v));
        }
    }

    @Test
    void logSoftmaxKnownValues() {
        assertValues(new float[] {-2.4076059644f, -1.4076059644f, -0.4076059644f},
                F.logSoftmax(Tensor.of(new float[] {1, 2, 3}, 1, 3), 1));
        // Far past where exp overflows or underflows in float32, the log form stays exact.
        assertValues(new float[] {-200f, 0f}, F.logSoftmax(Tensor.of(new float[] {-100, 100}, 2), 0));
    }

    // ---------------------------------------------------------------- layer_norm

    @Test
    void layerNormKnownValues() {
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4}, 1, 4);
        assertValues(new float[] {-1.3416407865f, -0.4472135955f, 0.4472135955f, 1.3416407865f},
                F.layerNorm(x, new int[] {4}, null, null, 0f));
        Tensor w = Tensor.of(new float[] {1, 2, 1, 2}, 4);
        Tensor b = Tensor.of(new float[] {0, 0, 1, 1}, 4);
        assertValues(new float[] {-1.3416407865f, -0.8944271910f, 1.4472135955f, 3.6832815730f},
                F.layerNorm(x, new int[] {4}, w, b, 0f));
    }

    @Test
    void layerNormOverTwoTrailingDims() {
        Tensor x = Tensor.of(new float[] {5, 5, 5, 5, 0, 0, 0, 4}, 2, 2, 2);
        Tensor y = F.layerNorm(x, new int[] {2, 2}, null, null, 1e-5f);
        // A constant slice normalizes to zeros (eps keeps it finite); the other has mean 1 and variance 3.
        float s = (float) (1 / Math.sqrt(3 + 1e-5));
        assertValues(new float[] {0, 0, 0, 0, -s, -s, -s, 3 * s}, y);
        assertArrayEquals(new int[] {2, 2, 2}, y.shape());
    }

    // ---------------------------------------------------------------- batch_norm

    @Test
    void batchNormTwoDimensional() {
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4}, 2, 2);
        Tensor y = F.batchNorm(x, vec(1, 2), vec(4, 0.25f), vec(2, 1), vec(0.5f, -1), 0f);
        assertValues(new float[] {0.5f, -1f, 2.5f, 3f}, y);
    }

    @Test
    void batchNormFourDimensionalWithoutAffineAndWithEps() {
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4}, 1, 2, 1, 2);
        assertValues(new float[] {1, 2, 2, 3}, F.batchNorm(x, vec(0, 1), vec(1, 1), null, null, 0f));
        // var 0.75 + eps 0.25 = 1.
        Tensor x3 = Tensor.of(new float[] {2, 4}, 1, 1, 2);
        assertValues(new float[] {1, 3}, F.batchNorm(x3, vec(1), vec(0.75f), null, null, 0.25f));
    }

    // ---------------------------------------------------------------- embedding

    @Test
    void embeddingLooksUpRows() {
        Tensor w = Tensor.of(new float[] {0, 1, 10, 11, 20, 21}, 3, 2);
        Tensor y = F.embedding(Tensor.ofLongs(new long[] {2, 0, 1, 1}, 2, 2), w);
        assertArrayEquals(new int[] {2, 2, 2}, y.shape());
        assertValues(new float[] {20, 21, 0, 1, 10, 11, 10, 11}, y);
        assertValues(new float[] {10, 11}, F.embedding(Tensor.ofInts(new int[] {1}, 1), w));
        Tensor scalarId = F.embedding(Tensor.ofInts(new int[] {2}), w);
        assertArrayEquals(new int[] {2}, scalarId.shape());
        // A transposed (non-contiguous) weight reads through its strides.
        Tensor wt = Tensor.of(new float[] {0, 10, 20, 1, 11, 21}, 2, 3).t();
        assertValues(new float[] {20, 21, 0, 1}, F.embedding(Tensor.ofLongs(new long[] {2, 0}, 2), wt));
    }

    @Test
    void embeddingRefusesIdsOutOfRange() {
        Tensor w = Tensor.zeros(3, 2);
        ShapeException high = assertThrows(ShapeException.class,
                () -> F.embedding(Tensor.ofLongs(new long[] {0, 3}, 2), w));
        assertTrue(high.getMessage().contains("embedding") && high.getMessage().contains("id 3")
                && high.getMessage().contains("V=3"), high.getMessage());
        ShapeException negative = assertThrows(ShapeException.class,
                () -> F.embedding(Tensor.ofInts(new int[] {-1}, 1), w));
        assertTrue(negative.getMessage().contains("id -1"), negative.getMessage());
        assertRefused(DTypeException.class, "embedding", () -> F.embedding(Tensor.of(new float[] {0}, 1), w));
        assertRefused(ShapeException.class, "embedding",
                () -> F.embedding(Tensor.ofInts(new int[] {0}, 1), Tensor.zeros(3)));
    }

    // ---------------------------------------------------------------- max_pool2d

    @Test
    void maxPoolTwoByTwo() {
        Tensor y = F.maxPool2d(iota(1, 1, 4, 4), 2, 2, 0);
        assertArrayEquals(new int[] {1, 1, 2, 2}, y.shape());
        assertValues(new float[] {5, 7, 13, 15}, y);
    }

    @Test
    void maxPoolPadsWithMinusInfinity() {
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9}, 1, 1, 3, 3);
        assertValues(new float[] {5, 6, 8, 9}, F.maxPool2d(x, 3, 2, 1));
        // With negative values a zero padding would win; -inf padding never does.
        assertValues(new float[] {-1, -2, -4, -5}, F.maxPool2d(x.neg(), 3, 2, 1));
    }

    @Test
    void maxPoolCeilModeAddsAPartialWindow() {
        Tensor x = iota(1, 1, 5, 5);
        assertArrayEquals(new int[] {1, 1, 2, 2}, F.maxPool2d(x, 2, 2, 0).shape());
        Tensor y = F.maxPool2d(x, new int[] {2}, new int[] {2}, new int[] {0}, new int[] {1}, true);
        assertValues(new float[] {6, 8, 9, 16, 18, 19, 21, 23, 24}, y);
    }

    @Test
    void maxPoolCeilModeDropsAWindowStartingInTheRightPadding() {
        // W=5, k=3, s=3, p=1: ceil would give 3 windows, but the third starts at 5, past the input.
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 5}, 1, 1, 5);
        Tensor y = F.maxPool2d(x, new int[] {1, 3}, new int[] {1, 3}, new int[] {0, 1}, new int[] {1}, true);
        assertArrayEquals(new int[] {1, 1, 2}, y.shape());
        assertValues(new float[] {2, 5}, y);
    }

    @Test
    void maxPoolWithDilationAndDefaultStride() {
        Tensor x = Tensor.of(new float[] {1, 5, 2, 4, 3}, 1, 1, 1, 5);
        assertValues(new float[] {2, 5, 3},
                F.maxPool2d(x, new int[] {1, 2}, new int[] {1}, new int[] {0}, new int[] {1, 2}, false));
        // An empty stride means stride = kernel, as PyTorch's default.
        assertValues(new float[] {5, 7, 13, 15},
                F.maxPool2d(iota(1, 1, 4, 4), new int[] {2}, new int[0], new int[] {0}, new int[] {1}, false));
    }

    @Test
    void maxPoolPropagatesNaN() {
        Tensor x = Tensor.of(new float[] {1, Float.NaN, 3, 4}, 1, 1, 2, 2);
        assertTrue(Float.isNaN(F.maxPool2d(x, 2, 2, 0).toFloatArray()[0]));
    }

    // ---------------------------------------------------------------- avg_pool2d

    @Test
    void avgPoolTwoByTwo() {
        assertValues(new float[] {2.5f, 4.5f, 10.5f, 12.5f}, F.avgPool2d(iota(1, 1, 4, 4), 2, 2, 0));
    }

    @Test
    void avgPoolWithPaddingCountsPadOrNot() {
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9}, 1, 3, 3);
        assertValues(new float[] {12f / 9, 16f / 9, 24f / 9, 28f / 9}, F.avgPool2d(x, 3, 2, 1));
        Tensor y = F.avgPool2d(x, new int[] {3}, new int[] {2}, new int[] {1}, false, false);
        assertArrayEquals(new int[] {1, 2, 2}, y.shape());
        assertValues(new float[] {3, 4, 6, 7}, y);
    }

    @Test
    void avgPoolCeilModeDividesByTheClippedWindow() {
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9}, 1, 1, 3, 3);
        Tensor y = F.avgPool2d(x, new int[] {2}, new int[] {2}, new int[] {0}, true, true);
        assertValues(new float[] {3, 4.5f, 7.5f, 9}, y);
    }

    @Test
    void avgPoolCeilModeWithPadding() {
        // W=4, k=3, s=2, p=1, ceil: windows [-1,2), [1,4), [3,5) where 4 is padding; the last one overhangs nothing.
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4}, 1, 1, 4);
        int[] k = {1, 3};
        int[] s = {1, 2};
        int[] p = {0, 1};
        assertValues(new float[] {1, 3, 2}, F.avgPool2d(x, k, s, p, true, true));
        assertValues(new float[] {1.5f, 3, 4}, F.avgPool2d(x, k, s, p, true, false));
    }

    // ---------------------------------------------------------------- adaptive_avg_pool2d

    @Test
    void adaptiveAvgPoolOverlappingWindows() {
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9}, 1, 1, 3, 3);
        assertValues(new float[] {3, 4, 6, 7}, F.adaptiveAvgPool2d(x, 2, 2));
        Tensor global = F.adaptiveAvgPool2d(x, 1);
        assertArrayEquals(new int[] {1, 1, 1, 1}, global.shape());
        assertValues(new float[] {5}, global);
    }

    @Test
    void adaptiveAvgPoolToALargerSize() {
        // in=3, out=5: windows [0,1) [0,2) [1,2) [1,3) [2,3).
        Tensor x = Tensor.of(new float[] {1, 2, 3}, 1, 1, 3);
        assertValues(new float[] {1, 1.5f, 2, 2.5f, 3}, F.adaptiveAvgPool2d(x, 1, 5));
    }

    // ---------------------------------------------------------------- upsampling

    @Test
    void upsampleNearestDoubles() {
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4}, 1, 1, 2, 2);
        assertValues(new float[] {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4},
                F.upsampleNearest(x, new int[] {4, 4}));
    }

    @Test
    void upsampleNearestNonIntegerScales() {
        Tensor x = Tensor.of(new float[] {1, 2, 3}, 1, 1, 1, 3);
        assertValues(new float[] {1, 1, 2, 2, 3}, F.upsampleNearest(x, new int[] {1, 5}));
        Tensor down = Tensor.of(new float[] {1, 2, 3, 4, 5}, 1, 1, 1, 5);
        assertValues(new float[] {1, 3}, F.upsampleNearest(down, new int[] {1, 2}));
        assertValues(new float[] {7, 7, 7, 7}, F.upsampleNearest(Tensor.full(7f, 1, 1, 1, 1), new int[] {2}));
    }

    @Test
    void upsampleNearestUsesTheFloatScaleAsPyTorch() {
        // 26 -> 22: the exact source of output 11 is 11*26/22 = 13, but 11 * (float) (26/22) rounds to 12.99999.
        Tensor x = iota(1, 1, 1, 26);
        assertEquals(12f, F.upsampleNearest(x, new int[] {1, 22}).toFloatArray()[11]);
    }

    @Test
    void upsampleBilinearOneDimensionBothModes() {
        Tensor x = Tensor.of(new float[] {0, 3}, 1, 1, 1, 2);
        assertValues(new float[] {0, 1, 2, 3}, F.upsampleBilinear(x, new int[] {1, 4}, true));
        assertValues(new float[] {0, 0.75f, 2.25f, 3}, F.upsampleBilinear(x, new int[] {1, 4}, false));
    }

    @Test
    void upsampleBilinearTwoDimensions() {
        Tensor x = Tensor.of(new float[] {0, 1, 2, 3}, 1, 1, 2, 2);
        assertValues(new float[] {0, 0.5f, 1, 1, 1.5f, 2, 2, 2.5f, 3},
                F.upsampleBilinear(x, new int[] {3, 3}, true));
        assertValues(new float[] {0, 0.25f, 0.75f, 1, 0.5f, 0.75f, 1.25f, 1.5f,
                1.5f, 1.75f, 2.25f, 2.5f, 2, 2.25f, 2.75f, 3}, F.upsampleBilinear(x, new int[] {4, 4}, false));
    }

    @Test
    void upsampleBilinearToOnePixel() {
        Tensor x = Tensor.of(new float[] {0, 1, 2, 3}, 1, 1, 1, 4);
        // Half-pixel centres: the one output pixel sits at source 1.5; aligned corners take the first pixel.
        assertValues(new float[] {1.5f}, F.upsampleBilinear(x, new int[] {1, 1}, false));
        assertValues(new float[] {0f}, F.upsampleBilinear(x, new int[] {1, 1}, true));
    }

    // ---------------------------------------------------------------- errors

    @Test
    void wrongRanksAreRefused() {
        Tensor x2 = Tensor.zeros(4, 4);
        assertRefused(ShapeException.class, "max_pool2d", () -> F.maxPool2d(x2, 2, 2, 0));
        assertRefused(ShapeException.class, "avg_pool2d", () -> F.avgPool2d(Tensor.zeros(1, 1, 1, 4, 4), 2, 2, 0));
        assertRefused(ShapeException.class, "adaptive_avg_pool2d", () -> F.adaptiveAvgPool2d(x2, 2));
        assertRefused(ShapeException.class, "upsample_nearest2d",
                () -> F.upsampleNearest(Tensor.zeros(1, 4, 4), new int[] {8, 8}));
        assertRefused(ShapeException.class, "upsample_bilinear2d",
                () -> F.upsampleBilinear(Tensor.zeros(1, 4, 4), new int[] {8, 8}, false));
        assertRefused(ShapeException.class, "batch_norm",
                () -> F.batchNorm(Tensor.zeros(4), vec(0), vec(1), null, null, 1e-5f));
        assertRefused(ShapeException.class, "softmax", () -> F.softmax(x2, 2));
        assertRefused(ShapeException.class, "log_softmax", () -> F.logSoftmax(x2, -3));
    }

    @Test
    void mismatchedShapesAreRefused() {
        Tensor x = Tensor.zeros(2, 3);
        assertRefused(ShapeException.class, "layer_norm", () -> F.layerNorm(x, new int[] {2}, null, null, 1e-5f));
        assertRefused(ShapeException.class, "layer_norm", () -> F.layerNorm(x, new int[0], null, null, 1e-5f));
        assertRefused(ShapeException.class, "layer_norm",
                () -> F.layerNorm(x, new int[] {2, 2, 3}, null, null, 1e-5f));
        assertRefused(ShapeException.class, "layer_norm",
                () -> F.layerNorm(x, new int[] {3}, Tensor.ones(2), null, 1e-5f));
        assertRefused(ShapeException.class, "layer_norm",
                () -> F.layerNorm(x, new int[] {3}, null, Tensor.ones(1, 3), 1e-5f));
        assertRefused(ShapeException.class, "batch_norm",
                () -> F.batchNorm(x, Tensor.zeros(2), Tensor.ones(3), null, null, 1e-5f));
        assertRefused(ShapeException.class, "batch_norm",
                () -> F.batchNorm(x, Tensor.zeros(3), Tensor.ones(3), null, Tensor.zeros(4), 1e-5f));
    }

    @Test
    void badPoolingParametersAreRefused() {
        Tensor x = Tensor.zeros(1, 1, 4, 4);
        assertRefused(ShapeException.class, "max_pool2d", () -> F.maxPool2d(x, 2, 2, 2));
        assertRefused(ShapeException.class, "avg_pool2d", () -> F.avgPool2d(x, 3, 1, 2));
        assertRefused(ShapeException.class, "max_pool2d", () -> F.maxPool2d(x, 0, 1, 0));
        assertRefused(ShapeException.class, "max_pool2d", () -> F.maxPool2d(x, 2, 0, 0));
        assertRefused(ShapeException.class, "max_pool2d", () -> F.maxPool2d(x, 5, 1, 0));
        assertRefused(ShapeException.class, "max_pool2d",
                () -> F.maxPool2d(x, new int[] {2, 2, 2}, new int[] {1}, new int[] {0}, new int[] {1}, false));
        assertRefused(ShapeException.class, "adaptive_avg_pool2d", () -> F.adaptiveAvgPool2d(x, 0, 2));
        assertRefused(ShapeException.class, "upsample_nearest2d", () -> F.upsampleNearest(x, new int[] {0, 2}));
        assertRefused(ShapeException.class, "max_pool2d", () -> F.maxPool2d(Tensor.zeros(1, 0, 4, 4), 2, 2, 0));
    }

    @Test
    void quantizedInputsAreRefused() {
        Tensor q = Tensor.quantized(DType.UINT8, new byte[16], new int[] {1, 1, 4, 4}, new QParams.PerTensor(0.1f, 0));
        assertRefused(DTypeException.class, "softmax", () -> F.softmax(q, -1));
        assertRefused(DTypeException.class, "log_softmax", () -> F.logSoftmax(q, -1));
        assertRefused(DTypeException.class, "layer_norm", () -> F.layerNorm(q, new int[] {4}, null, null, 1e-5f));
        assertRefused(DTypeException.class, "batch_norm",
                () -> F.batchNorm(q, vec(0), vec(1), null, null, 1e-5f));
        assertRefused(DTypeException.class, "max_pool2d", () -> F.maxPool2d(q, 2, 2, 0));
        assertRefused(DTypeException.class, "avg_pool2d", () -> F.avgPool2d(q, 2, 2, 0));
        assertRefused(DTypeException.class, "adaptive_avg_pool2d", () -> F.adaptiveAvgPool2d(q, 1));
        assertRefused(DTypeException.class, "upsample_nearest2d", () -> F.upsampleNearest(q, new int[] {8, 8}));
        assertRefused(DTypeException.class, "upsample_bilinear2d",
                () -> F.upsampleBilinear(q, new int[] {8, 8}, true));
        Tensor qw = Tensor.quantized(DType.INT8, new byte[4], new int[] {2, 2}, new QParams.PerTensor(0.1f, 0));
        assertRefused(DTypeException.class, "embedding", () -> F.embedding(Tensor.ofInts(new int[] {0}, 1), qw));
        assertRefused(DTypeException.class, "batch_norm", () -> F.batchNorm(Tensor.zeros(1, 2), qw.select(0, 0),
                vec(1, 1), null, null, 1e-5f));
    }

    @Test
    void integerInputsAreRefused() {
        Tensor ints = Tensor.ofInts(new int[] {1, 2, 3, 4}, 1, 1, 2, 2);
        assertRefused(DTypeException.class, "softmax", () -> F.softmax(ints, 0));
        assertRefused(DTypeException.class, "max_pool2d", () -> F.maxPool2d(ints, 2, 2, 0));
    }

    // ---------------------------------------------------------------- the F facade

    @Test
    void everyFacadeMethodGoesThroughDispatch() {
        List<String> recorded = new ArrayList<>();
        Dispatch.installGradRecorder((op, args, result) -> recorded.add(op.name()));
        try {
            Tensor x = Tensor.of(new float[] {-1, 0, 1, 2}, 1, 1, 2, 2);
            F.relu(x);
            F.leakyRelu(x, 0.1f);
            F.gelu(x);
            F.geluTanh(x);
            F.sigmoid(x);
            F.tanh(x);
            F.silu(x);
            F.linear(x, Tensor.ones(3, 2), null);
            F.conv2d(x, Tensor.ones(1, 1, 1, 1), null, 1, 0);
            F.matmul(x, x);
            F.pad(x, new int[] {1, 1}, 0f);
            F.cat(new Tensor[] {x, x}, 1);
            F.split(x, 1, 3);
            F.where(x.gt(0f), x, x.neg());
        } finally {
            Dispatch.installGradRecorder(null);
        }
        assertEquals(List.of("relu", "leaky_relu", "gelu", "gelu_tanh", "sigmoid", "tanh", "silu", "linear",
                "conv2d", "matmul", "pad", "cat", "split", "gt", "neg", "where"), recorded);
    }

    @Test
    void facadeActivationsKnownValues() {
        Tensor x = Tensor.of(new float[] {-1, 0, 2}, 3);
        assertValues(new float[] {0, 0, 2}, F.relu(x));
        assertValues(new float[] {-0.1f, 0, 2}, F.leakyRelu(x, 0.1f));
        assertValues(new float[] {-0.1586552539f, 0, 1.9544997361f}, F.gelu(x));
        assertValues(new float[] {0.2689414214f, 0.5f, 0.8807970780f}, F.sigmoid(x));
        assertValues(new float[] {-0.2689414214f, 0, 1.7615941560f}, F.silu(x));
    }

    @Test
    void facadeConvLinearPadAndWhere() {
        Tensor x = iota(1, 1, 3, 3);
        // A 1x1 kernel of 2 with bias 1 and padding 1: a border of 1s around 2x+1.
        Tensor y = F.conv2d(x, Tensor.full(2f, 1, 1, 1, 1), vec(1), 1, 1);
        assertArrayEquals(new int[] {1, 1, 5, 5}, y.shape());
        assertEquals(1f, y.toFloatArray()[0]);
        assertEquals(9f, y.toFloatArray()[5 * 2 + 2]);
        assertValues(new float[] {3, 7}, F.linear(Tensor.of(new float[] {1, 2}, 1, 2), Tensor.of(
                new float[] {1, 1, 1, 3}, 2, 2), vec(0, 0)));
        assertValues(new float[] {9, 1, 2, 9}, F.pad(Tensor.of(new float[] {1, 2}, 2), new int[] {1, 1}, 9f));
        assertValues(new float[] {1, 20}, F.where(Tensor.ofBools(new boolean[] {true, false}, 2), vec(1, 2),
                vec(10, 20)));
    }

    @Test
    void splitIntoChunksAndCatBack() {
        Tensor x = iota(5, 2);
        Tensor[] pieces = F.split(x, 2, 0);
        assertEquals(3, pieces.length);
        assertArrayEquals(new int[] {1, 2}, pieces[2].shape());
        assertValues(x.toFloatArray(), F.cat(pieces, 0));
        Tensor[] exact = F.split(x, new int[] {1, 4}, 0);
        assertArrayEquals(new int[] {4, 2}, exact[1].shape());
        assertEquals(1, F.split(Tensor.zeros(0, 2), 3, 0).length);
        assertRefused(ShapeException.class, "split", () -> F.split(x, 0, 0));
        assertRefused(ShapeException.class, "split", () -> F.split(x, new int[] {2, 2}, 0));
    }

    // ---------------------------------------------------------------- helpers

    private static Tensor vec(float... v) {
        return Tensor.of(v, v.length);
    }

    /** 0, 1, 2, ... in the given shape. */
    private static Tensor iota(int... shape) {
        float[] v = new float[Shapes.numel("iota", shape)];
        for (int i = 0; i < v.length; i++) {
            v[i] = i;
        }
        return Tensor.of(v, shape);
    }

    private static void assertValues(float[] expected, Tensor actual) {
        float[] got = actual.toFloatArray();
        assertEquals(expected.length, got.length, "element count");
        for (int i = 0; i < got.length; i++) {
            float tol = TOL * Math.max(1f, Math.abs(expected[i]));
            assertEquals(expected[i], got[i], tol, "element " + i);
        }
    }

    private static void assertRefused(Class<? extends TensorException> type, String op, Executable call) {
        TensorException e = assertThrows(type, call);
        assertTrue(e.getMessage().contains(op), "message should name " + op + ": " + e.getMessage());
    }
}
