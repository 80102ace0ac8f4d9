package dev.graft.engine.nn;

import dev.graft.kernels.Conv2dKernels;
import dev.graft.ops.DType;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LayersTest {
    private final Random rng = new Random(11);

    @Test
    void linearComputesXWtPlusBOverTheLastDimension() {
        Linear l = new Linear(5, 3, true, new Random(1));
        Tensor x = Tensor.randn(rng, 2, 4, 5);
        float[] w = l.weight().toFloatArray();
        float[] b = l.bias().toFloatArray();
        float[] xv = x.toFloatArray();
        float[] y = l.call(x).toFloatArray();
        assertArrayEquals(new int[] {2, 4, 3}, l.call(x).shape());
        for (int r = 0; r < 8; r++) {
            for (int o = 0; o < 3; o++) {
                double s = b[o];
                for (int i = 0; i < 5; i++) {
                    s += (double) xv[r * 5 + i] * w[o * 5 + i];
                }
                assertEquals(s, y[r * 3 + o], 1e-5);
            }
        }
    }

    @Test
    void linearAndConvInitStayWithinKaimingUniformBounds() {
        Linear l = new Linear(100, 50, true, new Random(2));
        float bound = (float) (1 / Math.sqrt(100));
        for (float v : l.weight().toFloatArray()) {
            assertTrue(Math.abs(v) <= bound);
        }
        Conv2d c = new Conv2d(4, 8, new int[] {3, 3}, new int[] {1, 1}, new int[] {1, 1}, new int[] {1, 1}, 2, true,
                new Random(3));
        float cb = (float) (1 / Math.sqrt(2 * 9));
        for (float v : c.weight().toFloatArray()) {
            assertTrue(Math.abs(v) <= cb);
        }
        assertArrayEquals(new int[] {8, 2, 3, 3}, c.weight().shape());
    }

    @Test
    void conv2dMatchesTheDirectReferenceIncludingGroupsStrideAndDilation() {
        Conv2d c = new Conv2d(6, 4, new int[] {3, 2}, new int[] {2, 1}, new int[] {1, 2}, new int[] {2, 1}, 2, true,
                new Random(4));
        Tensor x = Tensor.randn(rng, 2, 6, 9, 7);
        Tensor y = c.call(x);
        int oh = Conv2dKernels.outputSize(9, 3, 2, 1, 2);
        int ow = Conv2dKernels.outputSize(7, 2, 1, 2, 1);
        assertArrayEquals(new int[] {2, 4, oh, ow}, y.shape());
        float[] ref = new float[2 * 4 * oh * ow];
        Conv2dKernels.conv2dReference(x.toFloatArray(), 2, 6, 9, 7, c.weight().toFloatArray(),
                c.bias().toFloatArray(), 4, 3, 2, 2, 1, 1, 2, 2, 1, 2, ref);
        assertArrayEquals(ref, y.toFloatArray(), 1e-4f);
    }

    @Test
    void batchNormTrainingUsesBatchStatisticsAndUpdatesRunningOnes() {
        BatchNorm2d bn = new BatchNorm2d(3);
        Tensor x = Tensor.randn(rng, 4, 3, 5, 5).mul(3f).add(2f);
        Tensor y = bn.call(x);
        // Each channel of the output has mean ~0 and biased variance ~1.
        for (int ch = 0; ch < 3; ch++) {
            float[] v = y.select(1, ch).contiguous().toFloatArray();
            double mean = 0;
            for (float f : v) {
                mean += f;
            }
            mean /= v.length;
            double var = 0;
            for (float f : v) {
                var += (f - mean) * (f - mean);
            }
            var /= v.length;
            assertEquals(0, mean, 1e-5);
            assertEquals(1, var, 1e-3);
            // running_mean = 0.9 * 0 + 0.1 * batch mean; running_var = 0.9 * 1 + 0.1 * unbiased batch variance.
            float[] xc = x.select(1, ch).contiguous().toFloatArray();
            double m = 0;
            for (float f : xc) {
                m += f;
            }
            m /= xc.length;
            double s = 0;
            for (float f : xc) {
                s += (f - m) * (f - m);
            }
            assertEquals(0.1 * m, bn.runningMean().getFloat(ch), 1e-5);
            assertEquals(0.9 + 0.1 * s / (xc.length - 1), bn.runningVar().getFloat(ch), 1e-4);
        }
        assertEquals(1, bn.stateDict().get("num_batches_tracked").itemLong());
    }

    @Test
    void batchNormEvalUsesRunningStatistics() {
        BatchNorm2d bn = new BatchNorm2d(2);
        bn.eval();
        Tensor x = Tensor.randn(rng, 1, 2, 3, 3);
        assertArrayEquals(x.toFloatArray(), bn.call(x).toFloatArray(), 1e-4f,
                "running mean 0, var 1, weight 1, bias 0 is (almost) the identity");
        assertEquals(0, bn.stateDict().get("num_batches_tracked").itemLong());
    }

    @Test
    void layerNormNormalizesTheLastDimension() {
        LayerNorm ln = new LayerNorm(6);
        Tensor x = Tensor.randn(rng, 3, 6).mul(4f).add(1f);
        Tensor y = ln.call(x);
        for (int r = 0; r < 3; r++) {
            float[] v = y.select(0, r).toFloatArray();
            double mean = 0;
            for (float f : v) {
                mean += f;
            }
            assertEquals(0, mean / 6, 1e-5);
        }
    }

    @Test
    void embeddingLooksUpRows() {
        Embedding e = new Embedding(10, 4, new Random(5));
        Tensor ids = Tensor.ofLongs(new long[] {3, 0, 9, 3}, 2, 2);
        Tensor out = e.call(ids);
        assertArrayEquals(new int[] {2, 2, 4}, out.shape());
        assertArrayEquals(e.weight().select(0, 9).toFloatArray(), out.select(0, 1).select(0, 0).toFloatArray(), 0f);
    }

    @Test
    void dropoutIsIdentityInEvalAndScalesKeptValuesInTraining() {
        Dropout d = new Dropout(0.25f, new Random(6));
        Tensor x = Tensor.ones(10_000);
        d.eval();
        assertSame(x, d.call(x));
        d.train(true);
        float[] y = d.call(x).toFloatArray();
        int zeros = 0;
        for (float v : y) {
            if (v == 0f) {
                zeros++;
            } else {
                assertEquals(1f / 0.75f, v, 1e-6f);
            }
        }
        assertEquals(0.25, zeros / 10_000.0, 0.02);
        assertThrows(IllegalArgumentException.class, () -> new Dropout(1f));
    }

    @Test
    void activationAndShapeLayers() {
        Tensor x = Tensor.of(new float[] {-2, -0.5f, 0, 1.5f}, 2, 2);
        assertArrayEquals(new float[] {0, 0, 0, 1.5f}, new ReLU().call(x).toFloatArray(), 0f);
        assertArrayEquals(new float[] {-0.02f, -0.005f, 0, 1.5f}, new LeakyReLU().call(x).toFloatArray(), 1e-7f);
        assertEquals((float) (1 / (1 + Math.exp(2))), new Sigmoid().call(x).getFloat(0, 0), 1e-7f);
        assertEquals((float) Math.tanh(1.5), new Tanh().call(x).getFloat(1, 1), 1e-7f);
        assertEquals((float) (1.5 / (1 + Math.exp(-1.5))), new SiLU().call(x).getFloat(1, 1), 1e-6f);
        assertEquals(0.0f, new GELU().call(x).getFloat(1, 0), 0f);
        assertEquals(1.3997892f, new GELU().call(x).getFloat(1, 1), 1e-6f);
        float[] sm = new Softmax(1).call(x).toFloatArray();
        assertEquals(1f, sm[0] + sm[1], 1e-6f);
        Tensor img = Tensor.randn(rng, 2, 3, 8, 8);
        assertArrayEquals(new int[] {2, 3, 4, 4}, new MaxPool2d(2).call(img).shape());
        assertArrayEquals(new int[] {2, 3, 4, 4}, new AvgPool2d(2).call(img).shape());
        assertArrayEquals(new int[] {2, 3, 1, 1}, new AdaptiveAvgPool2d(1).call(img).shape());
        assertArrayEquals(new int[] {2, 192}, new Flatten().call(img).shape());
        assertEquals(DType.FLOAT32, new Identity().call(img).dtype());
    }
}
