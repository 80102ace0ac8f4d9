package dev.graft.ops;

import java.util.Arrays;

/**
 * Reductions over dimensions: sum, mean, max, min, argmax. The reduced dimensions are moved to the end (a view),
 * so each output element reduces one run of the cursor. Float sums accumulate in double: more accurate than
 * float32 accumulation, and independent of blocking.
 */
public final class ReduceOps {
    private ReduceOps() {
    }

    /** Moves reduced dims last; gives the outer shape, output shape and reduced length. */
    private record Plan(Tensor permuted, int outer, int reduced, int[] outShape) {
    }

    private static Plan plan(String op, Tensor x, int[] dims, boolean keepDim) {
        int rank = x.shape.length;
        boolean[] reduce = new boolean[rank];
        for (int d : dims) {
            int nd = Shapes.normalizeDim(op, d, Math.max(rank, 1));
            if (rank == 0) {
                continue;
            }
            if (reduce[nd]) {
                throw new ShapeException(op + ": dimension " + nd + " repeated in " + Arrays.toString(dims));
            }
            reduce[nd] = true;
        }
        int[] order = new int[rank];
        int k = 0;
        int outer = 1;
        int reduced = 1;
        for (int d = 0; d < rank; d++) {
            if (!reduce[d]) {
                order[k++] = d;
                outer *= x.shape[d];
            }
        }
        for (int d = 0; d < rank; d++) {
            if (reduce[d]) {
                order[k++] = d;
                reduced *= x.shape[d];
            }
        }
        int[] outShape;
        if (keepDim) {
            outShape = x.shape.clone();
            for (int d = 0; d < rank; d++) {
                if (reduce[d]) {
                    outShape[d] = 1;
                }
            }
        } else {
            int kept = 0;
            for (boolean r : reduce) {
                kept += r ? 0 : 1;
            }
            outShape = new int[kept];
            int j = 0;
            for (int d = 0; d < rank; d++) {
                if (!reduce[d]) {
                    outShape[j++] = x.shape[d];
                }
            }
        }
        Tensor permuted = (Tensor) MovementOps.PERMUTE.compute(new Object[] {x, order});
        return new Plan(permuted, outer, reduced, outShape);
    }

    /** Template: reduce each run of {@code reduced} consecutive (in cursor order) elements to one value. */
    private abstract static class Reduction extends Op {
        Reduction(String name) {
            super(name, Kind.REDUCTION);
        }

        abstract DType resultType(String op, DType in);

        /** Reduces elements [start, start+count) of the cursor walk; {@code c} is positioned at the first. */
        abstract void reduce(Tensor x, StridedCursor c, int count, Tensor out, int outIndex);

        @Override
        protected Object compute(Object[] args) {
            Tensor x = tensorArg(args, 0);
            MathOps.refuseQuantized(name(), x);
            Plan p = plan(name(), x, intsArg(args, 1), boolArg(args, 2));
            return run(p, resultType(name(), x.dtype));
        }

        Tensor run(Plan p, DType outType) {
            if (p.reduced == 0 && requiresElements()) {
                throw new ShapeException(name() + ": cannot reduce over an empty dimension (shape "
                        + Arrays.toString(p.permuted.shape) + ")");
            }
            Tensor out = Tensor.empty(outType, p.outShape);
            StridedCursor c = StridedCursor.over(p.permuted);
            for (int o = 0; o < p.outer; o++) {
                reduce(p.permuted, c, p.reduced, out, o);
            }
            return out;
        }

        boolean requiresElements() {
            return false;
        }
    }

    /** {@code sum(x, int[] dims, keepDim)}: float32 stays float32, integers sum to int64. */
    public static final Op SUM = new Reduction("sum") {
        @Override
        DType resultType(String op, DType in) {
            return in == DType.FLOAT32 ? DType.FLOAT32 : DType.INT64;
        }

        @Override
        void reduce(Tensor x, StridedCursor c, int count, Tensor out, int at) {
            if (out.dtype == DType.FLOAT32) {
                double s = 0;
                for (int i = 0; i < count; i++, c.next()) {
                    s += x.storage.getFloat(c.offset);
                }
                out.storage.floats[at] = (float) s;
            } else {
                long s = 0;
                for (int i = 0; i < count; i++, c.next()) {
                    s += x.storage.getLong(c.offset);
                }
                out.storage.longs[at] = s;
            }
        }

        @Override
        public Object[] backward(Object[] args, Object result, Tensor gradOutput, boolean[] needsGrad) {
            return new Object[] {Gradients.reduce((Tensor) args[0], (int[]) args[1], (Boolean) args[2], gradOutput, false),
                    null, null};
        }
    };

