package dev.graft.formats.onnx;

import dev.graft.ops.DType;
import dev.graft.ops.Tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;

/**
 * {@code TensorProto}: a named constant (an initializer, or a {@code Constant} node's value). Whatever field the
 * file used ({@code raw_data} or one of the typed fields), the reader hands the elements out as {@code data}: a
 * read-only little-endian buffer in the {@code raw_data} layout, which is a view of the file bytes when the file used
 * {@code raw_data}. Strings are in {@code strings}. The reader has already checked that the data fits the dims.
 */
public record OnnxTensor(String name, OnnxDataType dataType, long[] dims, ByteBuffer data, List<byte[]> strings) {
    public OnnxTensor {
        dims = dims.clone();
        data = data == null ? null : data.asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
        strings = strings == null ? List.of() : List.copyOf(strings);
    }

    @Override
    public long[] dims() {
        return dims.clone();
    }

    @Override
    public ByteBuffer data() {
        return data == null ? null : data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** A copy of the raw little-endian data bytes. */
    public byte[] rawBytes() {
        byte[] out = new byte[requireData().remaining()];
        requireData().get(out);
        return out;
    }

    /** The dims as a Graft shape. */
    public int[] shape() {
        int[] s = new int[dims.length];
        for (int i = 0; i < dims.length; i++) {
            s[i] = Math.toIntExact(dims[i]);
        }
        return s;
    }

    /** Number of elements (the product of the dims; 1 for a scalar). */
    public long elementCount() {
        long n = 1;
        for (long d : dims) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** The elements as floats (float, float16, bfloat16, double and every integer type convert). */
    public float[] toFloatArray() {
        int n = Math.toIntExact(elementCount());
        float[] out = new float[n];
        ByteBuffer b = requireData();
        switch (dataType) {
            case FLOAT -> b.asFloatBuffer().get(out);
            case DOUBLE -> {
                for (int i = 0; i < n; i++) {
                    out[i] = (float) b.getDouble(i * 8);
                }
            }
            case FLOAT16 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = Float.float16ToFloat(b.getShort(i * 2));
                }
            }
            case BFLOAT16 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = Float.intBitsToFloat((b.getShort(i * 2) & 0xFFFF) << 16);
                }
            }
            default -> {
                long[] l = toLongArray();
                for (int i = 0; i < n; i++) {
                    // uint64 above 2^63: halve (keeping the sticky bit), convert, double.
                    out[i] = dataType == OnnxDataType.UINT64 && l[i] < 0 ? ((l[i] >>> 1) | (l[i] & 1)) * 2f
                            : (float) l[i];
                }
            }
        }
        return out;
    }

    /** The elements of an integer or bool tensor as longs (uint64 values above 2^63 wrap, as a C cast). */
    public long[] toLongArray() {
        int n = Math.toIntExact(elementCount());
        long[] out = new long[n];
        ByteBuffer b = requireData();
        for (int i = 0; i < n; i++) {
            out[i] = switch (dataType) {
                case INT8 -> b.get(i);
                case UINT8, BOOL -> b.get(i) & 0xFF;
                case INT16 -> b.getShort(i * 2);
                case UINT16 -> b.getShort(i * 2) & 0xFFFF;
                case INT32 -> b.getInt(i * 4);
                case UINT32 -> b.getInt(i * 4) & 0xFFFFFFFFL;
                case INT64, UINT64 -> b.getLong(i * 8);
                default -> throw new UnsupportedOperationException("OnnxTensor '" + name + "': " + dataType
                        + " is not an integer type");
            };
        }
        return out;
    }

    /**
     * A Graft tensor with these values: float32 for the floating types, int64 for int64/uint32/uint64, int32 for
     * int32/int16/uint16, int8/uint8/bool as themselves.
     */
    public Tensor toTensor() {
        int[] shape = shape();
        return switch (dataType) {
            case FLOAT, DOUBLE, FLOAT16, BFLOAT16 -> Tensor.wrap(toFloatArray(), shape);
            case INT64, UINT32, UINT64 -> Tensor.ofLongs(toLongArray(), shape);
            case INT32, INT16, UINT16 -> Tensor.ofInts(Arrays.stream(toLongArray()).mapToInt(v -> (int) v).toArray(),
                    shape);
            case INT8, UINT8, BOOL -> {
                byte[] bytes = new byte[Math.toIntExact(elementCount())];
                requireData().get(bytes);
                yield Tensor.ofBytes(dataType == OnnxDataType.INT8 ? DType.INT8
                        : dataType == OnnxDataType.UINT8 ? DType.UINT8 : DType.BOOL, bytes, shape);
            }
            default -> throw new UnsupportedOperationException("OnnxTensor '" + name + "': " + dataType
                    + " has no Graft tensor type");
        };
    }

    private ByteBuffer requireData() {
        if (data == null) {
            throw new UnsupportedOperationException("OnnxTensor '" + name + "' (" + dataType
                    + ") holds no numeric data");
        }
        return data();
    }

    // ---------------------------------------------------------------- construction (for the writer)

    public static OnnxTensor ofFloats(String name, float[] values, long... dims) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        return checked(name, OnnxDataType.FLOAT, dims, b, values.length);
    }

    /** int8 or uint8 (or bool) values from raw bytes. */
    public static OnnxTensor ofBytes(String name, OnnxDataType type, byte[] values, long... dims) {
        if (type.byteSize() != 1) {
            throw new IllegalArgumentException("ofBytes needs a one-byte type, got " + type);
        }
        return checked(name, type, dims, ByteBuffer.wrap(values.clone()), values.length);
    }

    public static OnnxTensor ofInts(String name, int[] values, long... dims) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asIntBuffer().put(values);
        return checked(name, OnnxDataType.INT32, dims, b, values.length);
    }

    public static OnnxTensor ofLongs(String name, long[] values, long... dims) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        b.asLongBuffer().put(values);
        return checked(name, OnnxDataType.INT64, dims, b, values.length);
    }

    private static OnnxTensor checked(String name, OnnxDataType type, long[] dims, ByteBuffer b, int count) {
        OnnxTensor t = new OnnxTensor(name, type, dims, b, null);
        if (t.elementCount() != count) {
            throw new IllegalArgumentException("OnnxTensor '" + name + "': " + count + " values do not fill dims "
                    + Arrays.toString(dims));
        }
        return t;
    }

    @Override
    public String toString() {
        return "OnnxTensor[" + name + ", " + dataType + Arrays.toString(dims) + "]";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof OnnxTensor t && name.equals(t.name) && dataType == t.dataType
                && Arrays.equals(dims, t.dims) && java.util.Objects.equals(data, t.data)
                && strings.size() == t.strings.size();
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(dims);
    }
}
