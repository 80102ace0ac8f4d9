package dev.graft.engine.save;

import dev.graft.ops.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One module as saved: its codec type, plain configuration, named tensors and nested child modules. Quantized
 * weights are kept as int8 tensors with their qparams (the packed kernel layout is rebuilt once at load).
 */
public record ModuleRecord(String type, Map<String, Object> config, Map<String, Tensor> tensors,
                           Map<String, ModuleRecord> children) {

    public ModuleRecord {
        config = new LinkedHashMap<>(config);
        tensors = new LinkedHashMap<>(tensors);
        children = new LinkedHashMap<>(children);
    }

    public ModuleRecord(String type) {
        this(type, Map.of(), Map.of(), Map.of());
    }

    /** Adds a configuration value; returns this record. */
    public ModuleRecord with(String key, Object value) {
        config.put(key, value);
        return this;
    }

    /** Adds a tensor (null: left out); returns this record. */
    public ModuleRecord tensor(String key, Tensor value) {
        if (value != null) {
            tensors.put(key, value.concrete());
        }
        return this;
    }

    public ModuleRecord child(String key, ModuleRecord value) {
        children.put(key, value);
        return this;
    }
}
