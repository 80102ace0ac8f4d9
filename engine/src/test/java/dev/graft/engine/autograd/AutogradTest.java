package dev.graft.engine.autograd;

import dev.graft.engine.nn.BatchNorm2d;
import dev.graft.engine.nn.Linear;
import dev.graft.ops.F;
import dev.graft.ops.Tensor;
import dev.graft.ops.TensorException;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The tape: recording, the reverse pass, accumulation, no-grad scopes, refusals. */
class AutogradTest {

    private static Tensor leaf(float[] v, int... shape) {
        return Tensor.of(v, shape).setRequiresGrad(true);
    }

    @Test
    void chainRuleThroughSeveralOpsWithReuse() {
        Autograd.install();
        Tensor x = leaf(new float[] {1f, -2f, 3f}, 3);
        // y = sum(x * x + 3x) -> dy/dx = 2x + 3 (x is used twice: contributions add)
        Tensor y = x.mul(x).add(x.mul(3f)).sum();
        assertNotNull(y.gradFn());
        assertTrue(y.requiresGrad());
        Autograd.backward(y);
        assertArrayEquals(new float[] {5f, -1f, 9f}, x.grad().toFloatArray(), 1e-6f);
    }

    @Test
    void gradientsAccumulateAcrossBackwardCallsUntilZeroed() {
        Tensor w = leaf(new float[] {2f}, 1);
        Autograd.backward(w.mul(3f).sum());
        Autograd.backward(w.mul(3f).sum());
        assertArrayEquals(new float[] {6f}, w.grad().toFloatArray());
        Autograd.zeroGrad(java.util.List.of(w));
        assertNull(w.grad());
        Autograd.backward(w.mul(w).sum());
        assertArrayEquals(new float[] {4f}, w.grad().toFloatArray());
    }

    @Test
    void noGradScopesRecordNothingAndNest() {
        Tensor w = leaf(new float[] {1f, 2f}, 2);
        try (var g = Autograd.noGrad()) {
            assertFalse(Autograd.isGradEnabled());
            Tensor y = w.mul(2f);
            assertNull(y.gradFn());
            assertFalse(y.requiresGrad());
            try (var e = Autograd.enableGrad()) {
                assertNotNull(w.mul(2f).gradFn());
            }
            assertFalse(Autograd.isGradEnabled());
        }
        assertTrue(Autograd.isGradEnabled());
        assertThrows(TensorException.class, () -> Autograd.backward(Tensor.scalar(1f).mul(2f)));
    }

    @Test
    void opsOnTensorsWithoutGradientsAreNotRecorded() {
        Tensor a = Tensor.of(new float[] {1f, 2f}, 2);
        assertNull(a.mul(3f).gradFn());
        Tensor d = Autograd.detach(leaf(new float[] {1f}, 1).mul(2f));
        assertNull(d.gradFn());
        assertFalse(d.requiresGrad());
        assertArrayEquals(new float[] {2f}, d.toFloatArray());
    }

    @Test
    void anOpWithoutRuleFailsOnlyWhenTheGradientMustCrossIt() {
        Tensor w = leaf(new float[] {1f, 5f, 2f}, 3);
        Tensor unused = w.max(); // recorded, but not on the loss's path
        Autograd.backward(w.sum());
        assertArrayEquals(new float[] {1f, 1f, 1f}, w.grad().toFloatArray());
        var e = assertThrows(TensorException.class, () -> Autograd.backward(w.max(0, false)));
        assertTrue(e.getMessage().contains("max"), e.getMessage());
        assertNotNull(unused);
    }

    @Test
    void linearLayerGradientsMatchTheClosedForm() {
        Linear layer = new Linear(3, 2, true, new Random(1));
        Tensor x = Tensor.of(new float[] {1f, 2f, 3f, -1f, 0f, 1f}, 2, 3);
        Autograd.backward(F.mseLoss(layer.call(x), Tensor.zeros(2, 2)));
        // d mean((xW^T+b)^2) / dW = 2/4 * (y^T x), d/db = 2/4 * column sums of y
        float[] y = layer.call(x).toFloatArray();
        float[] expectedW = new float[6];
        float[] expectedB = new float[2];
        for (int o = 0; o < 2; o++) {
            for (int r = 0; r < 2; r++) {
                expectedB[o] += 0.5f * y[r * 2 + o];
                for (int i = 0; i < 3; i++) {
                    expectedW[o * 3 + i] += 0.5f * y[r * 2 + o] * x.toFloatArray()[r * 3 + i];
                }
            }
        }
        Tensor w = layer.namedParameters().get("weight");
        Tensor b = layer.namedParameters().get("bias");
        assertArrayEquals(expectedW, w.grad().toFloatArray(), 1e-5f);
        assertArrayEquals(expectedB, b.grad().toFloatArray(), 1e-5f);
    }

    @Test
    void batchNormTrainingModeBackpropagatesThroughTheBatchStatistics() {
        // sum(bn(x) * r) with weight 1: the gradient w.r.t. x must be orthogonal to constants per channel (shifting a
        // channel by c changes nothing), which only holds when the statistics' own gradients are included.
        BatchNorm2d bn = new BatchNorm2d(2);
        Tensor x = Tensor.randn(new Random(3), 3, 2, 2, 2).setRequiresGrad(true);
        Tensor r = Tensor.randn(new Random(4), 3, 2, 2, 2);
        Autograd.backward(bn.call(x).mul(r).sum());
        float[] g = x.grad().toFloatArray();
        for (int c = 0; c < 2; c++) {
            double sum = 0;
            for (int n = 0; n < 3; n++) {
                for (int i = 0; i < 4; i++) {
                    sum += g[(n * 2 + c) * 4 + i];
                }
            }
            assertEquals(0, sum, 1e-5);
        }
        assertNotNull(bn.weight().grad());
        assertEquals(1L, bn.stateDict().get("num_batches_tracked").itemLong());
        assertNull(bn.runningMean().gradFn(), "running statistics are bookkeeping, not recorded");
    }

}
