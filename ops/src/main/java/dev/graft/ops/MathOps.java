package dev.graft.ops;

import dev.graft.kernels.Elementwise;

import java.util.Arrays;

/**
 * Elementwise operators: unary math and activations, binary arithmetic with broadcasting, comparisons (bool
 * results), {@code where} and {@code masked_fill}. Float32 arithmetic is done in float, as PyTorch's CPU kernels;
 * integer arithmetic in long, then narrowed to the result dtype.
 */
public final class MathOps {
    private MathOps() {
    }

    // ---------------------------------------------------------------- unary (float32 in, float32 out)

    /** A float function applied to every element. Integer inputs are converted to float32 first. */
    abstract static class Unary extends Op {
        Unary(String name) {
            super(name, Kind.UNARY);
        }

        abstract float apply(float x);

        /**
         * Computes a whole contiguous float32 range with an array kernel, or returns false to use {@link #apply}
         * per element. Ops with a vectorized kernel override it; the kernel must agree with {@link #apply}'s
         * strided path to within the kernel's documented error bound.
         */
        boolean applyContiguous(float[] in, int off, float[] out, int n) {
            return false;
        }

        /** d apply/dx at input {@code x} whose output was {@code y}; ops without a rule keep this refusal. */
        float derivative(float x, float y) {
            throw new TensorException(name() + ": no backward rule, so gradients cannot flow through it");
        }

        @Override
        public Object[] backward(Object[] args, Object result, Tensor gradOutput, boolean[] needsGrad) {
            return new Object[] {Gradients.unary(this, (Tensor) args[0], (Tensor) result, gradOutput)};
        }

        @Override
        protected Object compute(Object[] args) {
            Tensor x = tensorArg(args, 0);
            refuseQuantized(name(), x);
            Tensor out = Tensor.empty(DType.FLOAT32, x.shape);
            float[] o = out.storage.floats;
            if (x.dtype == DType.FLOAT32 && x.isContiguous()) {
                float[] a = x.storage.floats;
                int off = x.offset;
                if (applyContiguous(a, off, o, o.length)) {
                    return out;
                }
                for (int i = 0; i < o.length; i++) {
                    o[i] = apply(a[off + i]);
                }
            } else {
                StridedCursor c = StridedCursor.over(x);
                for (int i = 0; i < o.length; i++, c.next()) {
                    o[i] = apply(x.storage.getFloat(c.offset));
                }
            }
            return out;
        }
    }

    public static final Op NEG = new Unary("neg") {
        @Override
        float apply(float x) {
            return -x;
        }

        @Override
        float derivative(float x, float y) {
            return -1f;
        }
    };

    public static final Op ABS = new Unary("abs") {
        @Override
        float apply(float x) {
            return Math.abs(x);
        }

        @Override
        float derivative(float x, float y) {
            return x > 0f ? 1f : (x < 0f ? -1f : 0f);
        }
    };

    public static final Op EXP = new Unary("exp") {
        @Override
        float apply(float x) {
            return (float) Math.exp(x);
        }

        @Override
        float derivative(float x, float y) {
            return y;
        }
    };

    public static final Op LOG = new Unary("log") {
        @Override
        float apply(float x) {
            return (float) Math.log(x);
        }

        @Override
        float derivative(float x, float y) {
            return 1f / x;
        }
    };

    public static final Op SQRT = new Unary("sqrt") {
        @Override
        float apply(float x) {
            return (float) Math.sqrt(x);
        }

        @Override
        float derivative(float x, float y) {
            return 0.5f / y;
        }
    };

    public static final Op RSQRT = new Unary("rsqrt") {
        @Override
        float apply(float x) {
            return (float) (1.0 / Math.sqrt(x));
        }

        @Override
        float derivative(float x, float y) {
            return -0.5f * y * y * y;
        }
    };

    /** erf: the float kernel {@link dev.graft.kernels.FastFloatMath#erf} (within 1.5 ulp) on every layout. */
    public static final Op ERF = new Unary("erf") {
        @Override
        float apply(float x) {
            return dev.graft.kernels.FastFloatMath.erf(x);
        }

        @Override
        boolean applyContiguous(float[] in, int off, float[] out, int n) {
            Elementwise.erf(in, off, out, 0, n);
            return true;
        }

        @Override
        float derivative(float x, float y) {
            return (float) (1.1283791670955126 * Math.exp(-(double) x * x));
        }
    };

