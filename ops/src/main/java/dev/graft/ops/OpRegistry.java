package dev.graft.ops;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Every operator by its name, so a saved graph can name its operators and a loader can find them again. The
 * built-in operators (the static {@code Op} fields of the operator classes of this package) are registered when the
 * class loads; operators defined elsewhere (graph-only ones, a user's own) are added with {@link #register}.
 * Names are unique: registering a second, different operator under a taken name is refused.
 */
public final class OpRegistry {
    private static final Map<String, Op> BY_NAME = new LinkedHashMap<>();

    static {
        for (Class<?> c : new Class<?>[] {MathOps.class, MovementOps.class, ReduceOps.class, LinalgOps.class,
                NNOps.class, NNPoolOps.class, QuantOps.class, QuantizedOps.class, QuantizedOpsMatmul.class,
                QuantizedOpsPooling.class, QuantizedOpsSpatial.class, TrainingOps.class, FakeQuantOps.class,
                FusedOps.class}) {
            for (Field f : c.getDeclaredFields()) {
                if (Modifier.isStatic(f.getModifiers()) && Op.class.isAssignableFrom(f.getType())) {
                    try {
                        f.setAccessible(true);
                        register((Op) f.get(null));
                    } catch (IllegalAccessException e) {
                        throw new IllegalStateException("OpRegistry: cannot read " + c.getSimpleName() + "." + f.getName(), e);
                    }
                }
            }
        }
    }

    private OpRegistry() {
    }

    /** Adds {@code op} under its name; registering the same object twice is a no-op. */
    public static synchronized void register(Op op) {
        Op old = BY_NAME.putIfAbsent(op.name(), op);
        if (old != null && old != op) {
            throw new IllegalStateException("OpRegistry: two different operators are named '" + op.name() + "'");
        }
    }

    /** The operator named {@code name}, or null when none is registered. */
    public static synchronized Op find(String name) {
        return BY_NAME.get(name);
    }

    /** Every registered operator by name (a snapshot). */
    public static synchronized Map<String, Op> all() {
        return Collections.unmodifiableMap(new LinkedHashMap<>(BY_NAME));
    }
}
