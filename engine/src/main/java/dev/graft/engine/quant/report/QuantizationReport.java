package dev.graft.engine.quant.report;

import dev.graft.engine.Module;
import dev.graft.engine.graph.GraphModule;
import dev.graft.engine.graph.Meta;
import dev.graft.engine.graph.Node;
import dev.graft.engine.graph.Target;
import dev.graft.engine.quant.OpRule;
import dev.graft.engine.quant.QuantRules;
import dev.graft.engine.quant.nn.QuantizedLeaf;
import dev.graft.ops.Op;
import dev.graft.ops.Tensor;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What a quantization did, per traced block and in total: operators running INT8 vs FP32 (as Intel Neural
 * Compressor's op table), and the bytes of weights before and after, with the compression ratio.
 *
 * @param blocks         one row per traced block
 * @param fp32ModelBytes every parameter and buffer of the model before quantization
 * @param modelBytes     the same after: int8 weights (1 byte, plus a float scale and an int zero point per channel)
 *                       and everything still float
 * @param fp32QuantizedWeightBytes the float bytes of the weights that were quantized
 * @param int8QuantizedWeightBytes those weights now, scales and zero points included
 * @param originals      the FP32 modules that quantized ones replaced, by path (for {@link LayerErrorReport})
 * @param notReached     operators static convert left FP32 because calibration never reached them (their observers
 *                       saw no data), as {@code block.node (why)}; empty for dynamic quantization
 * @param keptFp32       operators left FP32 for another reason (a shared module, an add whose operands' ranges
 *                       differ too much for 8 bits)
 * @param fp32Modules    every module with weights that still computes in FP32, with the reason (filled by the
 *                       {@code Graft} API, which knows the partition and the calibration; empty otherwise)
 */
public record QuantizationReport(List<Block> blocks, long fp32ModelBytes, long modelBytes,
                                 long fp32QuantizedWeightBytes, long int8QuantizedWeightBytes,
                                 Map<String, Module> originals, List<String> notReached, List<String> keptFp32,
                                 List<Fp32Module> fp32Modules) {

    /** A module with weights that stays FP32: its path, class and why. */
    public record Fp32Module(String path, String moduleClass, String reason) {
    }

    /**
     * One traced block: operator counts by precision (an operator counts as INT8 when it computes on quint8 values,
     * views included), and how many quantize / dequantize conversions it holds.
     */
    public record Block(String path, Map<String, Integer> int8Ops, Map<String, Integer> fp32Ops, int conversions) {
        public int int8Count() {
            return int8Ops.values().stream().mapToInt(Integer::intValue).sum();
        }

        public int fp32Count() {
            return fp32Ops.values().stream().mapToInt(Integer::intValue).sum();
        }
    }

    public QuantizationReport {
        blocks = List.copyOf(blocks);
        originals = Collections.unmodifiableMap(new LinkedHashMap<>(originals));
        notReached = List.copyOf(notReached);
        keptFp32 = List.copyOf(keptFp32);
        fp32Modules = List.copyOf(fp32Modules);
    }

    public QuantizationReport(List<Block> blocks, long fp32ModelBytes, long modelBytes, long fp32QuantizedWeightBytes,
                              long int8QuantizedWeightBytes, Map<String, Module> originals, List<String> notReached,
                              List<String> keptFp32) {
        this(blocks, fp32ModelBytes, modelBytes, fp32QuantizedWeightBytes, int8QuantizedWeightBytes, originals,
                notReached, keptFp32, List.of());
    }

    /** The same report listing these FP32 modules. */
    public QuantizationReport withFp32Modules(List<Fp32Module> modules) {
        return new QuantizationReport(blocks, fp32ModelBytes, modelBytes, fp32QuantizedWeightBytes,
                int8QuantizedWeightBytes, originals, notReached, keptFp32, modules);
    }

    /** The same report with the whole model's size measured elsewhere (the saved file's, say). */
    public QuantizationReport withModelBytes(long bytes) {
        return new QuantizationReport(blocks, fp32ModelBytes, bytes, fp32QuantizedWeightBytes,
                int8QuantizedWeightBytes, originals, notReached, keptFp32, fp32Modules);
    }

    /** Compression of the quantized weights alone (FP32 bytes / INT8 bytes with their qparams). */
    public double weightCompression() {
        return int8QuantizedWeightBytes == 0 ? 1.0 : (double) fp32QuantizedWeightBytes / int8QuantizedWeightBytes;
    }

    /** Compression of the whole model's weights. */
    public double modelCompression() {
        return modelBytes == 0 ? 1.0 : (double) fp32ModelBytes / modelBytes;
    }

    /**
     * The operator table and sizes of a model whose FP32 form is not at hand (one loaded from a file): the FP32
     * sizes are reported as 0 and there are no originals to compare layers with.
     */
    public static QuantizationReport ofModel(Module model, Map<String, GraphModule> blocks) {
        return of(model, blocks, 0, 0, Map.of());
    }

    /** Builds the report for a quantized model, given its size before. */
    public static QuantizationReport of(Module model, Map<String, GraphModule> blocks, long fp32ModelBytes,
                                 long fp32QuantizedWeightBytes, Map<String, Module> originals) {
        return of(model, blocks, fp32ModelBytes, fp32QuantizedWeightBytes, originals, List.of(), List.of());
    }

    public static QuantizationReport of(Module model, Map<String, GraphModule> blocks, long fp32ModelBytes,
                                 long fp32QuantizedWeightBytes, Map<String, Module> originals,
                                 List<String> notReached, List<String> keptFp32) {
        List<Block> rows = new ArrayList<>();
        for (Map.Entry<String, GraphModule> e : blocks.entrySet()) {
            Map<String, Integer> int8 = new LinkedHashMap<>();
            Map<String, Integer> fp32 = new LinkedHashMap<>();
            int conversions = 0;
            GraphModule gm = e.getValue();
            for (Node n : gm.graph()) {
                switch (n.target()) {
                    case Target.ModuleCall mc -> {
                        Module m = gm.module(mc.path());
                        Module shown = m instanceof QuantizedLeaf q ? q.int8() : m;
                        (runsInt8(m) ? int8 : fp32).merge(shown.getClass().getSimpleName(), 1, Integer::sum);
                    }
                    case Target.Function f -> {
                        OpRule rule = QuantRules.forOp(f.op());
                        OpRule.Report how = rule == null ? OpRule.Report.BY_PRECISION : rule.report();
                        switch (how) {
                            case CONVERSION -> conversions++;
                            case HIDDEN -> {
                            }
                            case BY_PRECISION -> {
                                boolean q = f.op().kind() == Op.Kind.QUANTIZED || n.hasMeta(Meta.QPARAMS);
                                (q ? int8 : fp32).merge(f.op().name(), 1, Integer::sum);
                            }
                        }
                    }
                    default -> {
                    }
                }
            }
            rows.add(new Block(e.getKey(), int8, fp32, conversions));
        }
        long int8Weights = 0;
        Set<Tensor> counted = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Module m : distinctModules(model)) {
            // Layers that share their weights (a fused copy of a layer, engine.fuse) count them once.
            if (isQuantized(m) && counted.add(QuantRules.int8WeightAndBias(m)[0])) {
                int8Weights += int8WeightBytes(m);
            }
        }
        return new QuantizationReport(rows, fp32ModelBytes, modelBytes(model), fp32QuantizedWeightBytes, int8Weights,
                originals, notReached, keptFp32);
    }

    /** Whether a module computes on quint8 values or int8 weights (the op table's INT8 column; see its rule). */
    public static boolean runsInt8(Module m) {
        return QuantRules.runsInt8(m);
    }

    /** Whether a module holds int8 weights. */
    public static boolean isQuantized(Module m) {
        return QuantRules.int8WeightAndBias(m) != null;
    }

    /** The int8 weight: one byte per element, plus a float scale and an int zero point per channel. */
    public static long int8WeightBytes(Module m) {
        Tensor[] wb = QuantRules.int8WeightAndBias(m);
        if (wb == null) {
            throw new IllegalArgumentException(m.getClass().getSimpleName() + " holds no int8 weight");
        }
        Tensor w = wb[0];
        int channels = w.size(0);
        return w.numel() + 8L * channels;
    }

    /**
     * Bytes of every parameter and buffer, plus the int8 weights and float biases of quantized modules: what a saved
     * file holds. Tensors a traced block keeps but its graphs no longer use (the FP32 weight of a Linear that a
     * quantized module replaced) are not counted: they are not saved either.
     */
    public static long modelBytes(Module model) {
        long bytes = 0;
        Set<Tensor> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        Set<Tensor> live = Collections.newSetFromMap(new IdentityHashMap<>());
        Set<Tensor> inBlocks = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Module m : distinctModules(model)) {
            if (m instanceof GraphModule gm) {
                live.addAll(gm.liveTensors());
                inBlocks.addAll(gm.stateDict().values());
            }
        }
        for (Tensor t : model.stateDict().values()) {
            if (inBlocks.contains(t) && !live.contains(t)) {
                continue;
            }
            if (seen.add(t)) {
                bytes += (long) t.numel() * t.dtype().byteSize();
            }
        }
        Set<Tensor> counted = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Module m : distinctModules(model)) {
            if (isQuantized(m) && counted.add(QuantRules.int8WeightAndBias(m)[0])) {
                bytes += int8WeightBytes(m);
                Tensor bias = QuantRules.int8WeightAndBias(m)[1];
                if (bias != null) {
                    bytes += 4L * bias.numel();
                }
            }
        }
        return bytes;
    }

    public static List<Module> distinctModules(Module model) {
        Set<Module> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        List<Module> out = new ArrayList<>();
        for (Module m : model.namedModules().values()) {
            if (seen.add(m)) {
                out.add(m);
            }
        }
        return out;
    }

    /** The table: one line per block (INT8 ops, FP32 ops), then sizes. */
    public String describe() {
        StringBuilder sb = new StringBuilder();
        int w = Math.max(5, blocks.stream().mapToInt(b -> b.path().length()).max().orElse(5));
        sb.append(String.format("%-" + w + "s  %5s  %5s  %5s  %s%n", "block", "INT8", "FP32", "q/dq", "FP32 operators"));
        int totalInt8 = 0;
        int totalFp32 = 0;
        for (Block b : blocks) {
            sb.append(String.format("%-" + w + "s  %5d  %5d  %5d  %s%n", b.path().isEmpty() ? "<model>" : b.path(),
                    b.int8Count(), b.fp32Count(), b.conversions(), b.fp32Ops().isEmpty() ? "-" : b.fp32Ops().toString()));
            totalInt8 += b.int8Count();
            totalFp32 += b.fp32Count();
        }
        sb.append(String.format("%-" + w + "s  %5d  %5d%n", "total", totalInt8, totalFp32));
        if (!notReached.isEmpty()) {
            sb.append("not reached by calibration, kept FP32 (").append(notReached.size()).append("):\n");
            notReached.forEach(r -> sb.append("  ").append(r).append('\n'));
        }
        if (!keptFp32.isEmpty()) {
            sb.append("kept FP32 (").append(keptFp32.size()).append("):\n");
            keptFp32.forEach(r -> sb.append("  ").append(r).append('\n'));
        }
        if (!fp32Modules.isEmpty()) {
            int pw = fp32Modules.stream().mapToInt(m -> m.path().length()).max().orElse(5);
            int cw = fp32Modules.stream().mapToInt(m -> m.moduleClass().length()).max().orElse(12);
            sb.append("modules with weights still FP32 (").append(fp32Modules.size()).append("):\n");
            fp32Modules.forEach(m -> sb.append(String.format("  %-" + Math.max(pw, 7) + "s  %-" + cw + "s  %s%n",
                    m.path().isEmpty() ? "<model>" : m.path(), m.moduleClass(), m.reason())));
        }
        sb.append(String.format("quantized weights: %.2f MB FP32 -> %.2f MB INT8 (%.2fx)%n",
                fp32QuantizedWeightBytes / 1e6, int8QuantizedWeightBytes / 1e6, weightCompression()));
        sb.append(String.format("whole model:       %.2f MB FP32 -> %.2f MB (%.2fx)%n", fp32ModelBytes / 1e6,
                modelBytes / 1e6, modelCompression()));
        return sb.toString();
    }
}
