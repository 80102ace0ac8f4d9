package dev.graft.ops;

import java.util.Arrays;
import java.util.Random;

/**
 * An n-dimensional array: a dtype, a shape, strides and an offset into a {@link Storage} that views share.
 * Quantized tensors are int8/uint8 tensors that also carry {@link QParams}.
 *
 * <p>Methods that compute (add, reshape, sum, ...) go through {@link Dispatch}, so the same code runs eagerly,
 * is traced, or is recorded for autograd. Methods that hand out data ({@link #item()}, {@link #toFloatArray()})
 * refuse on symbolic tensors: that refusal is how the tracer detects data-dependent control flow.
 */
public final class Tensor {

    final Storage storage;
    final DType dtype;
    final int[] shape;
    final int[] strides;
    final int offset;
    final QParams qparams;
    private final SymbolicTracer tracer;
    private final Object symbolicNode;

    private boolean requiresGrad;
    private Tensor grad;
    /**
     * The autograd graph node that produced this tensor, or null for a leaf (a parameter, an input, a constant).
     * Typed Object because the tape lives in the engine module, which ops must not import; ops never read it.
     */
    private Object gradFn;

    Tensor(Storage storage, int[] shape, int[] strides, int offset, QParams qparams) {
        this(storage, shape, strides, offset, qparams, null, null);
    }

    private Tensor(Storage storage, int[] shape, int[] strides, int offset, QParams qparams, SymbolicTracer tracer,
                   Object symbolicNode) {
        this.storage = storage;
        this.dtype = storage.dtype;
        this.shape = shape;
        this.strides = strides;
        this.offset = offset;
        this.qparams = qparams;
        this.tracer = tracer;
        this.symbolicNode = symbolicNode;
    }

    // ---------------------------------------------------------------- creation

    /** A float32 tensor over a copy of {@code data}. */
    public static Tensor of(float[] data, int... shape) {
        checkLength("Tensor.of", data.length, shape);
        return contiguous(Storage.ofFloats(data.clone()), shape, null);
    }

    /** A float32 tensor that takes ownership of {@code data} without copying (the caller must not reuse it). */
    public static Tensor wrap(float[] data, int... shape) {
        checkLength("Tensor.wrap", data.length, shape);
        return contiguous(Storage.ofFloats(data), shape, null);
    }

    public static Tensor ofInts(int[] data, int... shape) {
        checkLength("Tensor.ofInts", data.length, shape);
        return contiguous(Storage.ofInts(data.clone()), shape, null);
    }

    public static Tensor ofLongs(long[] data, int... shape) {
        checkLength("Tensor.ofLongs", data.length, shape);
        return contiguous(Storage.ofLongs(data.clone()), shape, null);
    }

