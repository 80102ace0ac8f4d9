package dev.graft.engine.trace;

import dev.graft.engine.LeafModule;
import dev.graft.engine.Module;
import dev.graft.engine.graph.GraphModule;
import dev.graft.engine.quant.QuantRules;

import java.util.LinkedHashSet;
import java.util.Set;

/**
 * What the tracer treats as a leaf (one {@code call_module} node, not traced through) and what it must never trace,
 * by module class or by dotted path, as PyTorch's prepare_custom_config. The defaults make the standard layers
 * leaves (quantization swaps them whole: the layers of {@link QuantRules}' table) and treat already traced blocks as
 * leaves; a module implementing {@link LeafModule} (quantized layers, observers) is always one.
 */
public final class TraceConfig {
    private final Set<Class<? extends Module>> leafClasses = new LinkedHashSet<>();
    private final Set<String> leafNames = new LinkedHashSet<>();
    private final Set<Class<? extends Module>> nonTraceableClasses = new LinkedHashSet<>();
    private final Set<String> nonTraceableNames = new LinkedHashSet<>();

    /** The standard layers as leaves. */
    public static TraceConfig defaults() {
        TraceConfig c = new TraceConfig();
        c.leafClasses.addAll(QuantRules.leafLayers());
        c.leafClasses.add(GraphModule.class);
        return c;
    }

    /** Treat every module of this class (or a subclass) as a leaf. */
    public TraceConfig leafClass(Class<? extends Module> type) {
        leafClasses.add(type);
        return this;
    }

    /** Treat the module at this dotted path (relative to the partitioned model) as a leaf. */
    public TraceConfig leafName(String path) {
        leafNames.add(path);
        return this;
    }

    /** Never trace modules of this class: the partitioner keeps them eager; enclosing traces call them as leaves. */
    public TraceConfig nonTraceableClass(Class<? extends Module> type) {
        nonTraceableClasses.add(type);
        return this;
    }

    public TraceConfig nonTraceableName(String path) {
        nonTraceableNames.add(path);
        return this;
    }

    public boolean isLeaf(Module m, String path) {
        return m instanceof LeafModule || leafNames.contains(path) || matches(leafClasses, m)
                || isNonTraceable(m, path);
    }

    public boolean isNonTraceable(Module m, String path) {
        return nonTraceableNames.contains(path) || matches(nonTraceableClasses, m);
    }

    private static boolean matches(Set<Class<? extends Module>> classes, Module m) {
        for (Class<? extends Module> c : classes) {
            if (c.isInstance(m)) {
                return true;
            }
        }
        return false;
    }
}
