package dev.graft.engine.save;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A saved configuration with typed getters that fail with the key and the owner's name ({@code config of
 * BertForSequenceClassification: 'hidden_size' is missing}), never with a ClassCastException or a
 * NullPointerException (a JSON {@code null} is a value of the wrong type like any other).
 *
 * <p>A configuration read from a file also carries the file's size budget: how many tensor elements the file holds.
 * A {@code fromConfig} that builds a module whose parameters are set by the configuration calls {@link #checkSize}
 * first, so a few edited bytes cannot make loading allocate gigabytes before the file's tensors are compared.
 */
public final class SavedConfig {
    private final String owner;
    private final Map<String, Object> values;
    private final long budget;

    public SavedConfig(String owner, Map<String, Object> values) {
        this(owner, values, Long.MAX_VALUE);
    }

    /** @param budget tensor elements a module built from this configuration may allocate (see {@link #checkSize}) */
    public SavedConfig(String owner, Map<String, Object> values, long budget) {
        this.owner = owner;
        this.values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
        this.budget = budget;
    }

    /**
     * Fails, naming the owner and {@code what}, when building {@code elements} parameter elements would exceed what
     * the file these values came from can fill (unlimited for a configuration not read from a file).
     */
    public void checkSize(long elements, String what) {
        if (elements < 0 || elements > budget) {
            throw new SavedModelException("config of " + owner, what + " would allocate " + (elements < 0
                    ? "more than 2^63" : String.valueOf(elements)) + " parameter elements, more than the file's "
                    + "tensors can fill (" + budget + "): a size in the configuration is wrong");
        }
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
        return new SavedConfig(owner + "." + key, m, budget);
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
