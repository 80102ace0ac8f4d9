package dev.graft.engine.quant.passes;

import dev.graft.engine.ProgressListener;
import dev.graft.engine.graph.GraphModule;
import dev.graft.engine.graph.Node;
import dev.graft.engine.graph.Target;
import dev.graft.engine.quant.OpRule;
import dev.graft.engine.quant.QConfig;
import dev.graft.engine.quant.QConfigMapping;
import dev.graft.engine.quant.QDType;
import dev.graft.engine.quant.QScheme;
import dev.graft.engine.quant.QuantSpec;
import dev.graft.engine.quant.nn.ConvBn2d;
import dev.graft.engine.quant.observe.HistogramObserver;
import dev.graft.engine.quant.observe.MovingAverageMinMaxObserver;
import dev.graft.engine.quant.observe.MovingAveragePerChannelMinMaxObserver;
import dev.graft.engine.quant.observe.Observer;
import dev.graft.engine.quant.observe.PerChannelMinMaxObserver;
import dev.graft.engine.quant.qat.FakeQuantize;
import dev.graft.engine.quant.qat.QatConvBn;
import dev.graft.engine.quant.qat.QatLayer;
import dev.graft.engine.quant.qat.QatModule;
import dev.graft.engine.quant.qat.QatOptions;
import dev.graft.engine.quant.qat.QatSwap;
import dev.graft.engine.quant.report.QuantizationReport;
import dev.graft.engine.trace.Partition;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Static post-training quantization of a partitioned model's traced blocks, in PyTorch FX's three steps:
 * <pre>{@code
 * Prepared p = StaticQuantizer.prepare(partition, mapping);    // fuse, insert observers
 * StaticQuantizer.calibrate(p, batches, listener);             // run the whole model: control flow included
 * QuantizationReport r = StaticQuantizer.convert(p);           // INT8 modules and ops; FP32 at block edges
 * }</pre>
 * Prepare sets each block's pipeline to {@link Fusion} then {@link ObserverInsertion}; convert sets it to fusion then
 * {@link StaticConvert}. Every pipeline runs on the block's FP32 source graphs, with the block's decisions kept in an
 * explicit {@link BlockState}, so a block re-traced for new input shapes (before or after convert) is fused,
 * observed and converted exactly as its first graph was. Observers are block submodules named
 * {@code observer_<node>}; a re-trace produces the same node names, so its observers are the same modules and
 * calibration over several shapes accumulates into one set of statistics.
 *
 * <p>Unlike PyTorch, an operator whose observers never saw data (calibration never reached its branch or block) is
 * not converted with {@code scale = 1.0}: it stays FP32 and {@link QuantizationReport#notReached()} names it.
 */
public final class StaticQuantizer {
    private StaticQuantizer() {
    }

    /** A prepared model: the partition, and per block its state (fusion, observers, QAT layers). */
    public static final class Prepared {
        private final Partition partition;
        private final long fp32ModelBytes;
        private final Map<String, BlockState> blocks = new LinkedHashMap<>();
        private final boolean qat;
        private boolean converted;

        private Prepared(Partition partition, boolean qat) {
            this.partition = partition;
            this.qat = qat;
            this.fp32ModelBytes = QuantizationReport.modelBytes(partition.model());
        }

        public Partition partition() {
            return partition;
        }

        /** Every observer, by block path and then by name. */
        public Map<String, Map<String, Observer>> observers() {
            Map<String, Map<String, Observer>> out = new LinkedHashMap<>();
            blocks.forEach((path, state) -> out.put(path, Collections.unmodifiableMap(state.observers)));
            return out;
        }

        /** Whether this was made by {@link #prepareQat} (fake-quant modules in the graphs, QAT layers). */
        public boolean isQat() {
            return qat;
        }

        /**
         * Every fake-quant module of a QAT preparation, activations and weights, by block path and then by name
         * ({@code observer_<node>} for activations, {@code <layer path>.weight_fake_quant} for weights); empty
         * maps after {@link #prepare}.
         */
        public Map<String, Map<String, FakeQuantize>> fakeQuantizes() {
            Map<String, Map<String, FakeQuantize>> out = new LinkedHashMap<>();
            blocks.forEach((path, state) -> {
                Map<String, FakeQuantize> all = new LinkedHashMap<>(state.fakeQuants);
                state.qatLayers.forEach((layer, q) -> all.put(layer + ".weight_fake_quant", q.weightFakeQuant()));
                out.put(path, Collections.unmodifiableMap(all));
            });
            return out;
        }

        /** Switches every fake-quant's observer on or off (off freezes the qparams, as PyTorch's disable_observer). */
        public void enableObservers(boolean on) {
            fakeQuantizes().values().forEach(m -> m.values().forEach(fq -> fq.enableObserver(on)));
        }

        /** Switches every fake-quant's quantize-dequantize on or off (off: the float model, observers still on). */
        public void enableFakeQuant(boolean on) {
            fakeQuantizes().values().forEach(m -> m.values().forEach(fq -> fq.enableFakeQuant(on)));
        }

        /** Freezes the batch statistics of every unfused conv-bn now ({@link QatConvBn#freezeBnStats()}). */
        public void freezeBnStats() {
            blocks.values().forEach(state -> state.qatLayers.values().forEach(q -> {
                if (q instanceof QatConvBn cb) {
                    cb.freezeBnStats();
                }
            }));
        }

        /** What fusion did, by block path: layer path -> pattern. */
        public Map<String, Map<String, String>> fused() {
            Map<String, Map<String, String>> out = new LinkedHashMap<>();
            blocks.forEach((path, state) -> out.put(path, Collections.unmodifiableMap(state.fusedPatterns)));
            return out;
        }
    }

    /**
     * PyTorch's x86 static defaults except {@code reduce_range}: histogram observers over the full quint8 [0, 255]
     * (Graft's INT8 GEMM accumulates exactly in int32, so the 7-bit workaround for {@code vpmaddubsw} saturation is
     * not needed and would double the rounding error), per-channel symmetric qint8 weights.
     */
    public static QConfigMapping defaultMapping() {
        return new QConfigMapping().global(new QConfig(
                () -> new HistogramObserver(QuantSpec.of(QDType.QUINT8, QScheme.PER_TENSOR_AFFINE, false)),
                () -> new PerChannelMinMaxObserver(QuantSpec.of(QDType.QINT8, QScheme.PER_CHANNEL_SYMMETRIC, false))));
    }

    /**
     * The QAT mapping matching {@link #defaultMapping()}'s ranges: activations by {@link FakeQuantize} over a
     * {@link MovingAverageMinMaxObserver} (quint8 affine, full [0, 255], averaging constant 0.01), weights by
     * FakeQuantize over a {@link MovingAveragePerChannelMinMaxObserver} (qint8 per-channel symmetric, axis 0). The
     * fake-quant, the observers' scales and the converted model's INT8 kernels all use [0, 255] / [-128, 127]:
     * PyTorch's x86 QAT default computes the scale for [0, 127] (reduce_range) yet fake-quantizes to [0, 255], so
     * its training forward and its converted model differ on every value above the reduced range.
     */
    public static QConfigMapping qatMapping() {
        return new QConfigMapping().global(new QConfig(
                () -> new FakeQuantize(new MovingAverageMinMaxObserver(
                        QuantSpec.of(QDType.QUINT8, QScheme.PER_TENSOR_AFFINE, false))),
                () -> new FakeQuantize(new MovingAveragePerChannelMinMaxObserver(
                        QuantSpec.of(QDType.QINT8, QScheme.PER_CHANNEL_SYMMETRIC, false)))));
    }

    /** Fuses every traced block and inserts observers where {@code mapping} asks for INT8. */
    public static Prepared prepare(Partition partition, QConfigMapping mapping) {
        return prepare(partition, mapping, false, QatOptions.foldAtPrepare());
    }

    /**
     * Quantization-aware training's prepare (PyTorch's {@code prepare_qat_fx}): the same fusion and the same places
     * as {@link #prepare}, but each activation observer sits inside a {@link FakeQuantize} node (the observer is
     * what {@link Prepared#observers()} lists and what {@link #convert} reads), and every INT8 Linear / Conv2d
     * (ReLU-fused or not) becomes a {@link QatLayer} that fake-quantizes its weight per channel. Train the
     * partition's model as usual (autograd runs through the fake-quant op's straight-through gradient), then
     * {@link #convert} produces the same kind of INT8 model as static PTQ, with the weights quantized by the QAT
     * layers' own qparams.
     *
     * <p>Batch norm: conv-bn is folded from the running statistics at prepare time (call this on a model in eval
     * mode), so the statistics are frozen from step 0 and the folded conv is fine-tuned; see {@link Fusion}. To train
     * conv and BN unfused as PyTorch's QAT modules do, use {@link #prepareQat(Partition, QConfigMapping, QatOptions)}.
     * {@code mapping}'s factories should make {@link FakeQuantize} modules ({@link QConfig#qatDefault()}); a plain
     * observer is wrapped in one.
     */
    public static Prepared prepareQat(Partition partition, QConfigMapping mapping) {
        return prepareQat(partition, mapping, QatOptions.foldAtPrepare());
    }

    /**
     * {@link #prepareQat(Partition, QConfigMapping)} with a choice for conv-bn: {@link QatOptions#foldAtPrepare()} is
     * the method above; {@link QatOptions#convBn(long)} keeps each conv -> BN [-> ReLU] unfused as a
     * {@link QatConvBn} (PyTorch's QAT {@code ConvBn2d}: folded, fake-quantized weight, BN on batch statistics until
     * the given number of training steps, then on its running statistics), which convert folds from the final
     * statistics into the same INT8 conv as PTQ.
     */
    public static Prepared prepareQat(Partition partition, QConfigMapping mapping, QatOptions options) {
        return prepare(partition, mapping, true, options);
    }

    private static Prepared prepare(Partition partition, QConfigMapping mapping, boolean qat, QatOptions options) {
        Prepared p = new Prepared(partition, qat);
        for (Map.Entry<String, GraphModule> e : partition.blocks().entrySet()) {
            BlockState state = new BlockState(e.getKey(), e.getValue(), mapping, qat && !options.foldBnAtPrepare());
            p.blocks.put(e.getKey(), state);
            state.block.setPipeline(withRewrites(state.block, new Fusion(state), new ObserverInsertion(state, qat)));
            if (qat) {
                swapQatLayers(state, options.freezeBnAfterSteps());
            }
        }
        return p;
    }

    /** The block's {@link EquivalentRewrite}s (SmoothQuant's scales), in order, then {@code passes}. */
    private static List<GraphModule.GraphPass> withRewrites(GraphModule block, GraphModule.GraphPass... passes) {
        List<GraphModule.GraphPass> out = new ArrayList<>();
        for (GraphModule.GraphPass p : block.pipeline()) {
            if (p instanceof EquivalentRewrite) {
                out.add(p);
            }
        }
        out.addAll(List.of(passes));
        return out;
    }

    /** Every INT8 Linear / Conv2d call of the block becomes its QAT layer ({@link QatSwap}), once per path. */
    private static void swapQatLayers(BlockState state, long freezeBnAfterSteps) {
        for (Node n : state.block.graph()) {
            if (!(n.target() instanceof Target.ModuleCall mc) || state.qatLayers.containsKey(mc.path())
                    || state.role(n) != OpRule.Role.INT8) {
                continue;
            }
            QConfig qc = state.qconfigFor(n);
            if (qc == null || qc.isDynamic()) {
                continue;
            }
            QatModule qat = QatSwap.swap(state.block, mc.path(), state.moduleOf(n), qc,
                    BlockState.join(state.path, mc.path()), freezeBnAfterSteps);
            if (qat != null) {
                state.qatLayers.put(mc.path(), qat);
            }
        }
    }

    /**
     * Runs the whole model on each batch (its eager control flow decides which blocks and branches run), reporting
     * progress after each. {@code total} is the collection's size, or -1 for other iterables.
     */
    public static void calibrate(Prepared prepared, Iterable<Object[]> batches, ProgressListener listener) {
        if (prepared.converted) {
            throw new IllegalStateException("calibrate: the model was already converted");
        }
        long total = batches instanceof Collection<?> c ? c.size() : -1;
        long done = 0;
        for (Object[] batch : batches) {
            prepared.partition.model().callAny(batch);
            done++;
            listener.progress(done, total, "calibration batch " + done);
        }
    }

    /** Converts every block to INT8 where calibration saw data, and reports what runs INT8 and what stays FP32. */
    public static QuantizationReport convert(Prepared prepared) {
        if (prepared.converted) {
            throw new IllegalStateException("convert: already converted");
        }
        prepared.converted = true;
        StaticConvert.Results results = new StaticConvert.Results();
        for (BlockState state : prepared.blocks.values()) {
            state.block.setPipeline(withRewrites(state.block, new Fusion(state), new StaticConvert(state, results)));
            dev.graft.engine.fuse.InferenceFusions.appendTo(state.block);
        }
        return QuantizationReport.of(prepared.partition.model(), prepared.partition.blocks(), prepared.fp32ModelBytes,
                results.fp32WeightBytes, results.originals, List.copyOf(results.notReached),
                List.copyOf(results.keptFp32));
    }

}
