package dev.graft.ops;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Every backward rule against central finite differences ({@link GradCheck}) on random small shapes. Inputs avoid
 * the points where a rule is not differentiable (kinks of relu/abs/clamp, ties of max pooling) by more than the
 * probe's eps; log, sqrt and rsqrt get positive inputs.
 */
class GradientPropertiesTest {

    private static int[] randomShape(Random random, int rank, int max) {
        int[] shape = new int[rank];
        for (int d = 0; d < rank; d++) {
            shape[d] = 1 + random.nextInt(max);
        }
        return shape;
    }

    // ---------------------------------------------------------------- elementwise

    @Property(tries = 15)
    void unaryRules(@ForAll long seed, @ForAll @IntRange(min = 1, max = 3) int rank) {
        Random random = new Random(seed);
        int[] shape = randomShape(random, rank, 4);
        Tensor any = GradCheck.awayFromZero(random, 2f, 0.05f, shape);
        Tensor positive = Tensor.rand(random, 0.5f, 2f, shape);
        for (Op op : new Op[] {MathOps.NEG, MathOps.ABS, MathOps.EXP, MathOps.ERF, MathOps.RELU, MathOps.SIGMOID,
                MathOps.TANH, MathOps.SILU, MathOps.GELU, MathOps.GELU_TANH}) {
            GradCheck.check(op, new Object[] {any}, seed);
        }
        for (Op op : new Op[] {MathOps.LOG, MathOps.SQRT, MathOps.RSQRT}) {
            GradCheck.check(op, new Object[] {positive}, seed);
        }
        GradCheck.check(MathOps.LEAKY_RELU, new Object[] {any, 0.1f}, seed);
        // Values on a grid at least 0.1 from the bounds -0.5 and 1.0 (the kinks).
        float[] grid = {-1.9f, -1.3f, -0.7f, -0.2f, 0.3f, 0.8f, 1.4f, 1.8f};
        float[] clampValues = new float[any.numel()];
        for (int i = 0; i < clampValues.length; i++) {
            clampValues[i] = grid[random.nextInt(grid.length)];
        }
        GradCheck.check(MathOps.CLAMP, new Object[] {Tensor.of(clampValues, shape), -0.5f, 1.0f}, seed);
        GradCheck.check(MathOps.POW, new Object[] {positive, 3f}, seed);
    }

    @Property(tries = 20)
    void binaryRulesReduceBroadcastGradients(@ForAll long seed, @ForAll @IntRange(min = 0, max = 3) int pattern) {
        Random random = new Random(seed);
        int[] shape = randomShape(random, 3, 4);
        int[] other = switch (pattern) {
            case 0 -> shape.clone();                           // same shape
            case 1 -> new int[] {shape[2]};                     // trailing vector
            case 2 -> new int[] {shape[0], 1, shape[2]};        // a size-1 middle dimension
            default -> new int[] {1, shape[1], 1};              // size 1 on both sides
        };
        Tensor a = Tensor.rand(random, -2f, 2f, shape);
        Tensor b = Tensor.rand(random, 0.5f, 2f, other);       // away from 0 for div
        for (Op op : new Op[] {MathOps.ADD, MathOps.SUB, MathOps.MUL, MathOps.DIV}) {
            GradCheck.check(op, new Object[] {a, b}, seed);
            // a as a denominator must stay away from 0 too
            GradCheck.check(op, new Object[] {b, op == MathOps.DIV ? GradCheck.awayFromZero(random, 1.5f, 0.5f, shape)
                    : a}, seed);
            GradCheck.check(op, new Object[] {a, 1.5f}, seed);
        }
        Tensor cond = Tensor.rand(random, 0f, 1f, other).gt(0.5f);
        GradCheck.check(MathOps.WHERE, new Object[] {cond, a, b}, seed);
        Tensor mask = Tensor.rand(random, 0f, 1f, shape).gt(0.5f);
        GradCheck.check(MathOps.MASKED_FILL, new Object[] {a, mask, -3f}, seed);
    }

    // ---------------------------------------------------------------- reductions and movement