    public static final Op RELU = new Unary("relu") {
        @Override
        float apply(float x) {
            // NaN propagates, as in PyTorch (x > 0 is false for NaN, so test the other way round).
            return x < 0f ? 0f : x;
        }

        @Override
        boolean applyContiguous(float[] in, int off, float[] out, int n) {
            // The same test as apply, in a loop of its own (one virtual call per tensor, not per element).
            for (int i = 0; i < n; i++) {
                float x = in[off + i];
                out[i] = x < 0f ? 0f : x;
            }
            return true;
        }

        @Override
        public Object[] backward(Object[] args, Object result, Tensor gradOutput, boolean[] needsGrad) {
            return new Object[] {Gradients.relu((Tensor) result, gradOutput)};
        }
    };

    public static final Op SIGMOID = new Unary("sigmoid") {
        @Override
        float apply(float x) {
            return (float) (1.0 / (1.0 + Math.exp(-x)));
        }

        @Override
        float derivative(float x, float y) {
            return y * (1f - y);
        }
    };

    public static final Op TANH = new Unary("tanh") {
        @Override
        float apply(float x) {
            return (float) Math.tanh(x);
        }

        @Override
        float derivative(float x, float y) {
            return 1f - y * y;
        }
    };

    public static final Op SILU = new Unary("silu") {
        @Override
        float apply(float x) {
            return (float) (x / (1.0 + Math.exp(-x)));
        }

        @Override
        float derivative(float x, float y) {
            double s = 1.0 / (1.0 + Math.exp(-x));
            return (float) (s * (1.0 + x * (1.0 - s)));
        }
    };

    /**
     * GELU, exact form: {@code x/2 * (1 + erf(x / sqrt 2))} (BERT's activation), by the float kernel
     * {@link dev.graft.kernels.FastFloatMath#gelu} (a few ulps, see its accuracy test) on every layout, so strided
     * and contiguous inputs give identical results.
     */
    public static final Op GELU = new Unary("gelu") {
        @Override
        float apply(float x) {
            return dev.graft.kernels.FastFloatMath.gelu(x);
        }

        @Override
        boolean applyContiguous(float[] in, int off, float[] out, int n) {
            Elementwise.gelu(in, off, out, 0, n);
            return true;
        }

        @Override
        float derivative(float x, float y) {
            // Phi(x) + x * phi(x)
            double cdf = 0.5 * (1.0 + dev.graft.kernels.FastFloatMath.erf((float) (x * 0.7071067811865476)));
            return (float) (cdf + x * 0.3989422804014327 * Math.exp(-0.5 * x * x));
        }
    };

    /** GELU, tanh approximation: {@code x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))}. */
    public static final Op GELU_TANH = new Unary("gelu_tanh") {
        @Override
        float apply(float x) {
            double inner = 0.7978845608028654 * (x + 0.044715 * x * x * x);
            return (float) (0.5 * x * (1.0 + Math.tanh(inner)));
        }

        @Override
        float derivative(float x, float y) {
            double u = 0.7978845608028654 * (x + 0.044715 * x * x * x);
            double t = Math.tanh(u);
            return (float) (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * 0.7978845608028654 * (1.0 + 3 * 0.044715 * x * x));
        }
    };

    /** A unary op with one float parameter (clamp bounds, leaky slope, power). */
    abstract static class ParameterizedUnary extends Op {
        ParameterizedUnary(String name) {
            super(name, Kind.UNARY);
        }

        abstract float apply(float x, float p, float q);

        /** d apply/dx at {@code x}. */
        abstract float derivative(float x, float p, float q);

        @Override
        public Object[] backward(Object[] args, Object result, Tensor gradOutput, boolean[] needsGrad) {
            float p = floatArg(args, 1);
            float q = args.length > 2 ? floatArg(args, 2) : 0f;
            return new Object[] {Gradients.parameterizedUnary(this, (Tensor) args[0], p, q, gradOutput), null, null};
        }

        @Override
        protected Object compute(Object[] args) {
            Tensor x = tensorArg(args, 0);
            float p = floatArg(args, 1);
            float q = args.length > 2 ? floatArg(args, 2) : 0f;
            refuseQuantized(name(), x);
            Tensor out = Tensor.empty(DType.FLOAT32, x.shape);
            float[] o = out.storage.floats;
            StridedCursor c = StridedCursor.over(x);
            for (int i = 0; i < o.length; i++, c.next()) {
                o[i] = apply(x.storage.getFloat(c.offset), p, q);
            }
            return out;
        }
    }

    /** {@code leaky_relu(x, negativeSlope)}. */
    public static final Op LEAKY_RELU = new ParameterizedUnary("leaky_relu") {
        @Override
        float apply(float x, float slope, float unused) {
            return x < 0f ? x * slope : x;
        }

        @Override
        float derivative(float x, float slope, float unused) {
            return x < 0f ? slope : 1f;
        }
    };

