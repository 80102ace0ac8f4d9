package dev.graft.ops;

import java.util.Arrays;

/**
 * The few operations that write into an existing tensor's memory. Tensors are otherwise values; these exist for
 * state that must keep its identity: loading a state dict into a module's parameters, running statistics of
 * batch norm, optimizer updates. They are not dispatched (a traced graph never mutates), so they refuse symbolic
 * tensors.
 */
public final class InPlace {
    private InPlace() {
    }

    /** Copies {@code src}'s values into {@code dst} (same shape; dtype converted as {@code to()} does). */
    public static void copy(Tensor dst, Tensor src) {
        refuseSymbolic("InPlace.copy", dst);
        refuseSymbolic("InPlace.copy", src);
        if (!Arrays.equals(dst.shape, src.shape)) {
            throw new ShapeException("InPlace.copy: source shape " + Arrays.toString(src.shape)
                    + " differs from destination shape " + Arrays.toString(dst.shape));
        }
        if (dst.qparams != null || src.qparams != null) {
            throw new DTypeException("InPlace.copy: quantized tensors cannot be copied in place");
        }
        MovementOps.copyInto(src, dst);
    }

    private static void refuseSymbolic(String op, Tensor t) {
        if (t.isSymbolic()) {
            throw t.tracer().refuseConcreteAccess(t, op + " (in-place writes cannot be traced)");
        }
    }
}