    @Property(tries = 15)
    void reductionAndMovementRules(@ForAll long seed, @ForAll boolean keepDim) {
        Random random = new Random(seed);
        int[] shape = randomShape(random, 3, 4);
        Tensor x = Tensor.rand(random, -2f, 2f, shape);
        int dim = random.nextInt(3);
        GradCheck.check(ReduceOps.SUM, new Object[] {x, new int[] {dim}, keepDim}, seed);
        GradCheck.check(ReduceOps.MEAN, new Object[] {x, new int[] {dim, (dim + 1) % 3}, keepDim}, seed);
        GradCheck.check(ReduceOps.SUM, new Object[] {x, new int[] {0, 1, 2}, false}, seed);
        GradCheck.check(MovementOps.RESHAPE, new Object[] {x, new int[] {-1}}, seed);
        GradCheck.check(MovementOps.FLATTEN, new Object[] {x, 1, 2}, seed);
        GradCheck.check(MovementOps.PERMUTE, new Object[] {x, new int[] {2, 0, 1}}, seed);
        GradCheck.check(MovementOps.TRANSPOSE, new Object[] {x, 0, 2}, seed);
        GradCheck.check(MovementOps.SLICE, new Object[] {x, dim, 0, 3, 2}, seed);
        GradCheck.check(MovementOps.SELECT, new Object[] {x, dim, 0}, seed);
        GradCheck.check(MovementOps.UNSQUEEZE, new Object[] {x, 1}, seed);
        Tensor withOne = Tensor.rand(random, -1f, 1f, shape[0], 1, shape[2]);
        GradCheck.check(MovementOps.SQUEEZE, new Object[] {withOne, 1}, seed);
        GradCheck.check(MovementOps.EXPAND, new Object[] {withOne, new int[] {2, shape[0], 3, shape[2]}}, seed);
        GradCheck.check(MovementOps.CONTIGUOUS, new Object[] {x.permute(1, 0, 2)}, seed);
        int[] otherShape = shape.clone();
        otherShape[dim] = 1 + random.nextInt(3);
        Tensor y = Tensor.rand(random, -2f, 2f, otherShape);
        GradCheck.check(MovementOps.CAT, new Object[] {new Tensor[] {x, y, x}, dim}, seed);
    }

    // ---------------------------------------------------------------- linear algebra

    @Property(tries = 15)
    void linearAndMatmulRules(@ForAll long seed) {
        Random random = new Random(seed);
        int rows = 1 + random.nextInt(4);
        int in = 1 + random.nextInt(5);
        int out = 1 + random.nextInt(4);
        Tensor x = Tensor.rand(random, -1f, 1f, 2, rows, in);
        Tensor w = Tensor.rand(random, -1f, 1f, out, in);
        Tensor b = Tensor.rand(random, -1f, 1f, out);
        GradCheck.check(LinalgOps.LINEAR, new Object[] {x, w, b}, seed);
        GradCheck.check(LinalgOps.LINEAR, new Object[] {x, w, null}, seed);
        Tensor a3 = Tensor.rand(random, -1f, 1f, 2, rows, in);
        Tensor b2 = Tensor.rand(random, -1f, 1f, in, out);                 // broadcast over a's batch
        Tensor b4 = Tensor.rand(random, -1f, 1f, 3, 1, in, out);           // broadcast batch dims both ways
        GradCheck.check(LinalgOps.MATMUL, new Object[] {a3, b2}, seed);
        GradCheck.check(LinalgOps.MATMUL, new Object[] {a3, b4}, seed);
        GradCheck.check(LinalgOps.MATMUL, new Object[] {Tensor.rand(random, -1f, 1f, in), b2}, seed);
        GradCheck.check(LinalgOps.MATMUL, new Object[] {a3, Tensor.rand(random, -1f, 1f, in)}, seed);
        GradCheck.check(LinalgOps.MATMUL, new Object[] {a3.transpose(1, 2).transpose(1, 2), b2.t().t()}, seed);
    }

    @Property(tries = 12)
    void conv2dRuleWithGroupsStridePaddingDilation(@ForAll long seed, @ForAll @IntRange(min = 1, max = 2) int groups,
                                                   @ForAll @IntRange(min = 1, max = 2) int stride,
                                                   @ForAll @IntRange(min = 0, max = 2) int padding,
                                                   @ForAll @IntRange(min = 1, max = 2) int dilation) {
        Random random = new Random(seed);
        int n = 1 + random.nextInt(5); // 4 and more take the batched (parallel) forward
        int c = 2 * groups;
        int oc = 2 * groups;
        int k = 1 + random.nextInt(3);
        int h = (k - 1) * dilation + 1 + random.nextInt(3);
        Tensor x = Tensor.rand(random, -1f, 1f, n, c, h, h + 1);
        Tensor w = Tensor.rand(random, -1f, 1f, oc, c / groups, k, k);
        Tensor b = Tensor.rand(random, -1f, 1f, oc);
        GradCheck.check(LinalgOps.CONV2D, new Object[] {x, w, b, new int[] {stride}, new int[] {padding},
                new int[] {dilation}, groups}, seed);
        // Depthwise (groups == channels) goes through the direct kernel forward; the rule is the same.
        Tensor dw = Tensor.rand(random, -1f, 1f, c, 1, k, k);
        GradCheck.check(LinalgOps.CONV2D, new Object[] {x, dw, null, new int[] {stride}, new int[] {padding},
                new int[] {dilation}, c}, seed);
    }

