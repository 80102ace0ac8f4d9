package dev.graft.ops;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.DoubleBinaryOperator;
import java.util.function.DoubleUnaryOperator;
import java.util.function.ToDoubleFunction;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The test oracle: a dense row-major array of doubles with a shape, read and written only through multi-indices.
 * Every operation here is the most obvious code possible (loop over output indices, compute the input index), so
 * that it shares no strides, cursors or fast paths with the code under test.
 */
final class Ref {
    final int[] shape;
    final double[] data;

    Ref(int[] shape, double[] data) {
        if (numel(shape) != data.length) {
            throw new IllegalArgumentException("ref: " + data.length + " values for shape " + Arrays.toString(shape));
        }
        this.shape = shape.clone();
        this.data = data;
    }

    /** Reads a tensor element by element through {@link Tensor#getFloat}/{@link Tensor#getLong}. */
    static Ref of(Tensor t) {
        boolean isFloat = t.dtype() == DType.FLOAT32;
        return build(t.shape(), idx -> isFloat ? t.getFloat(idx) : (double) t.getLong(idx));
    }

    static Ref build(int[] shape, ToDoubleFunction<int[]> value) {
        double[] d = new double[numel(shape)];
        int i = 0;
        for (int[] idx : indices(shape)) {
            d[i++] = value.applyAsDouble(idx);
        }
        return new Ref(shape, d);
    }

    static int numel(int[] shape) {
        int n = 1;
        for (int s : shape) {
            n *= s;
        }
        return n;
    }

    /** Every multi-index of {@code shape}, in row-major order (one empty index for a 0-d shape). */
    static List<int[]> indices(int[] shape) {
        List<int[]> out = new ArrayList<>();
        if (numel(shape) == 0) {
            return out;
        }
        int[] idx = new int[shape.length];
        while (true) {
            out.add(idx.clone());
            int d = shape.length - 1;
            while (d >= 0) {
                idx[d]++;
                if (idx[d] < shape[d]) {
                    break;
                }
                idx[d] = 0;
                d--;
            }
            if (d < 0) {
                return out;
            }
        }
    }

    int flat(int[] idx) {
        int f = 0;
        for (int d = 0; d < shape.length; d++) {
            if (idx[d] < 0 || idx[d] >= shape[d]) {
                throw new IndexOutOfBoundsException(Arrays.toString(idx) + " in " + Arrays.toString(shape));
            }
            f = f * shape[d] + idx[d];
        }
        return f;
    }

    double get(int... idx) {
        return data[flat(idx)];
    }

    int rank() {
        return shape.length;
    }

    // ---------------------------------------------------------------- movement

    Ref permute(int... dims) {
        int[] out = new int[dims.length];
        for (int i = 0; i < dims.length; i++) {
            out[i] = shape[dims[i]];
        }
        return build(out, idx -> {
            int[] src = new int[dims.length];
            for (int i = 0; i < dims.length; i++) {
                src[dims[i]] = idx[i];
            }
            return get(src);
        });
    }

    Ref transpose(int a, int b) {
        int[] dims = new int[rank()];
        for (int i = 0; i < dims.length; i++) {
            dims[i] = i;
        }
        dims[a] = b;
        dims[b] = a;
        return permute(dims);
    }

    /** Python's {@code range(*slice(start, end, step).indices(size))} for a positive step. */
    static List<Integer> sliceIndices(int size, int start, int end, int step) {
        int s = start < 0 ? start + size : start;
        int e = end < 0 ? end + size : end;
        s = Math.min(Math.max(s, 0), size);
        e = Math.min(Math.max(e, 0), size);
        List<Integer> out = new ArrayList<>();
        for (int i = s; i < e; i += step) {
            out.add(i);
        }
        return out;
    }

    Ref slice(int dim, int start, int end, int step) {
        List<Integer> picked = sliceIndices(shape[dim], start, end, step);
        int[] out = shape.clone();
        out[dim] = picked.size();
        return build(out, idx -> {
            int[] src = idx.clone();
            src[dim] = picked.get(idx[dim]);
            return get(src);
        });
    }

    Ref select(int dim, int index) {
        int[] out = new int[rank() - 1];
        for (int d = 0, j = 0; d < rank(); d++) {
            if (d != dim) {
                out[j++] = shape[d];
            }
        }
        return build(out, idx -> {
            int[] src = new int[rank()];
            for (int d = 0, j = 0; d < rank(); d++) {
                src[d] = d == dim ? index : idx[j++];
            }
            return get(src);
        });
    }

    /** Same row-major data, another shape. */
    Ref reshape(int... newShape) {
        return new Ref(newShape, data.clone());
    }

