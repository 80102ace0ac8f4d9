package dev.graft.engine.quant.passes;

import dev.graft.engine.Module;
import dev.graft.engine.graph.Graph;
import dev.graft.engine.graph.GraphModule;
import dev.graft.engine.graph.Meta;
import dev.graft.engine.graph.Node;
import dev.graft.engine.graph.Target;
import dev.graft.engine.nn.Embedding;
import dev.graft.engine.nn.Linear;
import dev.graft.engine.quant.OpRule;
import dev.graft.engine.quant.QConfig;
import dev.graft.engine.quant.QConfigMapping;
import dev.graft.engine.quant.QuantRules;
import dev.graft.engine.quant.nn.DynamicQuantizedLinear;
import dev.graft.engine.quant.report.LayerErrorReport;
import dev.graft.engine.quant.report.QuantizationReport;
import dev.graft.engine.trace.Partition;
import dev.graft.ops.LinalgOps;
import dev.graft.ops.Tensor;

import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Post-training dynamic quantization of the traced blocks: every Linear the qconfig covers gets int8 per-channel
 * weights (packed once, here) and quantizes its input per call with qparams from the input's own min and max, as
 * PyTorch's {@code quantize_dynamic}; every Embedding gets weight-only int8 rows (one scale per row, as PyTorch's
 * weight-only embedding qconfig), which is where most of a BERT's bytes are. No calibration data is needed.
 *
 * <p>Two forms of Linear occur in traced graphs: a {@code call_module} of a Linear leaf (swapped in place for a
 * {@link DynamicQuantizedLinear}: the graph is unchanged and calls the new module), and a {@code call_function}
 * {@code linear} whose weight is a parameter (a block that was itself a Linear was traced through) — that node
 * becomes a {@code call_module} of a new quantized module registered on the block.
 */
public final class DynamicQuantizer {
    private DynamicQuantizer() {
    }

    /**
     * Quantizes the partitioned model's blocks in place with PyTorch's fbgemm default, {@code reduce_range = true}
     * (7-bit activations), and reports what changed.
     */
    public static QuantizationReport quantize(Partition partition, QConfigMapping mapping) {
        return quantize(partition, mapping, DynamicQuantizedLinear.DEFAULT_REDUCE_RANGE);
    }

    /**
     * As {@link #quantize(Partition, QConfigMapping)}, choosing the activation range. PyTorch reduces activations to
     * 7 bits on x86 because {@code vpmaddubsw} saturates int16 pair sums; Graft's INT8 GEMM accumulates exactly in
     * int32 for full 8-bit activations, so {@code reduceRange = false} costs nothing and halves the rounding error.
     */
    public static QuantizationReport quantize(Partition partition, QConfigMapping mapping, boolean reduceRange) {
        Module model = partition.model();
        long fp32Bytes = QuantizationReport.modelBytes(model);
        long[] fp32WeightBytes = {0};
        Map<Module, Module> swapped = new IdentityHashMap<>();
        Map<String, Module> originals = new java.util.LinkedHashMap<>();
        Map<String, GraphModule> blocks = partition.blocks();
        for (Map.Entry<String, GraphModule> e : blocks.entrySet()) {
            String blockPath = e.getKey();
            GraphModule block = e.getValue();
            for (Map.Entry<String, Module> m : block.namedModules().entrySet()) {
                Module fp32 = m.getValue();
                OpRule rule = QuantRules.forModule(fp32);
                if (rule == null || m.getKey().isEmpty() || swapped.containsKey(fp32)) {
                    continue;
                }
                // Embeddings weight-only (each row int8 with its own scale; lookups return float rows), Linear
                // layers dynamic: what each operator's rule says it has for int8 weights on float activations.
                OpRule.WeightFactory form = rule.weightOnly() != null ? rule.weightOnly() : rule.dynamic();
                String path = join(blockPath, m.getKey());
                QConfig qc = form == null ? null : mapping.qconfigFor(path, fp32);
                if (qc == null) {
                    continue;
                }
                Module q = form.make(fp32, weight -> {
                    fp32WeightBytes[0] += 4L * weight.numel();
                    return WeightQParams.of(qc, weight, path);
                }, reduceRange, qc.isPerTokenDynamic());
                swapped.put(fp32, q);
                originals.put(path, fp32);
                block.replaceModule(m.getKey(), q);
            }
            Map<String, Module> functional = new java.util.HashMap<>();
            block.setPipeline(List.of((owner, spec, g) -> rewriteFunctionalLinear(owner, spec, g, blockPath,
                    mapping, reduceRange, fp32WeightBytes, functional)));
            dev.graft.engine.fuse.InferenceFusions.appendTo(block);
        }
        return QuantizationReport.of(model, blocks, fp32Bytes, fp32WeightBytes[0], originals);
    }

