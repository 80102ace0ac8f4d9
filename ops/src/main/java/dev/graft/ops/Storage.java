package dev.graft.ops;

/**
 * The flat memory behind one or more tensors (views share it). Exactly one of the typed arrays is non-null,
 * chosen by dtype: float32 in {@code float[]}, int32 in {@code int[]}, int64 in {@code long[]}, and the one-byte
 * types (int8, uint8 as its two's-complement byte, bool as 0/1) in {@code byte[]}.
 */
final class Storage {
    final DType dtype;
    final float[] floats;
    final int[] ints;
    final long[] longs;
    final byte[] bytes;
    /**
     * Bumped by every write into this memory after creation ({@link InPlace}, through {@code MovementOps.copyInto}):
     * values derived from the contents and cached with them (packed FP32 linear weights) are valid only for the
     * version they were made from. Tensors are otherwise values, and {@code Tensor.wrap} takes ownership of its array.
     */
    volatile int version;
    /** One cached value derived from the contents (see {@link #version}), or null; replaced, never mutated. */
    volatile Object derived;

    private Storage(DType dtype, float[] floats, int[] ints, long[] longs, byte[] bytes) {
        this.dtype = dtype;
        this.floats = floats;
        this.ints = ints;
        this.longs = longs;
        this.bytes = bytes;
    }

    static Storage allocate(DType dtype, int size) {
        return switch (dtype) {
            case FLOAT32 -> new Storage(dtype, new float[size], null, null, null);
            case INT32 -> new Storage(dtype, null, new int[size], null, null);
            case INT64 -> new Storage(dtype, null, null, new long[size], null);
            case INT8, UINT8, BOOL -> new Storage(dtype, null, null, null, new byte[size]);
        };
    }

    static Storage ofFloats(float[] a) {
        return new Storage(DType.FLOAT32, a, null, null, null);
    }

    static Storage ofInts(int[] a) {
        return new Storage(DType.INT32, null, a, null, null);
    }

    static Storage ofLongs(long[] a) {
        return new Storage(DType.INT64, null, null, a, null);
    }

    static Storage ofBytes(DType dtype, byte[] a) {
        if (dtype.byteSize() != 1) {
            throw new IllegalArgumentException("byte storage for " + dtype);
        }
        return new Storage(dtype, null, null, null, a);
    }

    int length() {
        return switch (dtype) {
            case FLOAT32 -> floats.length;
            case INT32 -> ints.length;
            case INT64 -> longs.length;
            case INT8, UINT8, BOOL -> bytes.length;
        };
    }

    /** Element {@code i} as a float (integers convert exactly up to 2^24, as in PyTorch's casts). */
    float getFloat(int i) {
        return switch (dtype) {
            case FLOAT32 -> floats[i];
            case INT32 -> ints[i];
            case INT64 -> longs[i];
            case INT8, BOOL -> bytes[i];
            case UINT8 -> bytes[i] & 0xFF;
        };
    }

    /** Element {@code i} as a long (floats truncate toward zero, as a C cast does). */
    long getLong(int i) {
        return switch (dtype) {
            case FLOAT32 -> (long) floats[i];
            case INT32 -> ints[i];
            case INT64 -> longs[i];
            case INT8, BOOL -> bytes[i];
            case UINT8 -> bytes[i] & 0xFF;
        };
    }

    void setFloat(int i, float v) {
        switch (dtype) {
            case FLOAT32 -> floats[i] = v;
            case INT32 -> ints[i] = (int) v;
            case INT64 -> longs[i] = (long) v;
            case INT8, UINT8 -> bytes[i] = (byte) (long) v;
            case BOOL -> bytes[i] = (byte) (v != 0f ? 1 : 0);
        }
    }

    void setLong(int i, long v) {
        switch (dtype) {
            case FLOAT32 -> floats[i] = v;
            case INT32 -> ints[i] = (int) v;
            case INT64 -> longs[i] = v;
            case INT8, UINT8 -> bytes[i] = (byte) v;
            case BOOL -> bytes[i] = (byte) (v != 0 ? 1 : 0);
        }
    }
}
