package dev.graft.ops;

/**
 * Element types. Quantized tensors are {@link #INT8} or {@link #UINT8} storage that also carry {@link QParams}.
 */
public enum DType {
    FLOAT32("float32", 4),
    INT32("int32", 4),
    /** Indices (embedding ids, argmax results) as in PyTorch. */
    INT64("int64", 8),
    INT8("int8", 1),
    UINT8("uint8", 1),
    BOOL("bool", 1);

    private final String displayName;
    private final int byteSize;

    DType(String displayName, int byteSize) {
        this.displayName = displayName;
        this.byteSize = byteSize;
    }

    public int byteSize() {
        return byteSize;
    }

    public boolean isFloatingPoint() {
        return this == FLOAT32;
    }

    public boolean isInteger() {
        return this == INT32 || this == INT64 || this == INT8 || this == UINT8;
    }

    /** Smallest and largest representable values of the integer types (used by quantization clamps). */
    public long minValue() {
        return switch (this) {
            case INT8 -> -128;
            case UINT8, BOOL -> 0;
            case INT32 -> Integer.MIN_VALUE;
            case INT64 -> Long.MIN_VALUE;
            case FLOAT32 -> throw new UnsupportedOperationException("float32 has no integer range");
        };
    }

    public long maxValue() {
        return switch (this) {
            case INT8 -> 127;
            case UINT8 -> 255;
            case BOOL -> 1;
            case INT32 -> Integer.MAX_VALUE;
            case INT64 -> Long.MAX_VALUE;
            case FLOAT32 -> throw new UnsupportedOperationException("float32 has no integer range");
        };
    }

    /**
     * The result type of arithmetic between two tensors, in the spirit of PyTorch's promotion: anything with a
     * float is float32; otherwise the wider integer; mixed int8/uint8 widens to int32; bool with bool stays bool
     * only for logical ops, which do not use this rule.
     */
    public static DType promote(DType a, DType b) {
        if (a == b) {
            return a == BOOL ? INT64 : a;
        }
        if (a == FLOAT32 || b == FLOAT32) {
            return FLOAT32;
        }
        if (a == INT64 || b == INT64) {
            return INT64;
        }
        if (a == BOOL) {
            return b;
        }
        if (b == BOOL) {
            return a;
        }
        return INT32;
    }

    @Override
    public String toString() {
        return displayName;
    }
}
