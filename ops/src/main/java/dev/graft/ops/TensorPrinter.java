package dev.graft.ops;

/** Formats tensor data for {@link Tensor#toString()}: nested brackets, abbreviated with "..." past a limit. */
final class TensorPrinter {
    private static final int EDGE_ITEMS = 3;
    private static final int SUMMARIZE_ABOVE = 1000;

    private TensorPrinter() {
    }

    static void appendData(StringBuilder sb, Tensor t) {
        boolean summarize = t.numelRef() > SUMMARIZE_ABOVE;
        append(sb, t, 0, t.offset, summarize);
    }

    private static void append(StringBuilder sb, Tensor t, int dim, int at, boolean summarize) {
        if (dim == t.shape.length) {
            appendValue(sb, t, at);
            return;
        }
        sb.append('[');
        int n = t.shape[dim];
        for (int i = 0; i < n; i++) {
            if (summarize && n > 2 * EDGE_ITEMS && i == EDGE_ITEMS) {
                sb.append("..., ");
                i = n - EDGE_ITEMS;
            }
            append(sb, t, dim + 1, at + i * t.strides[dim], summarize);
            if (i < n - 1) {
                sb.append(", ");
            }
        }
        sb.append(']');
    }

    private static void appendValue(StringBuilder sb, Tensor t, int at) {
        switch (t.dtype) {
            case FLOAT32 -> sb.append(t.storage.floats[at]);
            case BOOL -> sb.append(t.storage.bytes[at] != 0);
            default -> sb.append(t.storage.getLong(at));
        }
    }
}
