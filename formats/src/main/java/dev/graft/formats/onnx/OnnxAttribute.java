package dev.graft.formats.onnx;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * {@code AttributeProto}: a named attribute of a node. {@code type} says which value field is in use; the others
 * hold their empty defaults. Sparse tensors and type protos are not read (their type is kept, their value is not).
 */
public record OnnxAttribute(String name, Type type, float f, long i, byte[] s, OnnxTensor t, OnnxGraph g,
                            float[] floats, long[] ints, List<byte[]> strings, List<OnnxTensor> tensors,
                            List<OnnxGraph> graphs) {

    /** {@code AttributeProto.AttributeType} with its code in the file. */
    public enum Type {
        UNDEFINED(0), FLOAT(1), INT(2), STRING(3), TENSOR(4), GRAPH(5), FLOATS(6), INTS(7), STRINGS(8), TENSORS(9),
        GRAPHS(10), SPARSE_TENSOR(11), SPARSE_TENSORS(12), TYPE_PROTO(13), TYPE_PROTOS(14);

        private final int code;

        Type(int code) {
            this.code = code;
        }

        public int code() {
            return code;
        }

        /** The type of this code, or null. */
        public static Type fromCode(long code) {
            for (Type t : values()) {
                if (t.code == code) {
                    return t;
                }
            }
            return null;
        }
    }

    public OnnxAttribute {
        s = s == null ? new byte[0] : s.clone();
        floats = floats == null ? new float[0] : floats.clone();
        ints = ints == null ? new long[0] : ints.clone();
        strings = strings == null ? List.of() : List.copyOf(strings);
        tensors = tensors == null ? List.of() : List.copyOf(tensors);
        graphs = graphs == null ? List.of() : List.copyOf(graphs);
    }

    @Override
    public byte[] s() {
        return s.clone();
    }

    @Override
    public float[] floats() {
        return floats.clone();
    }

    @Override
    public long[] ints() {
        return ints.clone();
    }

    /** The string value decoded as UTF-8. */
    public String string() {
        return new String(s, StandardCharsets.UTF_8);
    }

    public static OnnxAttribute ofInt(String name, long value) {
        return new OnnxAttribute(name, Type.INT, 0, value, null, null, null, null, null, null, null, null);
    }

    public static OnnxAttribute ofFloat(String name, float value) {
        return new OnnxAttribute(name, Type.FLOAT, value, 0, null, null, null, null, null, null, null, null);
    }

    public static OnnxAttribute ofString(String name, String value) {
        return new OnnxAttribute(name, Type.STRING, 0, 0, value.getBytes(StandardCharsets.UTF_8), null, null, null,
                null, null, null, null);
    }

    public static OnnxAttribute ofInts(String name, long... values) {
        return new OnnxAttribute(name, Type.INTS, 0, 0, null, null, null, null, values, null, null, null);
    }

    public static OnnxAttribute ofFloats(String name, float... values) {
        return new OnnxAttribute(name, Type.FLOATS, 0, 0, null, null, null, values, null, null, null, null);
    }

    public static OnnxAttribute ofTensor(String name, OnnxTensor value) {
        return new OnnxAttribute(name, Type.TENSOR, 0, 0, null, value, null, null, null, null, null, null);
    }

    @Override
    public String toString() {
        String v = switch (type) {
            case FLOAT -> Float.toString(f);
            case INT -> Long.toString(i);
            case STRING -> '"' + string() + '"';
            case TENSOR -> String.valueOf(t);
            case GRAPH -> "graph " + (g == null ? "?" : g.name());
            case FLOATS -> java.util.Arrays.toString(floats);
            case INTS -> java.util.Arrays.toString(ints);
            default -> type.name().toLowerCase(java.util.Locale.ROOT);
        };
        return name + "=" + v;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof OnnxAttribute a && name.equals(a.name) && type == a.type
                && Float.compare(f, a.f) == 0 && i == a.i && java.util.Arrays.equals(s, a.s)
                && java.util.Objects.equals(t, a.t) && java.util.Objects.equals(g, a.g)
                && java.util.Arrays.equals(floats, a.floats) && java.util.Arrays.equals(ints, a.ints)
                && tensors.equals(a.tensors) && graphs.equals(a.graphs) && strings.size() == a.strings.size();
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + type.hashCode();
    }
}
