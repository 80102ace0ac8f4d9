package dev.graft.engine.quant;

import dev.graft.ops.DType;

/** The quantized integer types an observer can target, with their full 8-bit ranges (PyTorch quint8 / qint8). */
public enum QDType {
    /** Unsigned 8-bit: activations. */
    QUINT8(0, 255, DType.UINT8),
    /** Signed 8-bit: weights. */
    QINT8(-128, 127, DType.INT8);

    private final int min;
    private final int max;
    private final DType storage;

    QDType(int min, int max, DType storage) {
        this.min = min;
        this.max = max;
        this.storage = storage;
    }

    public int min() {
        return min;
    }

    public int max() {
        return max;
    }

    /** The tensor dtype that holds the integer representation. */
    public DType storage() {
        return storage;
    }
}