    /** {@code mean(x, int[] dims, keepDim)}: float32 only (as PyTorch). */
    public static final Op MEAN = new Reduction("mean") {
        @Override
        DType resultType(String op, DType in) {
            if (in != DType.FLOAT32) {
                throw new DTypeException("mean: needs float32, got " + in + "; convert with to(FLOAT32)");
            }
            return DType.FLOAT32;
        }

        @Override
        void reduce(Tensor x, StridedCursor c, int count, Tensor out, int at) {
            double s = 0;
            for (int i = 0; i < count; i++, c.next()) {
                s += x.storage.floats[c.offset];
            }
            out.storage.floats[at] = (float) (s / count);
        }

        @Override
        boolean requiresElements() {
            return true;
        }

        @Override
        public Object[] backward(Object[] args, Object result, Tensor gradOutput, boolean[] needsGrad) {
            return new Object[] {Gradients.reduce((Tensor) args[0], (int[]) args[1], (Boolean) args[2], gradOutput, true),
                    null, null};
        }
    };

    /** Max or min values; NaN wins, as in PyTorch. */
    private abstract static class Extremum extends Reduction {
        Extremum(String name) {
            super(name);
        }

        abstract boolean better(double candidate, double best);

        @Override
        DType resultType(String op, DType in) {
            return in;
        }

        @Override
        boolean requiresElements() {
            return true;
        }

        @Override
        void reduce(Tensor x, StridedCursor c, int count, Tensor out, int at) {
            if (x.dtype == DType.FLOAT32) {
                float best = x.storage.floats[c.offset];
                for (int i = 0; i < count; i++, c.next()) {
                    float v = x.storage.floats[c.offset];
                    if (Float.isNaN(v) || (!Float.isNaN(best) && better(v, best))) {
                        best = v;
                    }
                }
                out.storage.floats[at] = best;
            } else {
                long best = x.storage.getLong(c.offset);
                for (int i = 0; i < count; i++, c.next()) {
                    long v = x.storage.getLong(c.offset);
                    if (better(v, best)) {
                        best = v;
                    }
                }
                out.storage.setLong(at, best);
            }
        }
    }

    /** {@code max(x, int[] dims, keepDim)}: the values only (use argmax for indices). */
    public static final Op MAX = new Extremum("max") {
        @Override
        boolean better(double candidate, double best) {
            return candidate > best;
        }
    };

    /** {@code min(x, int[] dims, keepDim)}. */
    public static final Op MIN = new Extremum("min") {
        @Override
        boolean better(double candidate, double best) {
            return candidate < best;
        }
    };

    /** {@code argmax(x, dim, keepDim)}: int64 index of the first maximum (a NaN counts as the maximum). */
    public static final Op ARGMAX = new Reduction("argmax") {
        @Override
        protected Object compute(Object[] args) {
            Tensor x = tensorArg(args, 0);
            MathOps.refuseQuantized(name(), x);
            Plan p = plan(name(), x, new int[] {intArg(args, 1)}, boolArg(args, 2));
            return run(p, DType.INT64);
        }

        @Override
        DType resultType(String op, DType in) {
            return DType.INT64;
        }

        @Override
        boolean requiresElements() {
            return true;
        }

        @Override
        void reduce(Tensor x, StridedCursor c, int count, Tensor out, int at) {
            double best = Double.NEGATIVE_INFINITY;
            int bestIndex = 0;
            boolean first = true;
            for (int i = 0; i < count; i++, c.next()) {
                double v = x.storage.getFloat(c.offset);
                if (x.dtype != DType.FLOAT32) {
                    v = x.storage.getLong(c.offset);
                }
                if (Double.isNaN(best)) {
                    continue;
                }
                if (first || Double.isNaN(v) || v > best) {
                    best = v;
                    bestIndex = i;
                    first = false;
                }
            }
            out.storage.longs[at] = bestIndex;
        }
    };
}
