package dev.graft.spark;

import java.util.Optional;

/**
 * Finding Graft's own error inside a failed Spark job. An action whose task threw (on any executor) fails with a
 * {@code SparkException} ("Job aborted due to stage failure: ..."); when the task's exception could be sent to the
 * driver, Spark makes it the cause. Graft's typed errors ({@link ModelFileException} for model files,
 * {@code CalibrationException}, {@code ModuleException}...) all live in {@code dev.graft} packages.
 */
public final class SparkErrors {
    private SparkErrors() {
    }

    /** The first exception in {@code t}'s cause chain (itself included) thrown by Graft, if any. */
    public static Optional<RuntimeException> graftCause(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof RuntimeException r && c.getClass().getName().startsWith("dev.graft.")) {
                return Optional.of(r);
            }
        }
        return Optional.empty();
    }

    /**
     * Graft's error inside {@code t} when there is one, else {@code t} itself (for {@code throw}: a
     * {@code SparkException} is a checked exception that Spark's Scala code throws without declaring it).
     */
    public static Throwable unwrap(Throwable t) {
        return graftCause(t).<Throwable>map(c -> c).orElse(t);
    }
}