    /** {@code clamp(x, min, max)} as PyTorch's {@code min(max(x, min), max)}: all max when min > max; NaN stays NaN. */
    public static final Op CLAMP = new ParameterizedUnary("clamp") {
        @Override
        float apply(float x, float min, float max) {
            float y = x < min ? min : x;
            return y > max ? max : y;
        }

        @Override
        float derivative(float x, float min, float max) {
            return x >= min && x <= max ? 1f : 0f;
        }
    };

    // ---------------------------------------------------------------- binary with broadcasting


    public static final Op ADD = new BinaryOp("add") {
        @Override
        float apply(float a, float b) {
            return a + b;
        }

        @Override
        boolean applySameShape(float[] x, int xo, float[] y, int yo, float[] o, int oo, int n) {
            for (int i = 0; i < n; i++) {
                o[oo + i] = x[xo + i] + y[yo + i];
            }
            return true;
        }

        @Override
        boolean applyScalar(float[] x, int xo, float s, float[] o, int n) {
            for (int i = 0; i < n; i++) {
                o[i] = x[xo + i] + s;
            }
            return true;
        }

        @Override
        long applyLong(long a, long b) {
            return a + b;
        }

        @Override
        public Object[] backward(Object[] args, Object result, Tensor gradOutput, boolean[] needsGrad) {
            return Gradients.binary("add", args, (Tensor) result, gradOutput, needsGrad);
        }
    };

    public static final Op SUB = new BinaryOp("sub") {
        @Override
        float apply(float a, float b) {
            return a - b;
        }

        @Override
        boolean applyScalar(float[] x, int xo, float s, float[] o, int n) {
            for (int i = 0; i < n; i++) {
                o[i] = x[xo + i] - s;
            }
            return true;
        }

        @Override
        long applyLong(long a, long b) {
            return a - b;
        }

        @Override
        public Object[] backward(Object[] args, Object result, Tensor gradOutput, boolean[] needsGrad) {
            return Gradients.binary("sub", args, (Tensor) result, gradOutput, needsGrad);
        }
    };

    public static final Op MUL = new BinaryOp("mul") {
        @Override
        float apply(float a, float b) {
            return a * b;
        }

        @Override
        boolean applySameShape(float[] x, int xo, float[] y, int yo, float[] o, int oo, int n) {
            for (int i = 0; i < n; i++) {
                o[oo + i] = x[xo + i] * y[yo + i];
            }
            return true;
        }

        @Override
        boolean applyScalar(float[] x, int xo, float s, float[] o, int n) {
            for (int i = 0; i < n; i++) {
                o[i] = x[xo + i] * s;
            }
            return true;
        }

        @Override
        long applyLong(long a, long b) {
            return a * b;
        }

        @Override
        public Object[] backward(Object[] args, Object result, Tensor gradOutput, boolean[] needsGrad) {
            return Gradients.binary("mul", args, (Tensor) result, gradOutput, needsGrad);
        }
    };

    /** True division: always float32, as PyTorch's {@code /} (integer inputs are converted). */
    public static final Op DIV = new BinaryOp("div") {
        @Override
        protected Object compute(Object[] args) {
            Tensor a = tensorArg(args, 0);
            refuseQuantized(name(), a);
            if (args.length > 1 && args[1] instanceof Tensor q) {
                refuseQuantized(name(), q);
            }
            Object[] floatArgs = args.clone();
            floatArgs[0] = a.dtype == DType.FLOAT32 ? a : MovementOps.TO_DTYPE.compute(new Object[] {a, DType.FLOAT32});
            if (args[1] instanceof Tensor b && b.dtype != DType.FLOAT32) {
                floatArgs[1] = MovementOps.TO_DTYPE.compute(new Object[] {b, DType.FLOAT32});
            } else if (args[1] instanceof Number v) {
                floatArgs[1] = v.floatValue();
            }
            return super.compute(floatArgs);
        }

        @Override
        float apply(float a, float b) {
            return a / b;
        }

        @Override
        boolean applyScalar(float[] x, int xo, float s, float[] o, int n) {
            for (int i = 0; i < n; i++) {
                o[i] = x[xo + i] / s;
            }
            return true;
        }

        @Override
        long applyLong(long a, long b) {
            throw new AssertionError("div computes in float");
        }

        @Override
        public Object[] backward(Object[] args, Object result, Tensor gradOutput, boolean[] needsGrad) {
            return Gradients.binary("div", args, (Tensor) result, gradOutput, needsGrad);
        }
    };

