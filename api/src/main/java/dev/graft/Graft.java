package dev.graft;

import dev.graft.engine.Module;
import dev.graft.engine.ProgressListener;
import dev.graft.engine.quant.Approach;
import dev.graft.engine.quant.QConfig;
import dev.graft.engine.quant.QConfigMapping;
import dev.graft.engine.quant.passes.DynamicQuantizer;
import dev.graft.engine.quant.passes.StaticQuantizer;
import dev.graft.engine.quant.report.QuantizationReport;
import dev.graft.engine.quant.tune.Recipe;
import dev.graft.engine.quant.tune.Tuner;
import dev.graft.engine.save.SavedModel;
import dev.graft.engine.trace.Partition;
import dev.graft.engine.trace.Partitioner;
import dev.graft.engine.trace.TraceConfig;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * The embedding API in one place: quantize a model (with its Java control flow) to INT8, save it, load it, run it.
 * <pre>{@code
 * Graft.Quantized q = Graft.quantize(model, exampleInputs, Graft.Config.dynamic());          // or:
 * Graft.Prepared p = Graft.prepare(model, batches, Graft.Config.staticDefaults());             // observers in
 * p.calibrate(batches);                                                                       // run real data
 * Graft.Quantized q = p.convert();                                                            // INT8 blocks
 * q.save(Path.of("model.graft"));
 * Graft.Quantized loaded = Graft.load(Path.of("model.graft"));
 * Tensor out = loaded.model().call(input);                                                    // thread-safe
 * }</pre>
 * {@code quantize} traces the model fine-grained ({@link Partitioner}): the largest blocks that trace become graphs,
 * the code around them (ifs on tensor values, loops, early exits) stays as written. The blocks are then quantized
 * as {@link Config} says; the model object itself is changed in place and keeps working as before, in INT8.
 * Lower-level steps (custom {@link QConfigMapping}s, reports, layer errors) are in
 * {@code dev.graft.engine.quant.passes} and {@code dev.graft.engine.quant.report}.
 */
public final class Graft {
    private Graft() {
    }

    /** How to quantize: the approach (dynamic, static or QAT) and the per-layer configuration. */
    public record Config(Approach approach, QConfigMapping mapping) {
        public Config {
            Objects.requireNonNull(approach);
            Objects.requireNonNull(mapping);
            if (approach == Approach.FP32) {
                throw new IllegalArgumentException("Graft.Config: FP32 is not a way to quantize");
            }
        }

        /** Dynamic quantization, PyTorch's defaults: Linear weights int8 per channel, activations per call. */
        public static Config dynamic() {
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

        /** The same approach with another mapping (a layer kept FP32, another observer). */
        public Config withMapping(QConfigMapping other) {
            return new Config(approach, other);
        }
    }

    /**
     * One-step quantization. Dynamic needs nothing more; static calibrates on {@code exampleInputs} alone (use
     * {@link #prepare} to calibrate on real data, which is what accuracy needs).
     */
    public static Quantized quantize(Module model, Object[] exampleInputs, Config config) {
        if (config.approach() == Approach.DYNAMIC) {
            Partition p = Partitioner.partition(model, exampleInputs);
            return new Quantized(p, DynamicQuantizer.quantize(p, config.mapping(), false), Approach.DYNAMIC);
        }
        Prepared prepared = prepare(model, exampleInputs, config);
        prepared.calibrate(List.<Object[]>of(exampleInputs));
        return prepared.convert();
    }

    /** Partitions the model and inserts observers (static) or fake-quant modules (QAT) in its traced blocks. */
    public static Prepared prepare(Module model, Object[] exampleInputs, Config config) {
        return prepare(model, List.<Object[]>of(exampleInputs), config);
    }

    /**
     * As above, tracing with several examples: every module any of them reaches becomes part of a traced block
     * (pass batches that take each branch of the model's control flow; the calibration batches do).
     */
    public static Prepared prepare(Module model, List<Object[]> examples, Config config) {
        Partition p = Partitioner.partitionWithExamples(model, examples, TraceConfig.defaults());
        return switch (config.approach()) {
            case STATIC -> new Prepared(StaticQuantizer.prepare(p, config.mapping()), Approach.STATIC);
            case QAT -> new Prepared(StaticQuantizer.prepareQat(p, config.mapping()), Approach.QAT);
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
        return info == null ? null : Recipe.fromInfo(info);
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

    /** A model with observers (or fake-quant modules) in its traced blocks, waiting for data. */
    public static final class Prepared {
        private final StaticQuantizer.Prepared prepared;
        private final Approach approach;

        private Prepared(StaticQuantizer.Prepared prepared, Approach approach) {
            this.prepared = prepared;
            this.approach = approach;
        }

        /** The model (train it here, for QAT). */
        public Module model() {
            return prepared.partition().model();
        }

        /** Runs the whole model on each batch (one {@code callAny} argument list per batch). */
        public Prepared calibrate(Iterable<Object[]> batches) {
            return calibrate(batches, ProgressListener.NONE);
        }

        public Prepared calibrate(Iterable<Object[]> batches, ProgressListener progress) {
            StaticQuantizer.calibrate(prepared, batches, progress);
            return this;
        }

        /** The lower-level handle (observers, fake-quant switches). */
        public StaticQuantizer.Prepared steps() {
            return prepared;
        }

        /** Replaces observed blocks by INT8 ones. */
        public Quantized convert() {
            if (approach == Approach.QAT) {
                prepared.enableObservers(false);
            }
            QuantizationReport r = StaticQuantizer.convert(prepared);
            model().eval();
            return new Quantized(prepared.partition(), r, approach);
        }
    }

    /** A quantized model: call {@link #model()} as before; save it; read its report. */
    public static final class Quantized {
        private final Partition partition;
        private final QuantizationReport report;
        private final Approach approach;

        private Quantized(Partition partition, QuantizationReport report, Approach approach) {
            this.partition = partition;
            this.report = report;
            this.approach = approach;
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
