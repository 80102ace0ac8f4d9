package dev.graft.engine.save;

import java.util.List;
import java.util.Map;

/**
 * A saved configuration with typed getters that fail with the key and the owner's name ({@code config of
 * BertForSequenceClassification: 'hidden_size' is missing}), never with a ClassCastException.
 */
public final class SavedConfig {
    private final String owner;
    private final Map<String, Object> values;

    public SavedConfig(String owner, Map<String, Object> values) {
        this.owner = owner;
        this.values = Map.copyOf(values);
    }

    public Map<String, Object> values() {
        return values;
    }

    public boolean has(String key) {
        return values.containsKey(key);
    }

    public int getInt(String key) {
        return get(key, Integer.class, "an int");
    }

    public long getLong(String key) {
        Object v = values.get(key);
        if (v instanceof Integer i) {
            return i;
        }
        return get(key, Long.class, "a long");
    }

    public float getFloat(String key) {
        return get(key, Float.class, "a float");
    }

    public double getDouble(String key) {
        return get(key, Double.class, "a double");
    }

    public boolean getBoolean(String key) {
        return get(key, Boolean.class, "a boolean");
    }

    public String getString(String key) {
        return get(key, String.class, "a string");
    }

    public int[] getInts(String key) {
        return get(key, int[].class, "an int[]").clone();
    }

    public float[] getFloats(String key) {
        return get(key, float[].class, "a float[]").clone();
    }

    /** A list whose elements are all of {@code type}. */
    public <T> List<T> getList(String key, Class<T> type) {
        List<?> list = get(key, List.class, "a list");
        for (int i = 0; i < list.size(); i++) {
            if (!type.isInstance(list.get(i))) {
                throw fail(key, "element " + i + " should be a " + type.getSimpleName() + ", got " + describe(list.get(i)));
            }
        }
        return list.stream().map(type::cast).toList();
    }

    /** A nested configuration. */
    @SuppressWarnings("unchecked")
    public SavedConfig getConfig(String key) {
        Map<String, Object> m = get(key, Map.class, "a map");
        return new SavedConfig(owner + "." + key, m);
    }

    public <E extends Enum<E>> E getEnum(String key, Class<E> type) {
        return get(key, type, "a " + type.getSimpleName());
    }

    private <T> T get(String key, Class<T> type, String what) {
        if (!values.containsKey(key)) {
            throw fail(key, "is missing");
        }
        Object v = values.get(key);
        if (!type.isInstance(v)) {
            throw fail(key, "should be " + what + ", got " + describe(v));
        }
        return type.cast(v);
    }

    private SavedModelException fail(String key, String problem) {
        return new SavedModelException("config of " + owner, "'" + key + "' " + problem);
    }

    private static String describe(Object v) {
        return v == null ? "null" : v.getClass().getSimpleName() + " " + v;
    }
}
