package dev.graft.engine;

/** Runs before a module's forward. Returns replacement inputs, or null to keep them. */
@FunctionalInterface
public interface ForwardPreHook {
    Object[] beforeForward(Module module, Object[] inputs);
}
