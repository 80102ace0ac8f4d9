package dev.graft.formats.onnx;

import java.util.List;

/**
 * {@code ValueInfoProto} of a tensor value: its name, element type (null when the value is not a tensor or the type
 * is not one Graft reads) and shape, each dimension a number or a symbolic name such as {@code batch_size}.
 */
public record OnnxValueInfo(String name, OnnxDataType elemType, List<Dim> dims) {
    public OnnxValueInfo {
        dims = dims == null ? null : List.copyOf(dims);
    }

    /** One dimension: a size ({@code value >= 0}) or a symbolic {@code param} (then value is -1), or neither. */
    public record Dim(long value, String param) {
        public static Dim of(long value) {
            return new Dim(value, null);
        }

        public static Dim symbolic(String param) {
            return new Dim(-1, param);
        }

        @Override
        public String toString() {
            return param != null ? param : value >= 0 ? Long.toString(value) : "?";
        }
    }

    /** A tensor value with a fixed shape. */
    public static OnnxValueInfo tensor(String name, OnnxDataType type, long... shape) {
        Dim[] d = new Dim[shape.length];
        for (int i = 0; i < shape.length; i++) {
            d[i] = Dim.of(shape[i]);
        }
        return new OnnxValueInfo(name, type, List.of(d));
    }
}
