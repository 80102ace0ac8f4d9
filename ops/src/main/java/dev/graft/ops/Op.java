package dev.graft.ops;

/**
 * An operator: a named, typed object that graph nodes use as their target and that {@link Dispatch} calls.
 * Arguments are passed as an {@code Object[]}: tensors (or arrays/lists of tensors) and plain constants
 * (Integer, Float, Boolean, int[], enums, null). An op never mutates its inputs.
 */
public abstract class Op {

    /** Groups that passes test membership in (a fusion pass asks "is this elementwise?", not for a name). */
    public enum Kind {
        /** Builds a tensor from nothing but constants (zeros, arange). */
        CREATION,
        /** Elementwise with one tensor input (exp, relu, sqrt). */
        UNARY,
        /** Elementwise with broadcasting over two tensors (add, mul, where). */
        BINARY,
        /** Elementwise comparison producing bool. */
        COMPARISON,
        /** Reduces over dimensions (sum, mean, max, argmax, softmax). */
        REDUCTION,
        /** Changes only shape, strides or offset, or copies data without arithmetic (reshape, permute, cat). */
        MOVEMENT,
        /** Matrix products (matmul, linear, conv). */
        LINALG,
        /** Neural-network layers' functional forms (normalization, pooling, embedding). */
        NN,
        /** Quantize, dequantize and operators on quantized tensors. */
        QUANTIZED
    }

    private final String name;
    private final Kind kind;

    protected Op(String name, Kind kind) {
        this.name = name;
        this.kind = kind;
    }

    public final String name() {
        return name;
    }

    public final Kind kind() {
        return kind;
    }

    /**
     * Computes the result on concrete tensors. Only {@link Dispatch} calls this; everyone else calls the op through
     * {@link Dispatch#call} so tracing and autograd see it.
     *
     * @return a {@link Tensor}, or a {@code Tensor[]} for ops with several outputs (split)
     */
    protected abstract Object compute(Object[] args);

    /**
     * The backward rule: given the gradient of a scalar loss with respect to this op's result, the gradients with
     * respect to its arguments. The returned array has one entry per argument: a float32 {@link Tensor} of the
     * argument's shape for a tensor argument (broadcast gradients already summed back), a {@code Tensor[]} for a
     * {@code Tensor[]} argument (cat), null for constants, integer tensors or when {@code needsGrad[i]} is false (so
     * a rule can skip work nobody wants). Rules compute with {@link #compute} directly, never through
     * {@link Dispatch}, so gradient math is never itself recorded.
     *
     * <p>Ops without a rule keep this default, which refuses with the op's name: a gradient only fails when it must
     * actually flow through such an op.
     *
     * @param args       the arguments of the forward call, as recorded
     * @param result     the forward result
     * @param gradOutput the gradient with respect to {@code result} (same shape)
     * @param needsGrad  per argument, whether its gradient is wanted
     */
    public Object[] backward(Object[] args, Object result, Tensor gradOutput, boolean[] needsGrad) {
        throw new TensorException(name + ": no backward rule, so gradients cannot flow through it (use it under"
                + " no-grad, or on inputs that do not require gradients)");
    }

    @Override
    public String toString() {
        return name;
    }

    // Small helpers for reading arguments with a clear error when a caller passed the wrong kind of value.

    protected final Tensor tensorArg(Object[] args, int i) {
        if (i < args.length && args[i] instanceof Tensor t) {
            return t;
        }
        throw new TensorException(name + ": argument " + i + " must be a tensor, got " + describe(args, i));
    }

    protected final Tensor optionalTensorArg(Object[] args, int i) {
        if (i >= args.length || args[i] == null) {
            return null;
        }
        return tensorArg(args, i);
    }

    protected final int intArg(Object[] args, int i) {
        if (i < args.length && args[i] instanceof Integer v) {
            return v;
        }
        throw new TensorException(name + ": argument " + i + " must be an int, got " + describe(args, i));
    }

    protected final float floatArg(Object[] args, int i) {
        if (i < args.length && args[i] instanceof Number v) {
            return v.floatValue();
        }
        throw new TensorException(name + ": argument " + i + " must be a number, got " + describe(args, i));
    }

    protected final boolean boolArg(Object[] args, int i) {
        if (i < args.length && args[i] instanceof Boolean v) {
            return v;
        }
        throw new TensorException(name + ": argument " + i + " must be a boolean, got " + describe(args, i));
    }

    protected final int[] intsArg(Object[] args, int i) {
        if (i < args.length && args[i] instanceof int[] v) {
            return v.clone();
        }
        throw new TensorException(name + ": argument " + i + " must be an int[], got " + describe(args, i));
    }

    protected final <E extends Enum<E>> E enumArg(Object[] args, int i, Class<E> type) {
        if (i < args.length && type.isInstance(args[i])) {
            return type.cast(args[i]);
        }
        throw new TensorException(name + ": argument " + i + " must be a " + type.getSimpleName() + ", got "
                + describe(args, i));
    }

    protected final Tensor[] tensorsArg(Object[] args, int i) {
        if (i < args.length && args[i] instanceof Tensor[] v) {
            return v.clone();
        }
        throw new TensorException(name + ": argument " + i + " must be a Tensor[], got " + describe(args, i));
    }

    private static String describe(Object[] args, int i) {
        if (i >= args.length) {
            return "nothing (only " + args.length + " arguments)";
        }
        Object a = args[i];
        return a == null ? "null" : a.getClass().getSimpleName() + " " + a;
    }
}