    public static final Op POW = new BinaryOp("pow") {
        @Override
        float apply(float a, float b) {
            if (b == 2f) {
                return a * a;
            }
            return (float) Math.pow(a, b);
        }

        @Override
        long applyLong(long a, long b) {
            if (b < 0) {
                throw new TensorException("pow: integer tensor to a negative integer power " + b);
            }
            // Square-and-multiply: the same wrapped result as b repeated products, in log(b) steps.
            long r = 1;
            long base = a;
            for (long e = b; e > 0; e >>= 1) {
                if ((e & 1) != 0) {
                    r *= base;
                }
                base *= base;
            }
            return r;
        }

        @Override
        public Object[] backward(Object[] args, Object result, Tensor gradOutput, boolean[] needsGrad) {
            if (!(args[1] instanceof Number p)) {
                return super.backward(args, result, gradOutput, needsGrad); // tensor exponents: no rule yet
            }
            return new Object[] {Gradients.powScalar((Tensor) args[0], p.floatValue(), gradOutput), null};
        }
    };

    /** Elementwise maximum; NaN propagates. */
    public static final Op MAXIMUM = new BinaryOp("maximum") {
        @Override
        float apply(float a, float b) {
            return Float.isNaN(a) || a > b ? a : b;
        }

        @Override
        long applyLong(long a, long b) {
            return Math.max(a, b);
        }
    };

    /** Elementwise minimum; NaN propagates. */
    public static final Op MINIMUM = new BinaryOp("minimum") {
        @Override
        float apply(float a, float b) {
            return Float.isNaN(a) || a < b ? a : b;
        }

        @Override
        long applyLong(long a, long b) {
            return Math.min(a, b);
        }
    };

    // ---------------------------------------------------------------- comparisons (bool results)

    abstract static class Comparison extends Op {
        Comparison(String name) {
            super(name, Kind.COMPARISON);
        }

        abstract boolean test(double a, double b);

        @Override
        protected Object compute(Object[] args) {
            Tensor a = tensorArg(args, 0);
            Tensor b = operand(this, args, 1, a);
            refuseQuantized(name(), a);
            refuseQuantized(name(), b);
            int[] shape = Shapes.broadcast(name(), a.shape, b.shape);
            Tensor out = Tensor.empty(DType.BOOL, shape);
            byte[] o = out.storage.bytes;
            boolean asLong = a.dtype != DType.FLOAT32 && b.dtype != DType.FLOAT32;
            StridedCursor ca = new StridedCursor(shape, Shapes.broadcastStrides(a, shape), a.offset);
            StridedCursor cb = new StridedCursor(shape, Shapes.broadcastStrides(b, shape), b.offset);
            for (int i = 0; i < o.length; i++, ca.next(), cb.next()) {
                boolean r = asLong
                        ? test(a.storage.getLong(ca.offset), b.storage.getLong(cb.offset))
                        : test(a.storage.getFloat(ca.offset), b.storage.getFloat(cb.offset));
                o[i] = (byte) (r ? 1 : 0);
            }
            return out;
        }
    }

    public static final Op EQ = new Comparison("eq") {
        @Override
        boolean test(double a, double b) {
            return a == b;
        }
    };

    public static final Op NE = new Comparison("ne") {
        @Override
        boolean test(double a, double b) {
            return a != b;
        }
    };

    public static final Op LT = new Comparison("lt") {
        @Override
        boolean test(double a, double b) {
            return a < b;
        }
    };

    public static final Op LE = new Comparison("le") {
        @Override
        boolean test(double a, double b) {
            return a <= b;
        }
    };

    public static final Op GT = new Comparison("gt") {
        @Override
        boolean test(double a, double b) {
            return a > b;
        }
    };

    public static final Op GE = new Comparison("ge") {
        @Override
        boolean test(double a, double b) {
            return a >= b;
        }
    };

    // ---------------------------------------------------------------- selection

