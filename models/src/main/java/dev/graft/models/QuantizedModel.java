package dev.graft.models;

import dev.graft.engine.Module;
import dev.graft.engine.quant.report.QuantizationReport;
import dev.graft.engine.trace.Partition;

/**
 * A reference model quantized by one of its recipes: the partition (the model, with INT8 blocks grafted in), what
 * runs INT8 and what stays FP32, and one line saying what the recipe did.
 */
public record QuantizedModel(Partition partition, QuantizationReport report, String recipe) {
    public Module model() {
        return partition.model();
    }
}
