package dev.graft.engine.quant.tune;

import dev.graft.engine.Module;
import dev.graft.engine.ProgressListener;
import dev.graft.engine.quant.passes.SmoothQuant;
import dev.graft.engine.quant.report.LayerErrorReport;
import dev.graft.engine.quant.report.QuantizationReport;
import dev.graft.engine.trace.Partition;
import dev.graft.engine.trace.Partitioner;
import dev.graft.engine.trace.TraceConfig;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * Accuracy-aware tuning of static INT8, in the manner of Intel Neural Compressor's basic strategy: the user gives a
 * way to score a model and a tolerance; trials quantize a fresh copy of the FP32 model with one recipe each
 * ({@link Recipe#apply}: SmoothQuant, prepare, calibrate, convert) and are scored, until the criterion holds, then
 * the FP32 operators are tried back in INT8 one group at a time so the result keeps as few as it can. The order:
 * <ol>
 *   <li>the default recipe ({@link TransformerDefaults#recipe}: the transformer patterns, else the generic one);</li>
 *   <li>SmoothQuant with other alphas (when the model has Linears to smooth);</li>
 *   <li>the other activation observers (min/max, moving average, histogram, percentile), for all tensors at once;</li>
 *   <li>per-tensor instead of per-channel weights;</li>
 *   <li>operator-wise FP32 fallback, the operators ranked by the SQNR of each INT8 layer against its FP32 original
 *       (the worst first), greedy: a fallback that does not raise the score is undone;</li>
 *   <li>once the criterion holds: each group of FP32 operators (by kind: LayerNorm, add, GELU, ...) re-quantized,
 *       then, for a group that fails, its operators one by one, keeping every change that still meets it.</li>
 * </ol>
 * Each phase starts from the best recipe so far. The SmoothQuant statistics of the FP32 model are measured once and
 * reused. Trials stop at the budget (trials or time); the result is the best trial that met the criterion (fewest
 * FP32 operators, then the highest score), else the highest score, with its recipe and the whole trajectory.
 */
public final class Tuner {
    private Tuner() {
    }

    /** Scores a model on the user's data: accuracy, F1, a similarity; higher is better (negate a loss). */
    @FunctionalInterface
    public interface Evaluator {
        double score(Module model);
    }

    /** How much the INT8 score may fall below the FP32 score: relative (a fraction of it) or absolute. */
    public record Criterion(boolean relative, double tolerance) {
        public Criterion {
            if (!(tolerance >= 0) || Double.isInfinite(tolerance)) {
                throw new IllegalArgumentException("tuning criterion: tolerance must be a finite number >= 0, got "
                        + tolerance);
            }
        }

        /** Loss relative to the FP32 score: {@code (fp32 - int8) / |fp32| <= fraction} (0.01 for 1%). */
        public static Criterion relativeLoss(double fraction) {
            return new Criterion(true, fraction);
        }

        /** Absolute loss: {@code fp32 - int8 <= amount}. */
        public static Criterion absoluteLoss(double amount) {
            return new Criterion(false, amount);
        }

        public double loss(double fp32, double score) {
            return relative ? (fp32 - score) / Math.max(Math.abs(fp32), 1e-12) : fp32 - score;
        }

        public boolean accepts(double fp32, double score) {
            return !Double.isNaN(score) && loss(fp32, score) <= tolerance + 1e-12;
        }

        @Override
        public String toString() {
            return relative ? String.format(Locale.ROOT, "relative loss <= %.2f%%", 100 * tolerance)
                    : String.format(Locale.ROOT, "absolute loss <= %.4g", tolerance);
        }
    }

    /** When to stop: after this many trials or once this much time has passed, whichever comes first. */
    public record Budget(int trials, Duration time) {
        public Budget {
            if (trials < 1) {
                throw new IllegalArgumentException("tuning budget: at least one trial, got " + trials);
            }
            Objects.requireNonNull(time, "time");
            if (time.isNegative() || time.isZero()) {
                throw new IllegalArgumentException("tuning budget: time must be positive, got " + time);
            }
        }

        /** 40 trials or 60 minutes. */
        public static Budget defaults() {
            return new Budget(40, Duration.ofMinutes(60));
        }
    }

    /** One row of the trajectory. */
    public record Trial(int number, String change, double score, double loss, boolean meets, int int8Ops,
                        int fp32Ops, int fallbacks, long bytes, double latencyMs, double seconds, String error) {
    }

    /** The outcome: the chosen quantized model and recipe, the FP32 score, the trajectory. */
    public record Result(Partition partition, QuantizationReport report, Recipe recipe, double fp32Score,
                         double fp32LatencyMs, Trial chosen, List<Trial> trajectory, boolean met,
                         Criterion criterion, Duration elapsed) {
        /** The quantized model (its blocks INT8 as {@link #recipe} says). */
        public Module model() {
            return partition.model();
        }

        /** The trajectory as a Markdown table, the chosen trial marked. */
        public String table() {
            StringBuilder sb = new StringBuilder();
            sb.append(String.format(Locale.ROOT, "FP32 score %.4f, latency %.1f ms; criterion: %s%n", fp32Score,
                    fp32LatencyMs, criterion));
            sb.append("| trial | what changed | score | loss vs FP32 | meets | INT8 ops | FP32 ops | fallbacks | size |"
                    + " latency ms | s |\n");
            sb.append("| ---: | --- | ---: | ---: | :---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
            for (Trial t : trajectory) {
                boolean mark = chosen != null && t.number() == chosen.number();
                if (t.error() != null) {
                    sb.append(String.format(Locale.ROOT, "| %d | %s | failed: %s | | | | | | | | %.0f |%n",
                            t.number(), t.change(), t.error(), t.seconds()));
                    continue;
                }
                String loss = criterion.relative() ? String.format(Locale.ROOT, "%.2f%%", 100 * t.loss())
                        : String.format(Locale.ROOT, "%.4g", t.loss());
                String size = t.bytes() >= 1e6 ? String.format(Locale.ROOT, "%.1f MB", t.bytes() / 1e6)
                        : String.format(Locale.ROOT, "%.1f kB", t.bytes() / 1e3);
                sb.append(String.format(Locale.ROOT, "| %s%d | %s | %.4f | %s | %s | %d | %d | %d | %s | %.1f | %.0f |%n",
                        mark ? "**" : "", t.number(), t.change() + (mark ? "**" : ""), t.score(), loss,
                        t.meets() ? "yes" : "no", t.int8Ops(), t.fp32Ops(), t.fallbacks(), size, t.latencyMs(),
                        t.seconds()));
            }
            sb.append(String.format(Locale.ROOT, "%s after %d trials in %.1f min: trial %s, %s%n",
                    met ? "criterion met" : "criterion NOT met", trajectory.size(), elapsed.toMillis() / 60000.0,
                    chosen == null ? "-" : chosen.number(), recipe.summary()));
            return sb.toString();
        }
    }

    /**
     * Tunes static INT8 for the model {@code model} makes (a fresh FP32 copy per trial, in eval mode), calibrated on
     * {@code calibration} (one {@code callAny} argument list per batch; also the tracing examples), until
     * {@code evaluator}'s score meets {@code criterion} against the FP32 score, within {@code budget}. Progress is
     * reported after every trial (done = trials so far, total = the trial budget).
     */
    public static Result tune(Supplier<? extends Module> model, List<Object[]> calibration, Evaluator evaluator,
                              Criterion criterion, Budget budget, ProgressListener progress) {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(evaluator, "evaluator");
        if (calibration.isEmpty()) {
            throw new IllegalArgumentException("tuning needs at least one calibration batch");
        }
        return new Run(model, calibration, evaluator, criterion, budget, progress).run();
    }

    /** One tuning run's state: the trials so far, the best ones, the reusable SmoothQuant statistics. */
    private static final class Run {
        final Supplier<? extends Module> factory;
        final List<Object[]> calibration;
        final Evaluator evaluator;
        final Criterion criterion;
        final Budget budget;
        final ProgressListener progress;
        final long start = System.nanoTime();
        final List<Trial> trials = new ArrayList<>();
        SmoothQuant.Statistics statistics;
        double fp32Score;
        double fp32Latency;
        /** The best trial meeting the criterion (fewest fallbacks, then score), its recipe and model. */
        Trial chosen;
        Recipe chosenRecipe;
        Partition chosenPartition;
        QuantizationReport chosenReport;
        /** The highest-scoring trial, for when nothing meets the criterion. */
        Trial bestScore;
        Recipe bestScoreRecipe;
        Partition bestScorePartition;
        QuantizationReport bestScoreReport;

        Run(Supplier<? extends Module> factory, List<Object[]> calibration, Evaluator evaluator, Criterion criterion,
            Budget budget, ProgressListener progress) {
            this.factory = factory;
            this.calibration = List.copyOf(calibration);
            this.evaluator = evaluator;
            this.criterion = Objects.requireNonNull(criterion, "criterion");
            this.budget = Objects.requireNonNull(budget, "budget");
            this.progress = Objects.requireNonNull(progress, "progress");
        }

        Result run() {
            Module fp32 = fresh();
            fp32Score = evaluator.score(fp32);
            fp32Latency = latency(fp32);
            Partition first = Partitioner.partitionWithExamples(fresh(), calibration, TraceConfig.defaults());
            Recipe current = TransformerDefaults.recipe(first);
            boolean smoothable = !current.smoothed(first).isEmpty() || current.smoothQuant();
            trial("default recipe: " + current.summary(), current, first);
            if (!met() && smoothable) {
                current = sweepSmoothQuant(current);
            }
            if (!met()) {
                current = sweepObservers(current);
            }
            if (!met() && current.perChannelWeights()) {
                current = better(current, current.withPerChannelWeights(false), "per-tensor weights");
            }
            if (!met()) {
                current = fallBack(current);
            }
            if (met()) {
                requantize();
            }
            boolean met = chosen != null;
            Duration elapsed = Duration.ofNanos(System.nanoTime() - start);
            return met ? new Result(chosenPartition, chosenReport, chosenRecipe, fp32Score, fp32Latency, chosen,
                    List.copyOf(trials), true, criterion, elapsed)
                    : new Result(bestScorePartition, bestScoreReport, bestScoreRecipe, fp32Score, fp32Latency,
                    bestScore, List.copyOf(trials), false, criterion, elapsed);
        }

        boolean met() {
            return chosen != null;
        }

        boolean canRun() {
            return trials.size() < budget.trials()
                    && System.nanoTime() - start < budget.time().toNanos();
        }

        Module fresh() {
            Module m = factory.get();
            m.eval();
            return m;
        }

        /** Tries alphas around the current one (or 0.5 first when it was off); keeps the best-scoring. */
        Recipe sweepSmoothQuant(Recipe current) {
            double[] alphas = current.smoothQuant() ? new double[] {0.5, 0.6, 0.85} : new double[] {0.5, 0.75};
            Recipe best = current;
            for (double a : alphas) {
                if (met() || !canRun()) {
                    break;
                }
                if (current.smoothQuant() && Math.abs(a - current.smoothQuantAlpha()) < 1e-9) {
                    continue;
                }
                best = better(best, current.withSmoothQuant(a), "SmoothQuant alpha " + a);
            }
            return best;
        }

        Recipe sweepObservers(Recipe current) {
            Recipe best = current;
            for (Recipe.ActivationObserver o : Recipe.ActivationObserver.values()) {
                if (met() || !canRun()) {
                    break;
                }
                if (o != current.observer()) {
                    best = better(best, current.withObserver(o), o.label() + " observers");
                }
            }
            return best;
        }

        /** Runs {@code candidate}; returns it when it scored higher than {@code current}'s trial, else current. */
        Recipe better(Recipe current, Recipe candidate, String change) {
            double before = scoreOf(current);
            Trial t = trial(change, candidate, null);
            return t != null && t.error() == null && t.score() > before ? candidate : current;
        }

        final Map<Recipe, Double> scores = new LinkedHashMap<>();

        double scoreOf(Recipe r) {
            return scores.getOrDefault(r, Double.NEGATIVE_INFINITY);
        }

        /**
         * Operator-wise FP32 fallback from {@code current}: the INT8 layers ranked by SQNR (worst first) on its
         * model, then each one FP32 in turn, keeping a fallback only when the score rises, until the criterion holds.
         */
        Recipe fallBack(Recipe current) {
            if (!canRun()) {
                return current;
            }
            List<String> ranked = sensitivity(current);
            for (String op : ranked) {
                if (met() || !canRun()) {
                    break;
                }
                current = better(current, current.with(op, Recipe.Choice.FP32), "fall back " + op);
            }
            return current;
        }

        /** The INT8 layers of {@code recipe}'s model, worst SQNR first (measured on the first calibration batch). */
        List<String> sensitivity(Recipe recipe) {
            Partition p = Partitioner.partitionWithExamples(fresh(), calibration, TraceConfig.defaults());
            QuantizationReport r = recipe.apply(p, calibration, statistics(p, recipe), ProgressListener.NONE);
            LayerErrorReport errors = LayerErrorReport.measure(p.model(), r.originals(),
                    () -> p.model().callAny(calibration.get(0)));
            List<String> out = new ArrayList<>();
            errors.rows().forEach(row -> out.add(row.path()));
            return out;
        }

        /**
         * With the criterion met: every FP32 operator of the chosen recipe back to INT8, by groups of one kind
         * (LayerNorm, add, GELU: the text after the last '.' or '#', digits dropped), then one by one within a group
         * that failed. Each change that still meets the criterion is kept.
         */
        void requantize() {
            Map<String, List<String>> groups = new LinkedHashMap<>();
            for (String op : chosenRecipe.fp32()) {
                groups.computeIfAbsent(kind(op), k -> new ArrayList<>()).add(op);
            }
            for (Map.Entry<String, List<String>> g : groups.entrySet()) {
                if (!canRun()) {
                    return;
                }
                Recipe all = chosenRecipe;
                for (String op : g.getValue()) {
                    all = all.with(op, Recipe.Choice.INT8);
                }
                Trial t = trial(g.getValue().size() == 1 ? "re-quantize " + g.getValue().get(0)
                        : "re-quantize all " + g.getValue().size() + " " + g.getKey(), all, null);
                if (t != null && t.meets() || g.getValue().size() == 1) {
                    continue;
                }
                for (String op : g.getValue()) {
                    if (!canRun()) {
                        return;
                    }
                    if (chosenRecipe.fp32().contains(op)) {
                        trial("re-quantize " + op, chosenRecipe.with(op, Recipe.Choice.INT8), null);
                    }
                }
            }
        }

        static String kind(String op) {
            int cut = Math.max(op.lastIndexOf('.'), op.lastIndexOf('#'));
            String tail = op.substring(cut + 1);
            return tail.replaceAll("_\\d+$", "").replaceAll("\\d+$", "");
        }

        SmoothQuant.Statistics statistics(Partition fp32Partition, Recipe recipe) {
            if (recipe.smoothQuant() && statistics == null) {
                statistics = SmoothQuant.observe(fp32Partition, calibration, ProgressListener.NONE);
            }
            return statistics;
        }

        /** One trial: quantize a fresh model (or {@code partition}, still FP32) with {@code recipe}, score it. */
        Trial trial(String change, Recipe recipe, Partition partition) {
            if (!canRun()) {
                return null;
            }
            long t0 = System.nanoTime();
            int number = trials.size() + 1;
            Trial t;
            try {
                Partition p = partition != null ? partition
                        : Partitioner.partitionWithExamples(fresh(), calibration, TraceConfig.defaults());
                QuantizationReport report = recipe.apply(p, calibration, statistics(p, recipe), ProgressListener.NONE);
                double score = evaluator.score(p.model());
                int int8 = report.blocks().stream().mapToInt(QuantizationReport.Block::int8Count).sum();
                int fp32 = report.blocks().stream().mapToInt(QuantizationReport.Block::fp32Count).sum();
                t = new Trial(number, change, score, criterion.loss(fp32Score, score),
                        criterion.accepts(fp32Score, score), int8, fp32, recipe.fp32().size(), report.modelBytes(),
                        latency(p.model()), (System.nanoTime() - t0) / 1e9, null);
                scores.put(recipe, score);
                keep(t, recipe, p, report);
            } catch (RuntimeException e) {
                t = new Trial(number, change, Double.NaN, Double.NaN, false, 0, 0, recipe.fp32().size(), 0, 0,
                        (System.nanoTime() - t0) / 1e9, e.getClass().getSimpleName() + ": " + e.getMessage());
            }
            trials.add(t);
            progress.progress(number, budget.trials(), String.format(Locale.ROOT, "trial %d: %s -> %s", number,
                    change, t.error() != null ? "failed" : String.format(Locale.ROOT, "score %.4f (loss %.2f%%)%s",
                            t.score(), 100 * t.loss(), t.meets() ? ", meets" : "")));
            return t;
        }

        void keep(Trial t, Recipe recipe, Partition p, QuantizationReport report) {
            if (t.meets() && (chosen == null || t.fallbacks() < chosen.fallbacks()
                    || t.fallbacks() == chosen.fallbacks() && t.score() > chosen.score())) {
                chosen = t;
                chosenRecipe = recipe;
                chosenPartition = p;
                chosenReport = report;
            }
            if (bestScore == null || t.score() > bestScore.score()) {
                bestScore = t;
                bestScoreRecipe = recipe;
                bestScorePartition = p;
                bestScoreReport = report;
            }
        }

        /** The best of three calls on the first calibration batch, after one warm-up call. */
        double latency(Module m) {
            Object[] in = calibration.get(0);
            m.callAny(in);
            long best = Long.MAX_VALUE;
            for (int i = 0; i < 3; i++) {
                long t0 = System.nanoTime();
                m.callAny(in);
                best = Math.min(best, System.nanoTime() - t0);
            }
            return best / 1e6;
        }
    }
}
