package dev.graft.engine;

/**
 * Marks a module that tracing must never look into: it always becomes one {@code call_module} node. Quantized
 * layers and observers are leaves by nature (their forward reads tensor data to run integer kernels or to record
 * statistics), so they implement this, and re-tracing a block after conversion keeps calling them whole.
 */
public interface LeafModule {
}
