package dev.graft.engine;

/** Removes the hook it was returned for. */
@FunctionalInterface
public interface HookHandle extends AutoCloseable {
    void remove();

    @Override
    default void close() {
        remove();
    }
}