    /** {@code where(condition, a, b)}: condition is bool; all three broadcast together. */
    public static final Op WHERE = new Op("where", Op.Kind.BINARY) {
        @Override
        protected Object compute(Object[] args) {
            Tensor cond = tensorArg(args, 0);
            Tensor a = tensorArg(args, 1);
            Tensor b = tensorArg(args, 2);
            requireBool(name(), cond);
            refuseQuantized(name(), a);
            refuseQuantized(name(), b);
            int[] shape = Shapes.broadcast(name(), Shapes.broadcast(name(), cond.shape, a.shape), b.shape);
            DType dtype = DType.promote(a.dtype, b.dtype);
            if (a.dtype == DType.BOOL && b.dtype == DType.BOOL) {
                dtype = DType.BOOL;
            }
            Tensor out = Tensor.empty(dtype, shape);
            StridedCursor cc = new StridedCursor(shape, Shapes.broadcastStrides(cond, shape), cond.offset);
            StridedCursor ca = new StridedCursor(shape, Shapes.broadcastStrides(a, shape), a.offset);
            StridedCursor cb = new StridedCursor(shape, Shapes.broadcastStrides(b, shape), b.offset);
            int n = out.numelRef();
            for (int i = 0; i < n; i++, cc.next(), ca.next(), cb.next()) {
                boolean c = cond.storage.bytes[cc.offset] != 0;
                if (dtype == DType.FLOAT32) {
                    out.storage.floats[i] = c ? a.storage.getFloat(ca.offset) : b.storage.getFloat(cb.offset);
                } else {
                    out.storage.setLong(i, c ? a.storage.getLong(ca.offset) : b.storage.getLong(cb.offset));
                }
            }
            return out;
        }

        @Override
        public Object[] backward(Object[] args, Object result, Tensor gradOutput, boolean[] needsGrad) {
            return Gradients.where((Tensor) args[0], args[1], args[2], gradOutput, needsGrad);
        }
    };

    /** {@code masked_fill(x, mask, value)}: value where mask is true; mask broadcasts to x's shape. */
    public static final Op MASKED_FILL = new Op("masked_fill", Op.Kind.BINARY) {
        @Override
        protected Object compute(Object[] args) {
            Tensor x = tensorArg(args, 0);
            Tensor mask = tensorArg(args, 1);
            float value = floatArg(args, 2);
            requireBool(name(), mask);
            refuseQuantized(name(), x);
            int[] shape = Shapes.broadcast(name(), x.shape, mask.shape);
            if (!Arrays.equals(shape, x.shape)) {
                throw new ShapeException("masked_fill: mask of shape " + Arrays.toString(mask.shape)
                        + " does not broadcast to the input's shape " + Arrays.toString(x.shape));
            }
            Tensor out = MovementOps.copyContiguous(x);
            StridedCursor cm = new StridedCursor(shape, Shapes.broadcastStrides(mask, shape), mask.offset);
            int n = out.numelRef();
            for (int i = 0; i < n; i++, cm.next()) {
                if (mask.storage.bytes[cm.offset] != 0) {
                    out.storage.setFloat(i, value);
                }
            }
            return out;
        }

        @Override
        public Object[] backward(Object[] args, Object result, Tensor gradOutput, boolean[] needsGrad) {
            // The filled positions no longer depend on x.
            return new Object[] {Gradients.call(MASKED_FILL, gradOutput, args[1], 0f), null, null};
        }
    };

    // ---------------------------------------------------------------- helpers

    /**
     * The second operand: a tensor, or a Java number as a 0-d tensor: float32 for Float/Double (or a float tensor),
     * else a's integer dtype when the value fits in it (scalars do not widen a tensor, as in PyTorch), else int64.
     */
    static Tensor operand(Op op, Object[] args, int i, Tensor like) {
        if (i < args.length && args[i] instanceof Tensor t) {
            return t;
        }
        if (i < args.length && args[i] instanceof Number v) {
            if (v instanceof Float || v instanceof Double || like.dtype == DType.FLOAT32) {
                return Tensor.scalar(v.floatValue());
            }
            long l = v.longValue();
            if (like.dtype.isInteger() && l >= like.dtype.minValue() && l <= like.dtype.maxValue()) {
                Tensor s = Tensor.empty(like.dtype);
                s.storage.setLong(0, l);
                return s;
            }
            return Tensor.ofLongs(new long[] {l}); // does not fit (or a bool tensor): widen to int64
        }
        throw new TensorException(op.name() + ": argument " + i + " must be a tensor or a number, got "
                + (i < args.length ? args[i] : "nothing"));
    }

    static void refuseQuantized(String op, Tensor t) {
        if (t.qparams != null) {
            throw new DTypeException(op + ": got a quantized " + t.dtype + " tensor of shape "
                    + Arrays.toString(t.shape) + "; dequantize it first (quantized kernels come with the INT8 ops)");
        }
    }

    static void requireBool(String op, Tensor t) {
        if (t.dtype != DType.BOOL) {
            throw new DTypeException(op + ": condition/mask must be bool, got " + t.dtype + " of shape "
                    + Arrays.toString(t.shape));
        }
    }
}