    /**
     * Puts the FP32 originals back at {@code paths} (mixed precision: the layers a {@link LayerErrorReport} found
     * worst stay FP32). Returns the report of the model as it is now.
     */
    public static QuantizationReport keepFp32(Partition partition, QuantizationReport report, List<String> paths) {
        Module model = partition.model();
        java.util.Map<String, Module> stillQuantized = new java.util.LinkedHashMap<>(report.originals());
        long fp32WeightBytes = report.fp32QuantizedWeightBytes();
        for (String path : paths) {
            Module original = stillQuantized.remove(path);
            if (original == null) {
                throw new IllegalArgumentException("keepFp32: no quantized layer at '" + path + "'");
            }
            model.replaceModule(path, original);
            if (original instanceof Linear l) {
                fp32WeightBytes -= 4L * l.weight().numel();
            } else if (original instanceof Embedding e) {
                fp32WeightBytes -= 4L * e.weight().numel();
            }
        }
        for (GraphModule block : partition.blocks().values()) {
            block.recompile();
        }
        return QuantizationReport.of(model, partition.blocks(), report.fp32ModelBytes(), fp32WeightBytes,
                stillQuantized);
    }

    /**
     * {@code linear(x, get_attr weight, get_attr bias)} -> {@code call_module} of a DynamicQuantizedLinear, made once
     * per node name ({@code made}: the block's decisions, so every graph of the block is rewritten the same way).
     */
    private static void rewriteFunctionalLinear(GraphModule owner, GraphModule.Specialization spec, Graph g,
                                                String blockPath, QConfigMapping mapping, boolean reduceRange,
                                                long[] fp32WeightBytes, Map<String, Module> made) {
        Map<String, Tensor> state = owner.stateDict();
        OpRule linear = QuantRules.forOp(LinalgOps.LINEAR);
        for (Node n : g.nodes()) {
            if (!(n.target() instanceof Target.Function f) || f.op() != LinalgOps.LINEAR
                    || linear.roleOf(n, null) == OpRule.Role.FP32 || !(n.args().get(1) instanceof Node w)
                    || !(w.target() instanceof Target.Attr wa)) {
                continue;
            }
            String moduleName = "quantized_" + n.name();
            Module existing = made.get(moduleName);
            if (existing == null) {
                String enclosingPath = n.meta(Meta.MODULE_PATH);
                String enclosing = join(blockPath, enclosingPath == null ? "" : enclosingPath);
                QConfig qc = mapping.qconfigFor(enclosing, LinalgOps.LINEAR);
                if (qc == null || state.get(wa.path()) == null) {
                    continue;
                }
                Module asModule = linear.asModule().make(n, a -> state.get(((Target.Attr) a.target()).path()));
                existing = linear.dynamic().make(asModule, weight -> {
                    fp32WeightBytes[0] += 4L * weight.numel();
                    return WeightQParams.of(qc, weight, enclosing + " (" + n.name() + ")");
                }, reduceRange, qc.isPerTokenDynamic());
                made.put(moduleName, existing);
                owner.addSubmodule(moduleName, existing);
            }
            Node replacement;
            try (var at = g.insertBefore(n)) {
                replacement = g.callModule(moduleName, n.args().get(0));
            }
            replacement.copyMetaFrom(n);
            n.replaceAllUsesWith(replacement);
            g.erase(n);
        }
        g.eliminateDeadCode();
    }

    static String join(String a, String b) {
        return a.isEmpty() ? b : b.isEmpty() ? a : a + "." + b;
    }

    /** For tests: the modules of the traced blocks that hold int8 weights now. */
    static List<Module> quantizedModules(Module model) {
        return QuantizationReport.distinctModules(model).stream().filter(QuantizationReport::isQuantized).toList();
    }
}
