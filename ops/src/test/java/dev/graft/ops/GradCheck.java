package dev.graft.ops;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Checks an op's backward rule against central finite differences. The scalar is {@code L = sum(R * op(args))} with
 * a fixed random R, summed in double; the rule's gradient (given R as the output gradient) must match
 * {@code (L(x + eps) - L(x - eps)) / 2eps} for every element of every float tensor argument.
 *
 * <p>Tolerance. Forward ops compute in float32, so each output carries a rounding error of about
 * {@code 6e-8 * |y|}; over the n outputs that perturb L by at most ~{@code n * 6e-8 * max|R y|}, which the difference
 * quotient divides by {@code 2 eps}. The truncation error, {@code eps^2 / 6 * |f'''|}, is cancelled by Richardson
 * extrapolation over eps = 1e-2 and 5e-3 (leaving O(eps^4), which matters where the curvature is high: 1/b for b
 * near 0.5, layer norm of nearly constant rows). On values of order 1 both errors stay well below 1e-3 for the
 * small shapes used, so |analytic - numeric| must be within {@code 2e-3 * (1 + |numeric|)}: loose enough for float rounding, tight enough that a wrong rule (a missing
 * factor, a transposed index, a wrong broadcast reduction) fails by orders of magnitude.
 */
final class GradCheck {
    static final double EPS = 1e-2;
    static final double TOLERANCE = 2e-3;

    private GradCheck() {
    }

    /** Checks the gradient of every float32 tensor (or Tensor[] element) among {@code args}. */
    static void check(Op op, Object[] args, long seed) {
        check(op, args, seed, TOLERANCE);
    }

    static void check(Op op, Object[] args, long seed, double tolerance) {
        Tensor y = (Tensor) Dispatch.computeEagerly(op, args);
        Random random = new Random(seed ^ 0x5DEECE66DL);
        float[] r = new float[y.numel()];
        for (int i = 0; i < r.length; i++) {
            r[i] = (float) random.nextGaussian();
        }
        Tensor gradOut = Tensor.of(r, y.shape());
        boolean[] need = new boolean[args.length];
        for (int i = 0; i < args.length; i++) {
            need[i] = args[i] instanceof Tensor t && t.dtype() == DType.FLOAT32 || args[i] instanceof Tensor[];
        }
        Object[] grads = op.backward(args, y, gradOut, need);
        for (int i = 0; i < args.length; i++) {
            if (args[i] instanceof Tensor t && t.dtype() == DType.FLOAT32) {
                assertNotNull(grads[i], op.name() + ": no gradient for argument " + i);
                compare(op, args, i, -1, t, (Tensor) grads[i], r, tolerance);
            } else if (args[i] instanceof Tensor[] ts) {
                Tensor[] gs = (Tensor[]) grads[i];
                for (int k = 0; k < ts.length; k++) {
                    compare(op, args, i, k, ts[k], gs[k], r, tolerance);
                }
            }
        }
    }

    private static void compare(Op op, Object[] args, int argIndex, int element, Tensor x, Tensor grad, float[] r,
                                double tolerance) {
        assertArrayEquals(x.shape(), grad.shape(), op.name() + ": gradient shape of argument " + argIndex);
        float[] base = x.toFloatArray();
        float[] analytic = grad.toFloatArray();
        for (int j = 0; j < base.length; j++) {
            double wide = difference(op, args, argIndex, element, x, base, j, r, EPS);
            double narrow = difference(op, args, argIndex, element, x, base, j, r, EPS / 2);
            double numeric = (4 * narrow - wide) / 3; // Richardson: cancels the eps^2 term
            double error = Math.abs(analytic[j] - numeric);
            if (error > tolerance * (1 + Math.abs(numeric))) {
                fail(op.name() + ": d/d arg" + argIndex + (element >= 0 ? "[" + element + "]" : "") + " element " + j
                        + ": analytic " + analytic[j] + " vs numeric " + numeric);
            }
        }
    }

    /** The central difference quotient with step {@code eps} (the perturbed value as float, as the op sees it). */
    private static double difference(Op op, Object[] args, int argIndex, int element, Tensor x, float[] base, int j,
                                     float[] r, double eps) {
        float up = (float) (base[j] + eps);
        float down = (float) (base[j] - eps);
        double plus = loss(op, args, argIndex, element, x, base, j, up, r);
        double minus = loss(op, args, argIndex, element, x, base, j, down, r);
        return (plus - minus) / ((double) up - down);
    }

    private static double loss(Op op, Object[] args, int argIndex, int element, Tensor x, float[] base, int j,
                               float value, float[] r) {
        float[] changed = base.clone();
        changed[j] = value;
        Tensor moved = Tensor.of(changed, x.shape());
        Object[] a = args.clone();
        if (element < 0) {
            a[argIndex] = moved;
        } else {
            Tensor[] ts = ((Tensor[]) args[argIndex]).clone();
            ts[element] = moved;
            a[argIndex] = ts;
        }
        float[] y = ((Tensor) Dispatch.computeEagerly(op, a)).toFloatArray();
        assertEquals(r.length, y.length);
        double sum = 0;
        for (int i = 0; i < y.length; i++) {
            sum += (double) r[i] * y[i];
        }
        return sum;
    }

    /** Values in [-range, range] at least {@code gap} away from 0 (so kinks at 0 lie outside the +-eps probe). */
    static Tensor awayFromZero(Random random, float range, float gap, int... shape) {
        Tensor t = Tensor.rand(random, -range, range, shape);
        float[] v = t.toFloatArray();
        for (int i = 0; i < v.length; i++) {
            v[i] = Math.copySign(gap + Math.abs(v[i]), v[i]);
        }
        return Tensor.of(v, shape);
    }

    /** Distinct values spaced {@code 0.1} apart in random order (no ties within eps, for max pooling). */
    static Tensor distinct(Random random, int... shape) {
        int n = 1;
        for (int d : shape) {
            n *= d;
        }
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (i - n / 2f) * 0.1f;
        }
        for (int i = n - 1; i > 0; i--) {
            int k = random.nextInt(i + 1);
            float t = v[i];
            v[i] = v[k];
            v[k] = t;
        }
        return Tensor.of(v, shape);
    }
}