    /** Broadcast read: {@code idx} indexes a shape that this one broadcasts to (aligned at the right). */
    double getBroadcast(int[] idx) {
        int[] src = new int[rank()];
        int shift = idx.length - rank();
        for (int d = 0; d < rank(); d++) {
            src[d] = shape[d] == 1 ? 0 : idx[d + shift];
        }
        return get(src);
    }

    Ref expand(int... newShape) {
        return build(newShape, this::getBroadcast);
    }

    // ---------------------------------------------------------------- elementwise

    Ref map(DoubleUnaryOperator f) {
        return build(shape, idx -> f.applyAsDouble(get(idx)));
    }

    static int[] broadcastShape(int[] a, int[] b) {
        int rank = Math.max(a.length, b.length);
        int[] out = new int[rank];
        for (int i = 0; i < rank; i++) {
            int ia = i - (rank - a.length);
            int ib = i - (rank - b.length);
            int sa = ia >= 0 ? a[ia] : 1;
            int sb = ib >= 0 ? b[ib] : 1;
            if (sa != sb && sa != 1 && sb != 1) {
                throw new IllegalArgumentException("no broadcast");
            }
            out[i] = Math.max(sa, sb);
            if (sa == 0 || sb == 0) {
                out[i] = 0;
            }
        }
        return out;
    }

    static Ref zip(Ref a, Ref b, DoubleBinaryOperator f) {
        return build(broadcastShape(a.shape, b.shape),
                idx -> f.applyAsDouble(a.getBroadcast(idx), b.getBroadcast(idx)));
    }

    // ---------------------------------------------------------------- special functions

    /**
     * erf by the everywhere-convergent series {@code erf x = 2/sqrt(pi) exp(-x^2) sum_n (2x^2)^n x / (1*3*...*(2n+1))}:
     * all terms have the sign of x, so nothing cancels and the relative error stays near n * 2^-53 (a different
     * formula from the one under test). Beyond |x| = 6, erf is 1 to within 2e-17, below double's half-ulp of 1.
     */
    static double erf(double x) {
        if (Math.abs(x) > 6) {
            return Math.signum(x);
        }
        double term = x;
        double sum = x;
        for (int n = 1; n < 1000 && Math.abs(term) > 1e-18 * Math.abs(sum); n++) {
            term *= 2 * x * x / (2 * n + 1);
            sum += term;
        }
        double e = 2 / Math.sqrt(Math.PI) * Math.exp(-x * x) * sum;
        return Math.max(-1, Math.min(1, e)); // near |x| = 6 the rounding of ~150 terms can overshoot 1 by an ulp or two
    }

    // ---------------------------------------------------------------- comparison with a tensor

    /** Per-element allowed error given the reference value (and its index, for data-dependent bounds). */
    interface Tolerance {
        double at(double expected, int[] idx);
    }

    static final Tolerance EXACT = (e, idx) -> 0;

    /** {@code n} float32 ulps of the expected value (never below the smallest subnormal). */
    static Tolerance ulps(double n) {
        return (e, idx) -> n * Math.ulp((float) e);
    }

    static void assertExact(Ref expected, Tensor actual) {
        assertClose(expected, actual, EXACT);
    }

    /** Shape equal, then every element within tolerance; NaN matches NaN, infinities match exactly. */
    static void assertClose(Ref expected, Tensor actual, Tolerance tol) {
        assertArrayEquals(expected.shape, actual.shape(), "shape");
        boolean isFloat = actual.dtype() == DType.FLOAT32;
        for (int[] idx : indices(expected.shape)) {
            double e = expected.get(idx);
            double a = isFloat ? actual.getFloat(idx) : (double) actual.getLong(idx);
            if (Double.isNaN(e) || Double.isNaN(a) || Double.isInfinite(e) || Double.isInfinite(a)) {
                if (!(Double.isNaN(e) && Double.isNaN(a)) && e != a) {
                    fail("at " + Arrays.toString(idx) + ": expected " + e + " but got " + a);
                }
                continue;
            }
            double t = tol.at(e, idx);
            if (!(Math.abs(a - e) <= t)) {
                fail("at " + Arrays.toString(idx) + ": expected " + e + " but got " + a + " (|diff| "
                        + Math.abs(a - e) + " > tolerance " + t + ")");
            }
        }
    }

    static void assertSameValues(double[] expected, float[] actual) {
        assertEquals(expected.length, actual.length, "length");
        for (int i = 0; i < expected.length; i++) {
            assertEquals((float) expected[i], actual[i], 0f, "element " + i);
        }
    }

    @Override
    public String toString() {
        return "Ref" + Arrays.toString(shape) + Arrays.toString(data);
    }
}
