package dev.graft.ops;

/**
 * Walks the elements of a strided tensor in row-major order, keeping the storage offset up to date with one
 * addition per step (the carry into outer dimensions is rare). Usage:
 * {@code for (int i = 0; i < n; i++, c.next()) use(c.offset);}
 */
final class StridedCursor {
    private final int[] shape;
    private final int[] strides;
    private final int[] index;
    int offset;

    StridedCursor(int[] shape, int[] strides, int offset) {
        this.shape = shape;
        this.strides = strides;
        this.index = new int[shape.length];
        this.offset = offset;
    }

    static StridedCursor over(Tensor t) {
        return new StridedCursor(t.shape, t.strides, t.offset);
    }

    void next() {
        for (int d = shape.length - 1; d >= 0; d--) {
            index[d]++;
            offset += strides[d];
            if (index[d] < shape[d]) {
                return;
            }
            offset -= strides[d] * shape[d];
            index[d] = 0;
        }
    }
}
