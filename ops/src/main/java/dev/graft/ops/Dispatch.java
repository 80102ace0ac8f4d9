package dev.graft.ops;

import java.util.List;

/**
 * The one place every operator call passes through. It decides, by looking at the arguments, whether to
 * <ol>
 *   <li>record a graph node (some argument is a symbolic tensor of a tracer),</li>
 *   <li>or compute eagerly, and then let autograd record a backward step if a recorder is installed.</li>
 * </ol>
 * So the same user {@code forward} code runs eagerly, trains and traces.
 */
public final class Dispatch {

    private static volatile GradRecorder gradRecorder;

    private Dispatch() {
    }

    /** Calls {@code op} on {@code args}; returns a Tensor or Tensor[] as the op defines. */
    public static Object call(Op op, Object... args) {
        SymbolicTracer tracer = findTracer(args);
        if (tracer != null) {
            return tracer.record(op, args);
        }
        Object out = op.compute(args);
        GradRecorder recorder = gradRecorder;
        if (recorder != null) {
            recorder.record(op, args, out);
        }
        return out;
    }

    /** {@link #call} for ops with one tensor result. */
    public static Tensor apply(Op op, Object... args) {
        Object out = call(op, args);
        if (out instanceof Tensor t) {
            return t;
        }
        throw new TensorException(op.name() + ": expected one tensor result, got "
                + (out == null ? "null" : out.getClass().getSimpleName()));
    }

    /**
     * Computes {@code op} eagerly, bypassing tracing and recording. For the tracer (which computes the example
     * values of the nodes it records) and for interpreters that run graphs.
     */
    public static Object computeEagerly(Op op, Object... args) {
        return op.compute(args);
    }

    /** Installs (or with null removes) the autograd recorder. */
    public static void installGradRecorder(GradRecorder recorder) {
        gradRecorder = recorder;
    }

    private static SymbolicTracer findTracer(Object[] args) {
        for (Object a : args) {
            SymbolicTracer t = tracerOf(a);
            if (t != null) {
                return t;
            }
        }
        return null;
    }

    private static SymbolicTracer tracerOf(Object a) {
        if (a instanceof Tensor t) {
            return t.tracer();
        }
        if (a instanceof Tensor[] ts) {
            for (Tensor t : ts) {
                if (t != null && t.tracer() != null) {
                    return t.tracer();
                }
            }
        }
        if (a instanceof List<?> list) {
            for (Object o : list) {
                SymbolicTracer t = tracerOf(o);
                if (t != null) {
                    return t;
                }
            }
        }
        return null;
    }
}
