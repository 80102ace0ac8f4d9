package dev.graft.engine.save;

import dev.graft.ops.DType;
import dev.graft.ops.QParams;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Plain Java values (node arguments, annotations, module configurations) to and from a JSON-shaped tree: maps with
 * string keys, lists, strings, ints, booleans and null. JSON cannot tell an Integer from a Float, and a float
 * printed in decimal and parsed back as a double may round differently, so every value that is not an int, a
 * boolean or a string carries a one-key tag and floats travel as their shortest decimal string (which
 * {@link Float#parseFloat} turns back into the same bits):
 * <pre>
 *   Float 0.125f        {"f32": "0.125"}        int[] {1, 2}     {"ints": [1, 2]}
 *   Long 7L             {"i64": "7"}            float[]          {"floats": ["0.5", "NaN"]}
 *   DType.INT8          {"dtype": "INT8"}       other enums      {"enum": "pkg.Class", "value": "NAME"}
 *   a graph node        {"node": "add_3"}       List             [ ... ]
 *   QParams             {"qparams": "per_tensor", "scale": {"f32": ..}, "zero_point": 3}  (or per_channel)
 *   Map                 {"map": {"k": ...}}
 * </pre>
 */
public final class Values {
    private Values() {
    }

    /** Encodes {@code v}; {@code nodeName} maps a graph node to its name (null when nodes are not expected). */
    public static Object encode(Object v, Function<Object, String> nodeName, String where) {
        if (v == null || v instanceof Boolean || v instanceof Integer || v instanceof String) {
            return v;
        }
        if (nodeName != null) {
            String n = nodeName.apply(v);
            if (n != null) {
                return Map.of("node", n);
            }
        }
        return switch (v) {
            case Float f -> Map.of("f32", Float.toString(f));
            case Double d -> Map.of("f64", Double.toString(d));
            case Long l -> Map.of("i64", Long.toString(l));
            case int[] a -> Map.of("ints", Arrays.stream(a).boxed().toList());
            case long[] a -> Map.of("longs", Arrays.stream(a).mapToObj(Long::toString).toList());
            case float[] a -> {
                List<String> out = new ArrayList<>(a.length);
                for (float x : a) {
                    out.add(Float.toString(x));
                }
                yield Map.of("floats", out);
            }
            case DType d -> Map.of("dtype", d.name());
            case Enum<?> e -> ordered("enum", e.getDeclaringClass().getName(), "value", e.name());
            case QParams.PerTensor q -> ordered("qparams", "per_tensor", "scale", encode(q.scale(), null, where),
                    "zero_point", q.zeroPoint());
            case QParams.PerChannel q -> ordered("qparams", "per_channel", "scales", encode(q.scales(), null, where),
                    "zero_points", encode(q.zeroPoints(), null, where), "axis", q.axis());
            case List<?> list -> {
                List<Object> out = new ArrayList<>(list.size());
                for (int i = 0; i < list.size(); i++) {
                    out.add(encode(list.get(i), nodeName, where + "[" + i + "]"));
                }
                yield out;
            }
            case Map<?, ?> map -> {
                Map<String, Object> out = new LinkedHashMap<>();
                for (Map.Entry<?, ?> e : map.entrySet()) {
                    if (!(e.getKey() instanceof String k)) {
                        throw new SavedModelException(where, "map keys must be strings, got " + e.getKey());
                    }
                    out.put(k, encode(e.getValue(), nodeName, where + "." + k));
                }
                yield Map.of("map", out);
            }
            default -> throw new SavedModelException(where, "cannot save a value of type " + v.getClass().getName()
                    + " (numbers, booleans, strings, int[]/long[]/float[], enums, qparams, lists and maps only)");
        };
    }

    /** A map keeping the order of its key-value pairs (Map.of would print them in a different order each run). */
    private static Map<String, Object> ordered(Object... keysAndValues) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            m.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return m;
    }

    /** Decodes what {@link #encode} made; {@code nodes} resolves node names (null when nodes are not expected). */
    public static Object decode(Object json, Function<String, Object> nodes, String where) {
        if (json == null || json instanceof Boolean || json instanceof Integer || json instanceof String) {
            return json;
        }
        if (json instanceof List<?> list) {
            List<Object> out = new ArrayList<>(list.size());
            for (int i = 0; i < list.size(); i++) {
                out.add(decode(list.get(i), nodes, where + "[" + i + "]"));
            }
            return out;
        }
        if (!(json instanceof Map<?, ?> m)) {
            throw new SavedModelException(where, "unexpected JSON value " + json + " (" + json.getClass().getSimpleName()
                    + "): numbers other than ints must be tagged, e.g. {\"f32\": \"0.5\"}");
        }
        if (m.containsKey("qparams")) {
            return qparams(m, where);
        }
        if (m.containsKey("enum")) {
            return enumValue(string(m, "enum", where), string(m, "value", where), where);
        }
        if (m.size() != 1) {
            throw new SavedModelException(where, "a tagged value has exactly one key, got " + m.keySet());
        }
        Map.Entry<?, ?> e = m.entrySet().iterator().next();
        String tag = String.valueOf(e.getKey());
        Object body = e.getValue();
        try {
            return switch (tag) {
                case "node" -> {
                    if (nodes == null) {
                        throw new SavedModelException(where, "a node reference where no graph is being read");
                    }
                    yield nodes.apply(asString(body, where));
                }
                case "f32" -> Float.parseFloat(asString(body, where));
                case "f64" -> Double.parseDouble(asString(body, where));
                case "i64" -> Long.parseLong(asString(body, where));
                case "ints" -> {
                    List<?> l = asList(body, where);
                    int[] out = new int[l.size()];
                    for (int i = 0; i < out.length; i++) {
                        if (!(l.get(i) instanceof Integer x)) {
                            throw new SavedModelException(where + "[" + i + "]", "not an int: " + l.get(i));
                        }
                        out[i] = x;
                    }
                    yield out;
                }
                case "longs" -> {
                    List<?> l = asList(body, where);
                    long[] out = new long[l.size()];
                    for (int i = 0; i < out.length; i++) {
                        out[i] = Long.parseLong(asString(l.get(i), where + "[" + i + "]"));
                    }
                    yield out;
                }
                case "floats" -> {
                    List<?> l = asList(body, where);
                    float[] out = new float[l.size()];
                    for (int i = 0; i < out.length; i++) {
                        out[i] = Float.parseFloat(asString(l.get(i), where + "[" + i + "]"));
                    }
                    yield out;
                }
                case "dtype" -> DType.valueOf(asString(body, where));
                case "map" -> {
                    if (!(body instanceof Map<?, ?> bm)) {
                        throw new SavedModelException(where, "\"map\" needs an object");
                    }
                    Map<String, Object> out = new LinkedHashMap<>();
                    for (Map.Entry<?, ?> x : bm.entrySet()) {
                        out.put(String.valueOf(x.getKey()), decode(x.getValue(), nodes, where + "." + x.getKey()));
                    }
                    yield out;
                }
                default -> throw new SavedModelException(where, "unknown value tag '" + tag + "'");
            };
        } catch (NumberFormatException ex) {
            throw new SavedModelException(where, "bad number in " + tag + ": " + ex.getMessage());
        } catch (IllegalArgumentException ex) {
            throw new SavedModelException(where, "bad " + tag + " value: " + ex.getMessage());
        }
    }

    private static QParams qparams(Map<?, ?> m, String where) {
        String kind = string(m, "qparams", where);
        try {
            return switch (kind) {
                case "per_tensor" -> new QParams.PerTensor((Float) typed(m, "scale", Float.class, where),
                        (Integer) typed(m, "zero_point", Integer.class, where));
                case "per_channel" -> new QParams.PerChannel((float[]) typed(m, "scales", float[].class, where),
                        (int[]) typed(m, "zero_points", int[].class, where),
                        (Integer) typed(m, "axis", Integer.class, where));
                default -> throw new SavedModelException(where, "unknown qparams kind '" + kind + "'");
            };
        } catch (RuntimeException ex) {
            if (ex instanceof SavedModelException s) {
                throw s;
            }
            throw new SavedModelException(where, "invalid qparams: " + ex.getMessage());
        }
    }

    private static Object typed(Map<?, ?> m, String key, Class<?> type, String where) {
        Object v = decode(m.get(key), null, where + "." + key);
        if (!type.isInstance(v)) {
            throw new SavedModelException(where + "." + key, "expected " + type.getSimpleName() + ", got " + v);
        }
        return v;
    }

    private static Enum<?> enumValue(String className, String value, String where) {
        Class<?> c;
        try {
            c = Class.forName(className, false, Values.class.getClassLoader());
        } catch (ClassNotFoundException e) {
            throw new SavedModelException(where, "unknown enum class " + className);
        }
        if (!c.isEnum()) {
            throw new SavedModelException(where, className + " is not an enum");
        }
        for (Object constant : c.getEnumConstants()) {
            if (((Enum<?>) constant).name().equals(value)) {
                return (Enum<?>) constant;
            }
        }
        throw new SavedModelException(where, className + " has no constant " + value);
    }

    private static String string(Map<?, ?> m, String key, String where) {
        return asString(m.get(key), where + "." + key);
    }

    private static String asString(Object o, String where) {
        if (o instanceof String s) {
            return s;
        }
        throw new SavedModelException(where, "expected a string, got " + o);
    }

    private static List<?> asList(Object o, String where) {
        if (o instanceof List<?> l) {
            return l;
        }
        throw new SavedModelException(where, "expected a list, got " + o);
    }
}
