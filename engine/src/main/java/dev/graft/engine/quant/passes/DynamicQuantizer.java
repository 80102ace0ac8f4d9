package dev.graft.engine.quant.passes;

import dev.graft.engine.Module;
import dev.graft.engine.graph.GraphModule;
import dev.graft.engine.graph.Node;
import dev.graft.engine.graph.Target;
import dev.graft.engine.nn.Embedding;
import dev.graft.engine.nn.Linear;
import dev.graft.engine.quant.QConfig;
import dev.graft.engine.quant.QConfigMapping;
import dev.graft.engine.quant.QuantizationParams;
import dev.graft.engine.quant.nn.DynamicQuantizedLinear;
import dev.graft.engine.quant.nn.QuantizedEmbedding;
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
                String path = join(blockPath, m.getKey());
                if (m.getValue() instanceof Embedding emb && !m.getKey().isEmpty() && !swapped.containsKey(emb)) {
                    QConfig qc = mapping.qconfigFor(path, emb);
                    if (qc != null) {
                        // Weight-only: each row int8 with its own scale; lookups return float rows.
                        QuantizationParams w = WeightQParams.of(qc, emb.weight(), path);
                        QuantizedEmbedding q = QuantizedEmbedding.fromFloat(emb, w.scales(), w.zeroPoints());
                        fp32WeightBytes[0] += 4L * emb.weight().numel();
                        swapped.put(emb, q);
                        originals.put(path, emb);
                        block.replaceModule(m.getKey(), q);
                    }
                }
                if (m.getValue() instanceof Linear linear && !m.getKey().isEmpty() && !swapped.containsKey(linear)) {
                    QConfig qc = mapping.qconfigFor(path, linear);
                    if (qc != null) {
                        QuantizationParams w = WeightQParams.of(qc, linear.weight(), path);
                        DynamicQuantizedLinear q = DynamicQuantizedLinear.fromFloat(linear, w.scales(),
                                w.zeroPoints(), reduceRange);
                        fp32WeightBytes[0] += 4L * linear.weight().numel();
                        swapped.put(linear, q);
                        originals.put(path, linear);
                        block.replaceModule(m.getKey(), q);
                    }
                }
            }
            block.applyPass((owner, spec) -> rewriteFunctionalLinear(owner, spec, blockPath, mapping, reduceRange,
                    fp32WeightBytes));
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

    /** {@code linear(x, get_attr weight, get_attr bias)} -> {@code call_module} of a DynamicQuantizedLinear. */
    private static void rewriteFunctionalLinear(GraphModule owner, GraphModule.Specialization spec, String blockPath,
                                                QConfigMapping mapping, boolean reduceRange,
                                                long[] fp32WeightBytes) {
        Map<String, Tensor> state = owner.stateDict();
        for (Node n : spec.graph().nodes()) {
            if (!(n.target() instanceof Target.Function f) || f.op() != LinalgOps.LINEAR
                    || !(n.args().get(1) instanceof Node w) || !(w.target() instanceof Target.Attr wa)) {
                continue;
            }
            String moduleName = "quantized_" + n.name();
            Module existing = owner.children().get(moduleName);
            if (existing == null) {
                String enclosing = join(blockPath, (String) n.meta().getOrDefault("module_path", ""));
                QConfig qc = mapping.qconfigFor(enclosing, LinalgOps.LINEAR);
                if (qc == null) {
                    continue;
                }
                Tensor weight = state.get(wa.path());
                Tensor bias = n.args().size() > 2 && n.args().get(2) instanceof Node b
                        && b.target() instanceof Target.Attr ba ? state.get(ba.path()) : null;
                if (weight == null) {
                    continue;
                }
                Linear asModule = Linear.wrap(weight, bias);
                QuantizationParams wq = WeightQParams.of(qc, weight, enclosing + " (" + n.name() + ")");
                existing = DynamicQuantizedLinear.fromFloat(asModule, wq.scales(), wq.zeroPoints(), reduceRange);
                owner.addSubmodule(moduleName, existing);
                fp32WeightBytes[0] += 4L * weight.numel();
            }
            Node replacement;
            try (var at = spec.graph().insertBefore(n)) {
                replacement = spec.graph().callModule(moduleName, n.args().get(0));
            }
            replacement.meta().putAll(n.meta());
            n.replaceAllUsesWith(replacement);
            spec.graph().erase(n);
        }
        spec.graph().eliminateDeadCode();
    }

    static String join(String a, String b) {
        return a.isEmpty() ? b : b.isEmpty() ? a : a + "." + b;
    }

    /** For tests: the modules of the traced blocks that run INT8 now. */
    static List<Module> quantizedModules(Module model) {
        return QuantizationReport.distinctModules(model).stream().filter(QuantizationReport::isQuantized).toList();
    }
}