    // ---------------------------------------------------------------- NN ops and losses

    @Property(tries = 15)
    void softmaxAndNormalizationRules(@ForAll long seed) {
        Random random = new Random(seed);
        int[] shape = randomShape(random, 3, 4);
        Tensor x = Tensor.rand(random, -2f, 2f, shape);
        int dim = random.nextInt(3);
        GradCheck.check(NNOps.SOFTMAX, new Object[] {x, dim}, seed);
        GradCheck.check(NNOps.LOG_SOFTMAX, new Object[] {x, dim - 3}, seed);
        int last = shape[2] + 1;
        // Distinct values 0.3 apart: no row is nearly constant (where the normalization's curvature explodes and a
        // finite difference of step eps says nothing).
        Tensor rows = GradCheck.distinct(random, shape[0], shape[1], last).mul(3f);
        Tensor gamma = Tensor.rand(random, 0.5f, 1.5f, last);
        Tensor beta = Tensor.rand(random, -1f, 1f, last);
        GradCheck.check(NNOps.LAYER_NORM, new Object[] {rows, new int[] {last}, gamma, beta, 1e-5f}, seed);
        GradCheck.check(NNOps.LAYER_NORM, new Object[] {rows, new int[] {shape[1], last}, null, null, 1e-5f}, seed);
        int channels = 1 + random.nextInt(3);
        Tensor img = Tensor.rand(random, -2f, 2f, 2 + random.nextInt(2), channels, 2, 3);
        Tensor cw = Tensor.rand(random, 0.5f, 1.5f, channels);
        Tensor cb = Tensor.rand(random, -1f, 1f, channels);
        GradCheck.check(NNOps.BATCH_NORM, new Object[] {img, Tensor.rand(random, -1f, 1f, channels),
                Tensor.rand(random, 0.5f, 2f, channels), cw, cb, 1e-5f}, seed);
        GradCheck.check(TrainingOps.BATCH_NORM_TRAINING, new Object[] {img, cw, cb, 1e-5f}, seed);
    }

    @Property(tries = 15)
    void embeddingPoolingAndLossRules(@ForAll long seed) {
        Random random = new Random(seed);
        Tensor ids = Tensor.ofLongs(new long[] {3, 1, 3, 0, 2, 1}, 2, 3); // repeated ids accumulate
        GradCheck.check(NNOps.EMBEDDING, new Object[] {ids, Tensor.rand(random, -1f, 1f, 5, 1 + random.nextInt(4))},
                seed);
        int c = 1 + random.nextInt(3);
        Tensor x = GradCheck.distinct(random, 2, c, 4 + random.nextInt(3), 5);
        GradCheck.check(NNPoolOps.MAX_POOL2D, new Object[] {x, new int[] {2}, new int[] {2}, new int[] {0},
                new int[] {1}, false}, seed);
        GradCheck.check(NNPoolOps.MAX_POOL2D, new Object[] {x, new int[] {3}, new int[] {1, 2}, new int[] {1},
                new int[] {1}, true}, seed);
        GradCheck.check(NNPoolOps.AVG_POOL2D, new Object[] {x, new int[] {3}, new int[] {2}, new int[] {1}, true, false},
                seed);
        GradCheck.check(NNPoolOps.ADAPTIVE_AVG_POOL2D, new Object[] {x, new int[] {3, 2}}, seed);
        int n = 1 + random.nextInt(5);
        int classes = 2 + random.nextInt(4);
        long[] labels = new long[n];
        for (int i = 0; i < n; i++) {
            labels[i] = random.nextInt(classes);
        }
        Tensor logits = Tensor.rand(random, -3f, 3f, n, classes);
        GradCheck.check(TrainingOps.CROSS_ENTROPY, new Object[] {logits, Tensor.ofLongs(labels, n)}, seed);
        GradCheck.check(TrainingOps.MSE_LOSS, new Object[] {logits, Tensor.rand(random, -3f, 3f, n, classes)}, seed);
    }

    // ---------------------------------------------------------------- refusals

    @Property(tries = 1)
    void opsWithoutRuleRefuseClearly() {
        Tensor x = Tensor.of(new float[] {1f, 2f}, 2);
        var e = assertThrows(TensorException.class, () -> ReduceOps.MAX.backward(new Object[] {x, new int[] {0},
                false}, x.max(), Tensor.scalar(1f), new boolean[] {true, false, false}));
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("max"), e.getMessage());
        // A gradient that is not wanted is not computed.
        Object[] g = LinalgOps.LINEAR.backward(new Object[] {x.reshape(1, 2), Tensor.ones(3, 2), null},
                Tensor.zeros(1, 3), Tensor.ones(1, 3), new boolean[] {false, true, false});
        assertNull(g[0]);
    }
}