    public static Tensor ofBools(boolean[] data, int... shape) {
        checkLength("Tensor.ofBools", data.length, shape);
        byte[] b = new byte[data.length];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) (data[i] ? 1 : 0);
        }
        return contiguous(Storage.ofBytes(DType.BOOL, b), shape, null);
    }

    /** An int8 or uint8 tensor over a copy of raw bytes (uint8 values as their two's-complement byte). */
    public static Tensor ofBytes(DType dtype, byte[] data, int... shape) {
        if (dtype.byteSize() != 1) {
            throw new DTypeException("Tensor.ofBytes: needs a one-byte dtype (int8, uint8, bool), got " + dtype);
        }
        checkLength("Tensor.ofBytes", data.length, shape);
        return contiguous(Storage.ofBytes(dtype, data.clone()), shape, null);
    }

    /**
     * A quantized tensor: integer representation {@code data} (int8 or uint8, raw bytes) with its qparams.
     * Per-channel qparams must match the size of their axis.
     */
    public static Tensor quantized(DType dtype, byte[] data, int[] shape, QParams qparams) {
        if (dtype != DType.INT8 && dtype != DType.UINT8) {
            throw new DTypeException("Tensor.quantized: storage must be int8 or uint8, got " + dtype);
        }
        checkLength("Tensor.quantized", data.length, shape);
        checkQParams("Tensor.quantized", shape, qparams);
        return contiguous(Storage.ofBytes(dtype, data.clone()), shape.clone(), qparams);
    }

    public static Tensor zeros(int... shape) {
        return zeros(DType.FLOAT32, shape);
    }

    public static Tensor zeros(DType dtype, int... shape) {
        return empty(dtype, shape);
    }

    public static Tensor ones(int... shape) {
        return full(1f, shape);
    }

    public static Tensor full(float value, int... shape) {
        Tensor t = empty(DType.FLOAT32, shape);
        Arrays.fill(t.storage.floats, value);
        return t;
    }

    /** A 0-dimensional float32 tensor. */
    public static Tensor scalar(float value) {
        return of(new float[] {value});
    }

    /** 0, 1, ..., n-1 as int64 (as {@code torch.arange}). */
    public static Tensor arange(int n) {
        Shapes.checkDims("arange", new int[] {n});
        long[] a = new long[n];
        for (int i = 0; i < n; i++) {
            a[i] = i;
        }
        return contiguous(Storage.ofLongs(a), new int[] {n}, null);
    }

    /** Uniform in [low, high), from the caller's generator (reproducible for a fixed seed). */
    public static Tensor rand(Random random, float low, float high, int... shape) {
        Tensor t = empty(DType.FLOAT32, shape);
        float[] f = t.storage.floats;
        for (int i = 0; i < f.length; i++) {
            f[i] = low + (high - low) * random.nextFloat();
        }
        return t;
    }

    /** Standard normal samples from the caller's generator. */
    public static Tensor randn(Random random, int... shape) {
        Tensor t = empty(DType.FLOAT32, shape);
        float[] f = t.storage.floats;
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) random.nextGaussian();
        }
        return t;
    }

    /** A new zero-filled contiguous tensor. */
    static Tensor empty(DType dtype, int... shape) {
        int n = Shapes.numel("empty", shape);
        return contiguous(Storage.allocate(dtype, n), shape.clone(), null);
    }

    static Tensor contiguous(Storage storage, int[] shape, QParams qparams) {
        Shapes.checkDims("tensor", shape);
        // The public factories pass the caller's varargs array: copy it, or the caller could reshape us later.
        int[] own = shape.clone();
        return new Tensor(storage, own, Shapes.contiguousStrides(own), 0, qparams);
    }

    /** A view of the same storage with other geometry (the movement ops build these). */
    Tensor view(int[] newShape, int[] newStrides, int newOffset, QParams newQParams) {
        return new Tensor(storage, newShape, newStrides, newOffset, newQParams);
    }

    // ---------------------------------------------------------------- symbolic tensors (for the tracer)

    /**
     * A symbolic tensor: the example value {@code value} (shape, dtype and data for computing during tracing) bound to
     * a tracer and its graph node. Ops on it are recorded by the tracer; data access is refused.
     */
    public static Tensor symbolic(Tensor value, SymbolicTracer tracer, Object node) {
        if (tracer == null || node == null) {
            throw new IllegalArgumentException("symbolic tensor needs a tracer and a node");
        }
        Tensor v = value.concrete();
        return new Tensor(v.storage, v.shape, v.strides, v.offset, v.qparams, tracer, node);
    }

    public boolean isSymbolic() {
        return tracer != null;
    }

    /** The tracer this tensor belongs to, or null for a concrete tensor. */
    public SymbolicTracer tracer() {
        return tracer;
    }

    /** The graph node a symbolic tensor stands for, or null. */
    public Object symbolicNode() {
        return symbolicNode;
    }

    /** The plain tensor behind a symbolic one (its example value); a concrete tensor returns itself. */
    public Tensor concrete() {
        return tracer == null ? this : new Tensor(storage, shape, strides, offset, qparams);
    }

    private void requireConcrete(String what) {
        if (tracer != null) {
            throw tracer.refuseConcreteAccess(this, what);
        }
    }

    // ---------------------------------------------------------------- metadata

    public DType dtype() {
        return dtype;
    }

    /** Number of dimensions. */
    public int dim() {
        return shape.length;
    }

    /** The shape (a copy). On a symbolic tensor this reads, and so guards, every dimension. */
    public int[] shape() {
        if (tracer != null) {
            for (int d = 0; d < shape.length; d++) {
                tracer.shapeRead(this, d);
            }
        }
        return shape.clone();
    }

    /** Size of dimension {@code d} (negative counts from the end). */
    public int size(int d) {
        int dd = Shapes.normalizeDim("size", d, shape.length);
        if (tracer != null) {
            tracer.shapeRead(this, dd);
        }
        return shape[dd];
    }

    public int numel() {
        if (tracer != null) {
            for (int d = 0; d < shape.length; d++) {
                tracer.shapeRead(this, d);
            }
        }
        return Shapes.numel("numel", shape);
    }

    /** Strides in elements (a copy). */
    public int[] strides() {
        return strides.clone();
    }

    /** Offset into the storage, in elements. */
    public int storageOffset() {
        return offset;
    }

    public boolean isContiguous() {
        return Arrays.equals(strides, Shapes.contiguousStrides(shape)) || Shapes.numelUnchecked(shape) <= 1
                || Shapes.isContiguousIgnoringUnitDims(shape, strides);
    }

    public boolean isQuantized() {
        return qparams != null;
    }

    /** The quantization parameters, or null for a plain tensor. */
    public QParams qparams() {
        return qparams;
    }

    /** Whether two tensors are views of the same memory. */
    public boolean sharesStorageWith(Tensor other) {
        return storage == other.storage;
    }

    // Package-private accessors that do not count as shape reads (operators use these).

    int[] shapeRef() {
        return shape;
    }

    int numelRef() {
        return Shapes.numelUnchecked(shape);
    }

    // ---------------------------------------------------------------- autograd state

    public boolean requiresGrad() {
        return requiresGrad;
    }

    public Tensor setRequiresGrad(boolean requiresGrad) {
        if (requiresGrad && dtype != DType.FLOAT32) {
            throw new DTypeException("only float32 tensors can require gradients, this one is " + dtype);
        }
        this.requiresGrad = requiresGrad;
        return this;
    }

    /** The accumulated gradient, or null. */
    public Tensor grad() {
        return grad;
    }

    public void setGrad(Tensor grad) {
        this.grad = grad;
    }

    /** The autograd node that recorded this tensor (engine's tape sets it), or null for a leaf. */
    public Object gradFn() {
        return gradFn;
    }

    /** Set by the autograd tape when it links this result to its graph node. */
    public void setGradFn(Object node) {
        this.gradFn = node;
    }

    // ---------------------------------------------------------------- data access (refused on symbolic tensors)

    /** The single value of a one-element tensor, as a float. */
    public float item() {
        requireConcrete("item()");
        if (numelRef() != 1) {
            throw new ShapeException("item(): tensor must have exactly one element, has shape " + Arrays.toString(shape));
        }
        return storage.getFloat(offset);
    }

    /** The single value of a one-element integer tensor, as a long. */
    public long itemLong() {
        requireConcrete("itemLong()");
        if (numelRef() != 1) {
            throw new ShapeException("itemLong(): tensor must have exactly one element, has shape "
                    + Arrays.toString(shape));
        }
        return storage.getLong(offset);
    }

    /** The truth of a one-element tensor (a Java boolean from tensor data: refused while tracing). */
    public boolean isTrue() {
        requireConcrete("a Java boolean (isTrue())");
        if (numelRef() != 1) {
            throw new ShapeException("isTrue(): tensor must have exactly one element, has shape "
                    + Arrays.toString(shape));
        }
        return storage.getFloat(offset) != 0f;
    }

    /** One element as a float; the index has one entry per dimension. */
    public float getFloat(int... index) {
        requireConcrete("getFloat(" + Arrays.toString(index) + ")");
        return storage.getFloat(storageIndex(index));
    }

    /** One element as a long. */
    public long getLong(int... index) {
        requireConcrete("getLong(" + Arrays.toString(index) + ")");
        return storage.getLong(storageIndex(index));
    }

    /** All elements in row-major order as floats (quantized tensors give their integer representation). */
    public float[] toFloatArray() {
        requireConcrete("toFloatArray()");
        float[] out = new float[numelRef()];
        // (An empty view may have an offset past the end of its storage, which arraycopy refuses even for 0 elements.)
        if (dtype == DType.FLOAT32 && isContiguous() && out.length > 0) {
            System.arraycopy(storage.floats, offset, out, 0, out.length);
            return out;
        }
        StridedCursor c = new StridedCursor(shape, strides, offset);
        for (int i = 0; i < out.length; i++, c.next()) {
            out[i] = storage.getFloat(c.offset);
        }
        return out;
    }

    /** Row-major float values for operators (no symbolic check: operators run on example values while tracing). */
    float[] toFloatArrayUnchecked() {
        float[] out = new float[numelRef()];
        StridedCursor c = new StridedCursor(shape, strides, offset);
        for (int i = 0; i < out.length; i++, c.next()) {
            out[i] = storage.getFloat(c.offset);
        }
        return out;
    }

    /** All elements in row-major order as longs. */
    public long[] toLongArray() {
        requireConcrete("toLongArray()");
        long[] out = new long[numelRef()];
        StridedCursor c = new StridedCursor(shape, strides, offset);
        for (int i = 0; i < out.length; i++, c.next()) {
            out[i] = storage.getLong(c.offset);
        }
        return out;
    }

    /** All elements in row-major order as ints (values outside int range are truncated as a C cast). */
    public int[] toIntArray() {
        long[] l = toLongArray();
        int[] out = new int[l.length];
        for (int i = 0; i < l.length; i++) {
            out[i] = (int) l[i];
        }
        return out;
    }

    /** The raw bytes of a one-byte dtype (int8, uint8, bool) in row-major order. */
    public byte[] toByteArray() {
        requireConcrete("toByteArray()");
        if (dtype.byteSize() != 1) {
            throw new DTypeException("toByteArray(): needs int8, uint8 or bool, tensor is " + dtype);
        }
        int n = numelRef();
        if (isContiguous()) {
            return Arrays.copyOfRange(storage.bytes, offset, offset + n);
        }
        Tensor dense = Tensor.empty(dtype, shape);
        MovementOps.copyInto(this, dense);   // a row at a time
        return dense.storage.bytes;
    }

    private int storageIndex(int[] index) {
        if (index.length != shape.length) {
            throw new ShapeException("index " + Arrays.toString(index) + " has " + index.length
                    + " entries for a tensor of shape " + Arrays.toString(shape));
        }
        int at = offset;
        for (int d = 0; d < index.length; d++) {
            if (index[d] < 0 || index[d] >= shape[d]) {
                throw new ShapeException("index " + Arrays.toString(index) + " out of bounds for shape "
                        + Arrays.toString(shape));
            }
            at += index[d] * strides[d];
        }
        return at;
    }

    private static void checkLength(String where, int length, int[] shape) {
        int n = Shapes.numel(where, shape);
        if (n != length) {
            throw new ShapeException(where + ": " + length + " values do not fill shape " + Arrays.toString(shape)
                    + " (" + n + " elements)");
        }
    }

    static void checkQParams(String where, int[] shape, QParams q) {
        if (q instanceof QParams.PerChannel pc) {
            if (pc.axis() >= shape.length || shape[pc.axis()] != pc.channels()) {
                throw new ShapeException(where + ": per-channel qparams with " + pc.channels() + " channels on axis "
                        + pc.axis() + " do not fit shape " + Arrays.toString(shape));
            }
        }
    }

    // ---------------------------------------------------------------- views (no copy)

    public Tensor reshape(int... newShape) {
        return Dispatch.apply(MovementOps.RESHAPE, this, newShape.clone());
    }

    /** Like {@link #reshape}, but refuses (instead of copying) when the strides do not allow a view. */
    public Tensor view(int... newShape) {
        return Dispatch.apply(MovementOps.VIEW, this, newShape.clone());
    }

    public Tensor permute(int... dims) {
        return Dispatch.apply(MovementOps.PERMUTE, this, dims.clone());
    }

    public Tensor transpose(int dim0, int dim1) {
        return Dispatch.apply(MovementOps.TRANSPOSE, this, dim0, dim1);
    }

    /** Transpose of a 2-d tensor. */
    public Tensor t() {
        if (shape.length != 2) {
            throw new ShapeException("t(): needs a 2-d tensor, got shape " + Arrays.toString(shape));
        }
        return transpose(0, 1);
    }

    /**
     * Elements {@code start .. start+length-1} along {@code dim}; a negative start counts from the end. Unlike
     * {@link #slice}, which clamps, the range must lie inside the dimension (as {@code torch.narrow}).
     */
    public Tensor narrow(int dim, int start, int length) {
        int d = Shapes.normalizeDim("narrow", dim, shape.length);
        int size = shape[d];
        int first = start < 0 ? start + size(d) : start; // size(d): a guarded shape read when symbolic
        if (first < 0 || length < 0 || (long) first + length > size) {
            throw new ShapeException("narrow: start " + start + " and length " + length + " do not fit dimension "
                    + d + " of shape " + Arrays.toString(shape));
        }
        return Dispatch.apply(MovementOps.SLICE, this, d, first, first + length, 1);
    }

    /** Python-style slice {@code [start:end:step]} along {@code dim}; negative start/end count from the end. */
    public Tensor slice(int dim, int start, int end, int step) {
        return Dispatch.apply(MovementOps.SLICE, this, dim, start, end, step);
    }

    /** Index {@code index} along {@code dim}, removing that dimension. */
    public Tensor select(int dim, int index) {
        return Dispatch.apply(MovementOps.SELECT, this, dim, index);
    }

    public Tensor unsqueeze(int dim) {
        return Dispatch.apply(MovementOps.UNSQUEEZE, this, dim);
    }

    /** Removes dimension {@code dim}, which must have size 1. */
    public Tensor squeeze(int dim) {
        return Dispatch.apply(MovementOps.SQUEEZE, this, dim);
    }

    /** Broadcasts to {@code newShape} without copying (stride 0); -1 keeps a dimension. */
    public Tensor expand(int... newShape) {
        return Dispatch.apply(MovementOps.EXPAND, this, newShape.clone());
    }

    /** Flattens dimensions {@code startDim..endDim} into one. */
    public Tensor flatten(int startDim, int endDim) {
        return Dispatch.apply(MovementOps.FLATTEN, this, startDim, endDim);
    }

    /** Splits dimension {@code dim} into {@code sizes} (one may be -1): the inverse of {@link #flatten}. */
    public Tensor unflatten(int dim, int... sizes) {
        return Dispatch.apply(MovementOps.UNFLATTEN, this, dim, sizes.clone());
    }

    /**
     * The first {@code reference.size(referenceDim)} elements along {@code dim}, read when the op runs (so a trace
     * does not depend on the length).
     */
    public Tensor narrowLike(int dim, Tensor reference, int referenceDim) {
        return Dispatch.apply(MovementOps.NARROW_LIKE, this, dim, reference, referenceDim);
    }

    /** Zeros of this tensor's shape in {@code dtype}, shaped when the op runs (a trace does not depend on it). */
    public Tensor zerosLike(DType dtype) {
        return Dispatch.apply(MovementOps.ZEROS_LIKE, this, dtype);
    }

    /** This tensor if it is contiguous, else a contiguous copy. */
    public Tensor contiguous() {
        return Dispatch.apply(MovementOps.CONTIGUOUS, this);
    }

    /** A copy converted to {@code target} (floats truncate toward zero into integers). */
    public Tensor to(DType target) {
        return Dispatch.apply(MovementOps.TO_DTYPE, this, target);
    }

    // ---------------------------------------------------------------- arithmetic (broadcasting)

    public Tensor add(Tensor other) {
        return Dispatch.apply(MathOps.ADD, this, other);
    }

    public Tensor add(float value) {
        return Dispatch.apply(MathOps.ADD, this, value);
    }

    public Tensor sub(Tensor other) {
        return Dispatch.apply(MathOps.SUB, this, other);
    }

    public Tensor sub(float value) {
        return Dispatch.apply(MathOps.SUB, this, value);
    }

    public Tensor mul(Tensor other) {
        return Dispatch.apply(MathOps.MUL, this, other);
    }

    public Tensor mul(float value) {
        return Dispatch.apply(MathOps.MUL, this, value);
    }

    public Tensor div(Tensor other) {
        return Dispatch.apply(MathOps.DIV, this, other);
    }

    public Tensor div(float value) {
        return Dispatch.apply(MathOps.DIV, this, value);
    }

    public Tensor pow(float exponent) {
        return Dispatch.apply(MathOps.POW, this, exponent);
    }

    public Tensor pow(Tensor exponent) {
        return Dispatch.apply(MathOps.POW, this, exponent);
    }

    public Tensor maximum(Tensor other) {
        return Dispatch.apply(MathOps.MAXIMUM, this, other);
    }

    public Tensor minimum(Tensor other) {
        return Dispatch.apply(MathOps.MINIMUM, this, other);
    }

    public Tensor neg() {
        return Dispatch.apply(MathOps.NEG, this);
    }

    public Tensor abs() {
        return Dispatch.apply(MathOps.ABS, this);
    }

    public Tensor exp() {
        return Dispatch.apply(MathOps.EXP, this);
    }

    public Tensor log() {
        return Dispatch.apply(MathOps.LOG, this);
    }

    public Tensor sqrt() {
        return Dispatch.apply(MathOps.SQRT, this);
    }

    public Tensor rsqrt() {
        return Dispatch.apply(MathOps.RSQRT, this);
    }

    public Tensor erf() {
        return Dispatch.apply(MathOps.ERF, this);
    }

    /** Clamps into [min, max]. */
    public Tensor clamp(float min, float max) {
        return Dispatch.apply(MathOps.CLAMP, this, min, max);
    }

    // ---------------------------------------------------------------- comparisons and selection

    public Tensor eq(Tensor other) {
        return Dispatch.apply(MathOps.EQ, this, other);
    }

    public Tensor eq(float value) {
        return Dispatch.apply(MathOps.EQ, this, value);
    }

    public Tensor ne(Tensor other) {
        return Dispatch.apply(MathOps.NE, this, other);
    }

    public Tensor lt(Tensor other) {
        return Dispatch.apply(MathOps.LT, this, other);
    }

    public Tensor lt(float value) {
        return Dispatch.apply(MathOps.LT, this, value);
    }

    public Tensor le(Tensor other) {
        return Dispatch.apply(MathOps.LE, this, other);
    }

    public Tensor gt(Tensor other) {
        return Dispatch.apply(MathOps.GT, this, other);
    }

    public Tensor gt(float value) {
        return Dispatch.apply(MathOps.GT, this, value);
    }

    public Tensor ge(Tensor other) {
        return Dispatch.apply(MathOps.GE, this, other);
    }

    public Tensor ge(float value) {
        return Dispatch.apply(MathOps.GE, this, value);
    }

    /** Elementwise {@code mask ? value : this}; {@code mask} is bool and broadcasts. */
    public Tensor maskedFill(Tensor mask, float value) {
        return Dispatch.apply(MathOps.MASKED_FILL, this, mask, value);
    }

    /** Elementwise {@code condition ? a : b} with broadcasting. */
    public static Tensor where(Tensor condition, Tensor a, Tensor b) {
        return Dispatch.apply(MathOps.WHERE, condition, a, b);
    }

    // ---------------------------------------------------------------- reductions

    /** Sum of all elements (0-d result). */
    public Tensor sum() {
        return Dispatch.apply(ReduceOps.SUM, this, Shapes.allDims(shape.length), false);
    }

    public Tensor sum(int dim, boolean keepDim) {
        return Dispatch.apply(ReduceOps.SUM, this, new int[] {dim}, keepDim);
    }

    public Tensor sum(int[] dims, boolean keepDim) {
        return Dispatch.apply(ReduceOps.SUM, this, dims.clone(), keepDim);
    }

    public Tensor mean() {
        return Dispatch.apply(ReduceOps.MEAN, this, Shapes.allDims(shape.length), false);
    }

    public Tensor mean(int dim, boolean keepDim) {
        return Dispatch.apply(ReduceOps.MEAN, this, new int[] {dim}, keepDim);
    }

    public Tensor mean(int[] dims, boolean keepDim) {
        return Dispatch.apply(ReduceOps.MEAN, this, dims.clone(), keepDim);
    }

    /** Maximum of all elements (0-d result). */
    public Tensor max() {
        return Dispatch.apply(ReduceOps.MAX, this, Shapes.allDims(shape.length), false);
    }

    public Tensor max(int dim, boolean keepDim) {
        return Dispatch.apply(ReduceOps.MAX, this, new int[] {dim}, keepDim);
    }

    public Tensor min(int dim, boolean keepDim) {
        return Dispatch.apply(ReduceOps.MIN, this, new int[] {dim}, keepDim);
    }

    /** Index (int64) of the maximum along {@code dim}; the first one on ties, as PyTorch. */
    public Tensor argmax(int dim, boolean keepDim) {
        return Dispatch.apply(ReduceOps.ARGMAX, this, dim, keepDim);
    }

    // ---------------------------------------------------------------- linear algebra

    /** Matrix product with PyTorch's rules (1-d operands, batched with broadcast batch dimensions). */
    public Tensor matmul(Tensor other) {
        return Dispatch.apply(LinalgOps.MATMUL, this, other);
    }

    // ---------------------------------------------------------------- quantization

    /** Quantizes a float tensor per tensor: {@code q = clamp(zp + rint(x * (1f/scale)))}. */
    public Tensor quantize(float scale, int zeroPoint, DType dtype) {
        return Dispatch.apply(QuantOps.QUANTIZE_PER_TENSOR, this, scale, zeroPoint, dtype);
    }

    /** Quantizes a float tensor per channel along {@code axis}. */
    public Tensor quantizePerChannel(float[] scales, int[] zeroPoints, int axis, DType dtype) {
        return Dispatch.apply(QuantOps.QUANTIZE_PER_CHANNEL, this, scales.clone(), zeroPoints.clone(), axis, dtype);
    }

    /** A quantized tensor's real values as float32: {@code scale * (q - zp)}. */
    public Tensor dequantize() {
        return Dispatch.apply(QuantOps.DEQUANTIZE, this);
    }

    // ---------------------------------------------------------------- printing

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("tensor(");
        if (tracer != null) {
            sb.append("<symbolic ").append(symbolicNode).append('>');
        } else {
            TensorPrinter.appendData(sb, this);
        }
        sb.append(", shape=").append(Arrays.toString(shape)).append(", dtype=").append(dtype);
        if (qparams instanceof QParams.PerTensor pt) {
            sb.append(", scale=").append(pt.scale()).append(", zero_point=").append(pt.zeroPoint());
        } else if (qparams instanceof QParams.PerChannel pc) {
            sb.append(", per_channel_axis=").append(pc.axis());
        }
        return sb.append(')').toString();
    }
}
