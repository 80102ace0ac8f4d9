package dev.graft.ops;

import static dev.graft.ops.MathOps.operand;
import static dev.graft.ops.MathOps.refuseQuantized;

import java.util.Arrays;

/**
 * Arithmetic between two tensors (broadcast) or a tensor and a Java number: the shared compute of
 * {@link MathOps#ADD}, {@link MathOps#SUB}, {@link MathOps#MUL}, {@link MathOps#DIV}, pow, maximum and minimum, each op
 * giving its scalar form and, for the hot shapes, loops of its own.
 */
abstract class BinaryOp extends Op {
    BinaryOp(String name) {
        super(name, Kind.BINARY);
    }

    abstract float apply(float a, float b);

    abstract long applyLong(long a, long b);

    /**
     * {@code o[oo + i] = apply(x[xo + i], y[yo + i])} for {@code i < n} in a loop of the op's own (no virtual call
     * per element); false when the op has none.
     */
    boolean applySameShape(float[] x, int xo, float[] y, int yo, float[] o, int oo, int n) {
        return false;
    }

    /**
     * {@code o[i] = apply(x[xo + i], s)} for {@code i < n} in a loop of the op's own (the attention scores divided
     * by a scalar); false when the op has none.
     */
    boolean applyScalar(float[] x, int xo, float s, float[] o, int n) {
        return false;
    }

    @Override
    protected Object compute(Object[] args) {
        Tensor a = tensorArg(args, 0);
        Tensor b = operand(this, args, 1, a);
        refuseQuantized(name(), a);
        refuseQuantized(name(), b);
        boolean floatScalar = args[1] instanceof Float || args[1] instanceof Double;
        DType dtype = floatScalar ? DType.FLOAT32 : DType.promote(a.dtype, b.dtype);
        int[] shape = Shapes.broadcast(name(), a.shape, b.shape);
        Tensor out = Tensor.empty(dtype, shape);
        if (dtype == DType.FLOAT32) {
            computeFloat(a, b, out);
        } else {
            computeLong(a, b, out);
        }
        return out;
    }

    private void computeFloat(Tensor a, Tensor b, Tensor out) {
        float[] o = out.storage.floats;
        int n = o.length;
        if (a.dtype == DType.FLOAT32 && b.dtype == DType.FLOAT32 && a.isContiguous() && b.isContiguous()) {
            float[] x = a.storage.floats;
            float[] y = b.storage.floats;
            int ao = a.offset;
            int bo = b.offset;
            if (Arrays.equals(a.shape, out.shape) && Arrays.equals(b.shape, out.shape)) {
                if (applySameShape(x, ao, y, bo, o, 0, n)) {
                    return;
                }
                for (int i = 0; i < n; i++) {
                    o[i] = apply(x[ao + i], y[bo + i]);
                }
                return;
            }
            if (Arrays.equals(a.shape, out.shape) && b.numelRef() == 1) {
                float s = y[bo];
                if (applyScalar(x, ao, s, o, n)) {
                    return;
                }
                for (int i = 0; i < n; i++) {
                    o[i] = apply(x[ao + i], s);
                }
                return;
            }
        }
        if (a.dtype == DType.FLOAT32 && b.dtype == DType.FLOAT32 && out.shape.length > 0) {
            broadcastRows(a, b, out);
            return;
        }
        StridedCursor ca = new StridedCursor(out.shape, Shapes.broadcastStrides(a, out.shape), a.offset);
        StridedCursor cb = new StridedCursor(out.shape, Shapes.broadcastStrides(b, out.shape), b.offset);
        for (int i = 0; i < n; i++, ca.next(), cb.next()) {
            o[i] = apply(a.storage.getFloat(ca.offset), b.storage.getFloat(cb.offset));
        }
    }

    /**
     * Broadcasting float32 operands a row (the last dimension) at a time: the outer dimensions are walked once per
     * row, and rows whose operands are both unit-stride ({@code scores + mask[B,1,1,S]}) run the op's own loop.
     */
    private void broadcastRows(Tensor a, Tensor b, Tensor out) {
        float[] x = a.storage.floats;
        float[] y = b.storage.floats;
        float[] o = out.storage.floats;
        int last = out.shape.length - 1;
        int len = out.shape[last];
        if (len == 0) {
            return;
        }
        int[] sa = Shapes.broadcastStrides(a, out.shape);
        int[] sb = Shapes.broadcastStrides(b, out.shape);
        int xs = sa[last];
        int ys = sb[last];
        int[] outer = Arrays.copyOf(out.shape, last);
        StridedCursor ca = new StridedCursor(outer, Arrays.copyOf(sa, last), a.offset);
        StridedCursor cb = new StridedCursor(outer, Arrays.copyOf(sb, last), b.offset);
        for (int row = 0, oo = 0; oo < o.length; row++, oo += len, ca.next(), cb.next()) {
            int xo = ca.offset;
            int yo = cb.offset;
            if (xs == 1 && ys == 1 && applySameShape(x, xo, y, yo, o, oo, len)) {
                continue;
            }
            for (int i = 0; i < len; i++) {
                o[oo + i] = apply(x[xo + i * xs], y[yo + i * ys]);
            }
        }
    }

    private void computeLong(Tensor a, Tensor b, Tensor out) {
        int n = out.numelRef();
        StridedCursor ca = new StridedCursor(out.shape, Shapes.broadcastStrides(a, out.shape), a.offset);
        StridedCursor cb = new StridedCursor(out.shape, Shapes.broadcastStrides(b, out.shape), b.offset);
        for (int i = 0; i < n; i++, ca.next(), cb.next()) {
            out.storage.setLong(i, applyLong(a.storage.getLong(ca.offset), b.storage.getLong(cb.offset)));
        }
    }
}
