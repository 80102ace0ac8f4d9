package dev.graft.engine;

/** Runs after a module's forward. Returns a replacement output, or null to keep it. */
@FunctionalInterface
public interface ForwardHook {
    Object afterForward(Module module, Object[] inputs, Object output);
}
