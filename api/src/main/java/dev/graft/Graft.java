package dev.graft;

import dev.graft.engine.Module;
import dev.graft.engine.ProgressListener;
import dev.graft.engine.fuse.InferenceFusions;
import dev.graft.engine.quant.Approach;
import dev.graft.engine.quant.QConfig;
import dev.graft.engine.quant.QConfigMapping;
import dev.graft.engine.quant.passes.DynamicQuantizer;
import dev.graft.engine.quant.passes.StaticQuantizer;
import dev.graft.engine.quant.qat.QatOptions;
import dev.graft.engine.quant.report.QuantizationReport;
import dev.graft.engine.quant.tune.Recipe;
import dev.graft.engine.quant.tune.Tuner;
import dev.graft.engine.save.SavedModel;
import dev.graft.engine.trace.Partition;
import dev.graft.engine.trace.Partitioner;
import dev.graft.engine.trace.TraceConfig;
import dev.graft.kernels.Parallel;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * The embedding API in one place: quantize a model (with its Java control flow) to INT8, save it, load it, run it.
 * <pre>{@code
 * Graft.Quantized q = Graft.quantize(model, exampleInputs, Graft.Config.dynamic());          // dynamic: one step
 * Graft.Quantized q = Graft.quantize(model, batches, Graft.Config.staticDefaults());         // static: real data
 * Graft.Prepared p = Graft.prepare(model, batches, Graft.Config.staticDefaults());           // or step by step
 * p.calibrate(batches);                                          // a List<Tensor[]>, or calibrate(batch1, batch2)
 * Graft.Quantized q = p.convert();                               // refused if calibration saw no data
 * q.save(Path.of("model.graft"));                                // Graft.save(Graft.partition(model, x), file): FP32
 * Graft.Quantized loaded = Graft.load(Path.of("model.graft"));
 * Tensor out = loaded.model().call(input);                       // thread-safe
 * }</pre>
 * Parents must call children through their {@code Submodule} handles: a child called through a Java field is not
 * replaced by its traced or INT8 block, and calibration (or the check run after dynamic quantization) stops with an
 * error naming it. Every module with weights that stays FP32 is listed in {@link Quantized#report()} with the
 * reason. Kernel threads: {@link #setThreads(int)}.
 *
 * {@code quantize} traces the model fine-grained ({@link Partitioner}): the largest blocks that trace become graphs,
 * the code around them (ifs on tensor values, loops, early exits) stays as written. The blocks are then quantized
 * as {@link Config} says; the model object itself is changed in place and keeps working as before, in INT8.
 * Lower-level steps (custom {@link QConfigMapping}s, reports, layer errors) are in
 * {@code dev.graft.engine.quant.passes} and {@code dev.graft.engine.quant.report}.
 */
public final class Graft {
    private Graft() {
    }

    /**
     * How to quantize: the approach (dynamic, static or QAT), the per-layer configuration, and for QAT how conv-bn
     * pairs train ({@link QatOptions}; ignored by the other approaches).
     */
    public record Config(Approach approach, QConfigMapping mapping, QatOptions qatOptions) {
        public Config {
            Objects.requireNonNull(approach);
            Objects.requireNonNull(mapping);
            Objects.requireNonNull(qatOptions);
            if (approach == Approach.FP32) {
                throw new IllegalArgumentException("Graft.Config: FP32 is not a way to quantize (save an FP32 model "
                        + "with Graft.save)");
            }
        }

        /** A configuration with the default QAT options (conv-bn folded at prepare). */
        public Config(Approach approach, QConfigMapping mapping) {
            this(approach, mapping, QatOptions.foldAtPrepare());
        }

        /**
         * Dynamic quantization: Linear weights int8 per channel, activations quantized per call with one scale and
         * zero point per token (row) of the input, as torchao's int8 dynamic-activation configuration
         * ({@link QConfig#dynamicPerToken()}); Embeddings weight-only int8. Per token rather than PyTorch fbgemm's
         * per tensor because one large token (BERT's [CLS]/[SEP]) otherwise sets the grid of the whole batch:
         * MiniLM's embedding cosine to FP32 with every Linear INT8 is 0.9990 per token, 0.9946 per tensor
         * (docs/RESULTS.md).
         */
        public static Config dynamic() {
            return new Config(Approach.DYNAMIC, new QConfigMapping().global(QConfig.dynamicPerToken()));
        }

        /**
         * Dynamic quantization exactly as PyTorch's fbgemm {@code quantize_dynamic} with
         * {@code per_channel_dynamic_qconfig} ({@link QConfig#dynamicDefault()}): one activation scale per call for
         * the whole input tensor (8-bit; see {@code DynamicQuantizer} for {@code reduce_range}).
         */
        public static Config dynamicPerTensor() {
            return new Config(Approach.DYNAMIC, new QConfigMapping().global(QConfig.dynamicDefault()));
        }

        /** Static quantization with {@link StaticQuantizer#defaultMapping()} (histogram observers, x86 layout). */
        public static Config staticDefaults() {
            return new Config(Approach.STATIC, StaticQuantizer.defaultMapping());
        }

        /** Quantization-aware training with {@link StaticQuantizer#qatMapping()}. */
        public static Config qat() {
            return new Config(Approach.QAT, StaticQuantizer.qatMapping());
        }

        /** QAT with other conv-bn handling, e.g. {@code QatOptions.convBn(100)} (unfused, BN frozen after 100 steps). */
        public static Config qat(QatOptions options) {
            return new Config(Approach.QAT, StaticQuantizer.qatMapping(), options);
        }

        /** The same approach with another mapping (a layer kept FP32, another observer). */
        public Config withMapping(QConfigMapping other) {
            return new Config(approach, other, qatOptions);
        }

        /** The same configuration with other QAT options. */
        public Config withQatOptions(QatOptions options) {
            return new Config(approach, mapping, options);
        }
    }

    // ---------------------------------------------------------------- settings

    /**
     * Sets how many threads Graft's kernels use (the caller's included; the default is the number of processors, or
     * the {@code graft.threads} system property). Call it before the first model runs: the kernel pool starts once
     * per process, and asking for another count after that is an error rather than a setting that does nothing.
     */
    public static void setThreads(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("Graft.setThreads: threads must be >= 1, got " + threads);
        }
        System.setProperty(Parallel.PROPERTY, Integer.toString(threads));
        int running = Parallel.shared().threads();
        if (running != threads) {
            throw new IllegalStateException("Graft.setThreads(" + threads + "): the kernel pool already runs with "
                    + running + " threads (it starts with the first model call); call setThreads before that, or "
                    + "start the JVM with -D" + Parallel.PROPERTY + "=" + threads);
        }
    }

    /** The number of threads Graft's kernels use (starts the kernel pool if it has not started). */
    public static int threads() {
        return Parallel.shared().threads();
    }

    /**
     * One-step dynamic quantization: the model is partitioned on {@code exampleInputs} and its traced Linear (and
     * Embedding) layers get INT8 weights. Static quantization needs calibration data: use
     * {@link #quantize(Module, Iterable, Config)}; QAT needs training: use {@link #prepare}.
     */
    public static Quantized quantize(Module model, Object[] exampleInputs, Config config) {
        if (config.approach() != Approach.DYNAMIC) {
            throw new IllegalArgumentException("Graft.quantize(model, exampleInputs, config): " + config.approach()
                    + " quantization needs calibration batches, not one example: call Graft.quantize(model, "
                    + "calibrationBatches, config) with real inputs (32 or more batches), or Graft.prepare(...)"
                    + ".calibrate(...).convert()");
        }
        return quantize(model, List.<Object[]>of(exampleInputs), config);
    }

    /**
     * One-step quantization on real data: the model is partitioned on the batches (every branch they take gets its
     * traced blocks), then quantized; static quantization calibrates its observers on every batch. Each batch is one
     * {@code callAny} argument list, e.g. a {@code List<Tensor[]>}. QAT is refused here: it needs training between
     * prepare and convert ({@link #prepare}).
     */
    public static Quantized quantize(Module model, Iterable<? extends Object[]> batches, Config config) {
        List<Object[]> list = listOf(batches, "Graft.quantize");
        return switch (config.approach()) {
            case DYNAMIC -> {
                Partition p = Partitioner.partitionWithExamples(model, list, TraceConfig.defaults());
                QuantizationReport r = DynamicQuantizer.quantize(p, config.mapping(), false);
                // One run of the quantized model: a child called through a Java field (bypassing its INT8
                // replacement) is an error here rather than a silently FP32 layer.
                Module.failOnReplacedCalls(p.model(), () -> p.model().callAny(list.get(0)));
                yield new Quantized(p, Fp32Reasons.attach(r, p, config, null), Approach.DYNAMIC).with(config);
            }
            case STATIC -> prepare(model, list, config).calibrate(list).convert();
            case QAT -> throw new IllegalArgumentException("Graft.quantize: QAT trains between prepare and convert; "
                    + "use Graft.prepare(model, batches, Config.qat()), calibrate, train prepared.model(), convert()");
            case FP32 -> throw new IllegalArgumentException("FP32 is not a way to quantize");
        };
    }

    /** The batches as a list, refusing an empty one (nothing to trace or calibrate on). */
    private static List<Object[]> listOf(Iterable<? extends Object[]> batches, String what) {
        List<Object[]> list = new java.util.ArrayList<>();
        for (Object[] b : batches) {
            list.add(Objects.requireNonNull(b, what + ": a batch is null"));
        }
        if (list.isEmpty()) {
            throw new IllegalArgumentException(what + ": no batches; pass at least one list of model inputs");
        }
        return list;
    }

    /** Partitions the model and inserts observers (static) or fake-quant modules (QAT) in its traced blocks. */
    public static Prepared prepare(Module model, Object[] exampleInputs, Config config) {
        return prepare(model, List.<Object[]>of(exampleInputs), config);
    }

    /**
     * Partitions the model without quantizing (every block still FP32), for {@link #save(Partition, Path)}: an FP32
     * model saved in Graft's format loads and runs like a quantized one.
     */
    public static Partition partition(Module model, Object... exampleInputs) {
        return Partitioner.partition(model, exampleInputs);
    }

    /**
     * The FP32 model made ready for fast inference: partitioned on the examples (as {@link #partition}), then every
     * traced block rewritten by {@link InferenceFusions} (attention as one fused node, ...), which quantized models
     * get too. The outputs are the FP32 model's (the fusions keep its bits; see docs/ARCHITECTURE.md). Call it in
     * eval mode: the fused graphs are for inference.
     */
    public static Partition optimize(Module model, List<? extends Object[]> examples) {
        List<Object[]> list = listOf(examples, "Graft.optimize");
        model.eval();
        return InferenceFusions.apply(Partitioner.partitionWithExamples(model, list, TraceConfig.defaults()));
    }

    /** Saves a partitioned FP32 model ({@link #partition}) to one file, atomically. */
    public static void save(Partition fp32, Path file) {
        GraftFile.write(file, fp32, Map.of("approach", Approach.FP32.label()));
    }

    /**
     * As above, tracing with several examples: every module any of them reaches becomes part of a traced block
     * (pass batches that take each branch of the model's control flow; the calibration batches do).
     */
    public static Prepared prepare(Module model, List<? extends Object[]> examples, Config config) {
        Partition p = Partitioner.partitionWithExamples(model, listOf(examples, "Graft.prepare"),
                TraceConfig.defaults());
        return switch (config.approach()) {
            case STATIC -> new Prepared(StaticQuantizer.prepare(p, config.mapping()), config);
            case QAT -> new Prepared(StaticQuantizer.prepareQat(p, config.mapping(), config.qatOptions()), config);
            case DYNAMIC -> throw new IllegalArgumentException("dynamic quantization has no prepare step: use quantize");
            case FP32 -> throw new IllegalArgumentException("FP32 is not a way to quantize");
        };
    }

    /**
     * Accuracy-aware tuning of static INT8 ({@link Tuner}): trials quantize fresh FP32 models from {@code model}
     * (the default transformer recipe, SmoothQuant alphas, observers, weight granularity, then operator-wise FP32
     * fallback by sensitivity) until {@code evaluator}'s score meets {@code criterion} against the FP32 score, then
     * re-quantize what they can of the operators left FP32. 40 trials or an hour at most.
     * <pre>{@code
     * Graft.Tuned t = Graft.tune(MyModel::load, batches, m -> accuracy(m, test), Tuner.Criterion.relativeLoss(0.01));
     * System.out.print(t.result().table());   // the trajectory
     * t.save(Path.of("tuned.graft"));         // the recipe goes in the file; Graft.quantize(model, batches, recipe)
     * }</pre>
     */
    public static Tuned tune(Supplier<? extends Module> model, List<Object[]> calibration, Tuner.Evaluator evaluator,
                             Tuner.Criterion criterion) {
        return tune(model, calibration, evaluator, criterion, Tuner.Budget.defaults(), ProgressListener.NONE);
    }

    /** {@link #tune} with a trial and time budget and a progress listener (called after every trial). */
    public static Tuned tune(Supplier<? extends Module> model, List<Object[]> calibration, Tuner.Evaluator evaluator,
                             Tuner.Criterion criterion, Tuner.Budget budget, ProgressListener progress) {
        return new Tuned(Tuner.tune(model, calibration, evaluator, criterion, budget, progress));
    }

    /** Static INT8 with a given recipe (a tuned file's, {@link #recipeOf}), calibrated on {@code calibration}. */
    public static Quantized quantize(Module model, List<Object[]> calibration, Recipe recipe) {
        Partition p = Partitioner.partitionWithExamples(model, calibration, TraceConfig.defaults());
        QuantizationReport r = recipe.apply(p, calibration, null, ProgressListener.NONE);
        model.eval();
        return new Quantized(p, r, Approach.STATIC);
    }

    /** The recipe a file written by {@link Tuned#save} records, or null when it records none. */
    public static Recipe recipeOf(Path file) {
        Object info = GraftFile.read(file).info().get(RECIPE_INFO);
        if (info == null) {
            return null;
        }
        try {
            return Recipe.fromInfo(info);
        } catch (IllegalArgumentException bad) {
            throw new dev.graft.engine.io.FormatException(file, -1, "info " + bad.getMessage()
                    + " (a recipe written by graft tune is an object)", bad);
        }
    }

    private static final String RECIPE_INFO = "recipe";

    /** What {@link #tune} found: the quantized model, its recipe, the trajectory. */
    public static final class Tuned {
        private final Tuner.Result result;

        private Tuned(Tuner.Result result) {
            this.result = result;
        }

        /** The tuned INT8 model. */
        public Module model() {
            return result.model();
        }

        public Recipe recipe() {
            return result.recipe();
        }

        /** Scores, trials, the trajectory table. */
        public Tuner.Result result() {
            return result;
        }

        public Quantized quantized() {
            return new Quantized(result.partition(), result.report(), Approach.STATIC);
        }

        /** Saves the model with its recipe in the file's info ({@code graft inspect} prints it). */
        public void save(Path file) {
            GraftFile.write(file, result.partition(), Map.of("approach", Approach.STATIC.label(), RECIPE_INFO,
                    result.recipe().toInfo()));
        }
    }

    /** Loads a model saved by {@link Quantized#save}: blocks grafted back, INT8 weights packed once. */
    public static Quantized load(Path file) {
        SavedModel.Loaded loaded = GraftFile.read(file);
        return new Quantized(loaded.partition(), null,
                Approach.ofLabel(String.valueOf(loaded.info().getOrDefault("approach", ""))));
    }

    /**
     * A model with observers (or fake-quant modules) in its traced blocks, waiting for data. Static: calibrate, then
     * convert. QAT: calibrate first (the observers start from real ranges, as the CLI's recipes do), train
     * {@link #model()}, then convert.
     */
    public static final class Prepared {
        private final StaticQuantizer.Prepared prepared;
        private final Approach approach;
        private final Config config;
        /** Every module that ran during calibration (identity), for the report's "not reached by calibration". */
        private final java.util.Set<Module> calibrated = java.util.Collections.newSetFromMap(
                new java.util.IdentityHashMap<>());
        private long calibrationBatches;

        private Prepared(StaticQuantizer.Prepared prepared, Config config) {
            this.prepared = prepared;
            this.approach = config.approach();
            this.config = config;
        }

        /** The model (train it here, for QAT). */
        public Module model() {
            return prepared.partition().model();
        }

        /**
         * Runs the whole model on each batch (one {@code callAny} argument list per batch: a {@code List<Tensor[]>},
         * a {@code List<Object[]>} with nulls for absent optional inputs...).
         */
        public Prepared calibrate(Iterable<? extends Object[]> batches) {
            return calibrate(batches, ProgressListener.NONE);
        }

        /** As {@link #calibrate(Iterable)}, batch by batch: {@code calibrate(new Tensor[] {x1}, new Tensor[] {x2})}. */
        public Prepared calibrate(Object[]... batches) {
            return calibrate(List.of(batches));
        }

        public Prepared calibrate(Iterable<? extends Object[]> batches, ProgressListener progress) {
            List<Object[]> list = listOf(batches, "calibrate");
            List<dev.graft.engine.HookHandle> hooks = new java.util.ArrayList<>();
            for (Module m : model().namedModules().values()) {
                hooks.add(m.addForwardPreHook((mod, in) -> {
                    calibrated.add(mod);
                    return null;
                }));
            }
            try {
                Module.failOnReplacedCalls(model(), () -> StaticQuantizer.calibrate(prepared, list, progress));
            } finally {
                hooks.forEach(dev.graft.engine.HookHandle::remove);
            }
            calibrationBatches += list.size();
            return this;
        }

        /** The lower-level handle (observers, fake-quant switches). */
        public StaticQuantizer.Prepared steps() {
            return prepared;
        }

        /**
         * Replaces observed blocks by INT8 ones. Refused when no observer has seen data (no {@link #calibrate} and,
         * for QAT, no training either): that would give an all-FP32 model without a word.
         */
        public Quantized convert() {
            boolean anyData = prepared.observers().values().stream().flatMap(m -> m.values().stream())
                    .anyMatch(o -> o.observedCount() > 0);
            if (!anyData) {
                throw new IllegalStateException("convert: no observer has seen data (" + calibrationBatches + " calibration "
                        + "batches ran" + (approach == Approach.QAT ? ", no training step either" : "") + "): call "
                        + "calibrate(batches) with real inputs before convert()");
            }
            if (approach == Approach.QAT) {
                prepared.enableObservers(false);
            }
            QuantizationReport r = StaticQuantizer.convert(prepared);
            model().eval();
            return new Quantized(prepared.partition(), Fp32Reasons.attach(r, prepared.partition(), config,
                    calibrationBatches > 0 ? calibrated : null), approach);
        }
    }

    /** A quantized model: call {@link #model()} as before; save it; read its report. */
    public static final class Quantized {
        private final Partition partition;
        private final QuantizationReport report;
        private final Approach approach;
        /** How it was quantized (null for a loaded file): keepFp32 lists the kept layers under the same rules. */
        private Config config;

        private Quantized(Partition partition, QuantizationReport report, Approach approach) {
            this.partition = partition;
            this.report = report;
            this.approach = approach;
        }

        private Quantized with(Config c) {
            config = c;
            return this;
        }

        /**
         * Dynamic quantization only: puts these layers (module paths, e.g. the lowest SQNR rows of a
         * {@code LayerErrorReport}) back in FP32, and reports them as "kept FP32 by the configuration".
         */
        public Quantized keepFp32(List<String> paths) {
            if (approach != Approach.DYNAMIC || config == null) {
                throw new IllegalStateException("keepFp32: only a dynamically quantized model (not one loaded from a"
                        + " file) can put layers back in FP32; for static, map them to null in the Config");
            }
            QConfigMapping kept = config.mapping().copy();
            paths.forEach(p -> kept.byModuleName(p, null));
            Config now = config.withMapping(kept);
            QuantizationReport r = DynamicQuantizer.keepFp32(partition, report, paths);
            return new Quantized(partition, Fp32Reasons.attach(r, partition, now, null), approach).with(now);
        }

        /** The model, INT8 inside; safe to call from many threads at once. */
        public Module model() {
            return partition.model();
        }

        /** The partition tree: which blocks were traced, what stayed eager and why. */
        public Partition partition() {
            return partition;
        }

        /** INT8/FP32 operators per block and sizes; null for a model loaded from a file (see inspect). */
        public QuantizationReport report() {
            return report;
        }

        /** How the model was quantized; for a loaded file, what its info says (null when it names none). */
        public Approach approach() {
            return approach;
        }

        /** Saves the model to one file, atomically ({@link GraftFile}). */
        public void save(Path file) {
            GraftFile.write(file, partition, approach == null ? Map.of() : Map.of("approach", approach.label()));
        }
    }
}
