package dev.graft.formats.onnx;

/**
 * ONNX {@code TensorProto.DataType}: the element types with their code in the file and their size in bytes in
 * {@code raw_data} (0 for strings, whose elements have no fixed size; sub-byte types are not read).
 */
public enum OnnxDataType {
    FLOAT(1, 4),
    UINT8(2, 1),
    INT8(3, 1),
    UINT16(4, 2),
    INT16(5, 2),
    INT32(6, 4),
    INT64(7, 8),
    STRING(8, 0),
    BOOL(9, 1),
    FLOAT16(10, 2),
    DOUBLE(11, 8),
    UINT32(12, 4),
    UINT64(13, 8),
    COMPLEX64(14, 8),
    COMPLEX128(15, 16),
    BFLOAT16(16, 2);

    private final int code;
    private final int byteSize;

    OnnxDataType(int code, int byteSize) {
        this.code = code;
        this.byteSize = byteSize;
    }

    /** The number written in {@code TensorProto.data_type} and {@code TypeProto.Tensor.elem_type}. */
    public int code() {
        return code;
    }

    /** Bytes per element in {@code raw_data}; 0 for {@link #STRING}. */
    public int byteSize() {
        return byteSize;
    }

    /** The type with this code, or null when the code is not one of these (undefined, 8-bit floats, 4-bit types). */
    public static OnnxDataType fromCode(long code) {
        for (OnnxDataType t : values()) {
            if (t.code == code) {
                return t;
            }
        }
        return null;
    }
}
