package dev.graft.ops;

/**
 * The autograd tape's hook into {@link Dispatch}: after an op computed eagerly, the recorder decides (grad mode on,
 * an input requires grad) whether to remember a backward step. Installed by the engine's autograd.
 */
public interface GradRecorder {
    void record(Op op, Object[] args, Object result);
}
