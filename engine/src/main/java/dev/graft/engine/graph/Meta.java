package dev.graft.engine.graph;

import dev.graft.ops.DType;
import dev.graft.ops.QParams;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * The annotations a graph node can carry, each a typed key: a pass reads {@code node.meta(Meta.SHAPE)} as an
 * {@code int[]}, never a string key and a cast. The names are what a saved graph writes; a loader accepts only these.
 */
public final class Meta {
    /** One annotation: its name in saved graphs and the type of its values. */
    public record Key<T>(String name, Class<T> type) {
        public Key {
            Objects.requireNonNull(name);
            Objects.requireNonNull(type);
        }

        /** {@code value} as this key's type, refused with the key's name when it is something else. */
        public T cast(Object value) {
            if (!type.isInstance(value)) {
                throw new GraphException("meta '" + name + "' holds a " + type.getSimpleName() + ", not "
                        + (value == null ? "null" : value.getClass().getSimpleName()));
            }
            return type.cast(value);
        }

        @Override
        public String toString() {
            return name;
        }
    }

    private static final Map<String, Key<?>> BY_NAME = new LinkedHashMap<>();

    /** The value's shape at trace time. */
    public static final Key<int[]> SHAPE = key("shape", int[].class);
    /** The value's dtype at trace time. */
    public static final Key<DType> DTYPE = key("dtype", DType.class);
    /** The module (relative to the traced block) whose code made the node; "" for the block's own forward. */
    public static final Key<String> MODULE_PATH = key("module_path", String.class);
    /** On a node whose value is a {@code Tensor[]}: how many tensors it holds. */
    public static final Key<Integer> OUTPUTS = key("outputs", Integer.class);
    /** The quint8 qparams of a value that runs INT8 after static convert. */
    public static final Key<QParams.PerTensor> QPARAMS = key("qparams", QParams.PerTensor.class);
    /** On an {@code add} (or the {@code add_relu} it became): the name of the relu fused into it. */
    public static final Key<String> FUSED_RELU = key("fused_relu", String.class);

    private Meta() {
    }

    private static <T> Key<T> key(String name, Class<T> type) {
        Key<T> k = new Key<>(name, type);
        BY_NAME.put(name, k);
        return k;
    }

    /** The key named {@code name}, or null. */
    public static Key<?> byName(String name) {
        return BY_NAME.get(name);
    }

    /** Every key, in declaration order. */
    public static Map<String, Key<?>> all() {
        return Collections.unmodifiableMap(BY_NAME);
    }
}
