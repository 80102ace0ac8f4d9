package dev.graft.ops;

import java.util.Arrays;

/** Shape arithmetic shared by the operators: element counts, strides, dimension indices, broadcasting. */
public final class Shapes {
    private Shapes() {
    }

    /** Product of the sizes, refusing negative sizes and counts that do not fit in an int. */
    public static int numel(String where, int[] shape) {
        long n = 1;
        for (int s : shape) {
            if (s < 0) {
                throw new ShapeException(where + ": negative size in shape " + Arrays.toString(shape));
            }
            n *= s;
            if (n > Integer.MAX_VALUE) {
                throw new ShapeException(where + ": shape " + Arrays.toString(shape) + " has more than 2^31-1 elements");
            }
        }
        return (int) n;
    }

    static int numelUnchecked(int[] shape) {
        int n = 1;
        for (int s : shape) {
            n *= s;
        }
        return n;
    }

    static void checkDims(String where, int[] shape) {
        numel(where, shape);
    }

    /** Row-major strides of a contiguous tensor. */
    public static int[] contiguousStrides(int[] shape) {
        int[] strides = new int[shape.length];
        int s = 1;
        for (int d = shape.length - 1; d >= 0; d--) {
            strides[d] = s;
            s *= Math.max(shape[d], 1);
        }
        return strides;
    }

    /** Contiguous except that size-1 dimensions may carry any stride (their stride is never used). */
    static boolean isContiguousIgnoringUnitDims(int[] shape, int[] strides) {
        int expected = 1;
        for (int d = shape.length - 1; d >= 0; d--) {
            if (shape[d] == 1) {
                continue;
            }
            if (strides[d] != expected) {
                return false;
            }
            expected *= shape[d];
        }
        return true;
    }

    /** Turns a possibly negative dimension index into 0..rank-1, or throws naming the operator. */
    public static int normalizeDim(String op, int dim, int rank) {
        int d = dim < 0 ? dim + rank : dim;
        if (d < 0 || d >= rank) {
            throw new ShapeException(op + ": dimension " + dim + " out of range for a " + rank + "-d tensor");
        }
        return d;
    }

    static int[] allDims(int rank) {
        int[] d = new int[rank];
        for (int i = 0; i < rank; i++) {
            d[i] = i;
        }
        return d;
    }

    /** The NumPy/PyTorch broadcast of two shapes: align at the right; sizes must match or be 1. */
    public static int[] broadcast(String op, int[] a, int[] b) {
        int rank = Math.max(a.length, b.length);
        int[] out = new int[rank];
        for (int i = 0; i < rank; i++) {
            int da = i - (rank - a.length);
            int db = i - (rank - b.length);
            int sa = da >= 0 ? a[da] : 1;
            int sb = db >= 0 ? b[db] : 1;
            if (sa != sb && sa != 1 && sb != 1) {
                throw new ShapeException(op + ": shapes " + Arrays.toString(a) + " and " + Arrays.toString(b)
                        + " cannot broadcast (dimension " + i + ": " + sa + " vs " + sb + ")");
            }
            out[i] = sa == 1 ? sb : sa;
        }
        return out;
    }

    /**
     * Strides that read tensor {@code t} as if it had shape {@code target} (which it broadcasts to): broadcast
     * dimensions get stride 0.
     */
    static int[] broadcastStrides(Tensor t, int[] target) {
        int[] out = new int[target.length];
        int shift = target.length - t.shape.length;
        for (int i = 0; i < t.shape.length; i++) {
            out[i + shift] = t.shape[i] == 1 && target[i + shift] != 1 ? 0 : t.strides[i];
        }
        return out;
    }
}
