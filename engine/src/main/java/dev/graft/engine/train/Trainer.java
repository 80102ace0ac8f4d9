package dev.graft.engine.train;

import dev.graft.engine.Module;
import dev.graft.engine.ProgressListener;
import dev.graft.engine.autograd.Autograd;
import dev.graft.ops.F;
import dev.graft.ops.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * A training loop: epochs of shuffled mini-batches (seeded, so a run is reproducible), forward, loss, backward,
 * optimizer step with the learning-rate schedule, and a progress line (loss, accuracy, samples/s) through the
 * {@link ProgressListener} after every batch.
 *
 * <pre>{@code
 * Trainer trainer = new Trainer(model, new Sgd(Optimizer.trainable(model), 0.05, 0.9, 5e-4, true),
 *         LearningRateSchedule.cosine(0.05, steps, 0), Trainer.Objective.crossEntropy(), 128, 42);
 * trainer.fit(train, 3, listener);
 * double accuracy = Trainer.accuracy(model, test, 500);
 * }</pre>
 */
public final class Trainer {
    private final Module model;
    private final Optimizer optimizer;
    private final LearningRateSchedule schedule;
    private final Objective objective;
    private final int batchSize;
    private final Random shuffle;

    /** What a batch contributes: the loss to minimize and the logits accuracy is measured on. */
    public record Output(Tensor loss, Tensor logits) {
    }

    /** Computes a batch's loss from the model, its inputs and labels (the forward pass happens here). */
    @FunctionalInterface
    public interface Objective {
        Output compute(Module model, Tensor inputs, Tensor labels);

        /** Mean cross-entropy of the model's logits. */
        static Objective crossEntropy() {
            return (model, x, y) -> {
                Tensor logits = model.call(x);
                return new Output(F.crossEntropy(logits, y), logits);
            };
        }
    }

    /** One epoch's summary. */
    public record EpochResult(int epoch, double loss, double accuracy, double samplesPerSecond, double seconds) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "epoch %d: loss %.4f, train accuracy %.2f%%, %.0f samples/s, %.1f s",
                    epoch, loss, 100 * accuracy, samplesPerSecond, seconds);
        }
    }

    public Trainer(Module model, Optimizer optimizer, LearningRateSchedule schedule, Objective objective,
                   int batchSize, long seed) {
        if (batchSize <= 0) {
            throw new IllegalArgumentException("batch size must be positive, got " + batchSize);
        }
        Autograd.install();
        this.model = model;
        this.optimizer = optimizer;
        this.schedule = schedule;
        this.objective = objective;
        this.batchSize = batchSize;
        this.shuffle = new Random(seed);
    }

    /** Trains for {@code epochs} epochs; the model is left in training mode. */
    public List<EpochResult> fit(Dataset data, int epochs, ProgressListener listener) {
        List<EpochResult> results = new ArrayList<>();
        for (int e = 1; e <= epochs; e++) {
            results.add(epoch(data, e, epochs, listener));
        }
        return results;
    }

    /** Number of optimizer steps one epoch over {@code examples} takes (for sizing schedules). */
    public static long stepsPerEpoch(int examples, int batchSize) {
        return (examples + batchSize - 1) / batchSize;
    }

    private EpochResult epoch(Dataset data, int epoch, int epochs, ProgressListener listener) {
        model.train(true);
        int n = data.size();
        int[] order = permutation(n);
        long start = System.nanoTime();
        double lossSum = 0;
        long correct = 0;
        int seen = 0;
        for (int from = 0; from < n; from += batchSize) {
            int[] idx = java.util.Arrays.copyOfRange(order, from, Math.min(n, from + batchSize));
            Tensor x = data.inputs(idx);
            Tensor y = data.labels(idx);
            schedule.apply(optimizer, optimizer.steps());
            optimizer.zeroGrad();
            Output out = objective.compute(model, x, y);
            Autograd.backward(out.loss());
            optimizer.step();
            seen += idx.length;
            lossSum += out.loss().item() * idx.length;
            correct += countCorrect(out.logits(), y);
            double seconds = (System.nanoTime() - start) / 1e9;
            listener.progress(seen, n, String.format(Locale.ROOT,
                    "epoch %d/%d  loss %.4f  accuracy %.2f%%  %.0f samples/s  lr %.4g", epoch, epochs,
                    lossSum / seen, 100.0 * correct / seen, seen / Math.max(seconds, 1e-9), optimizer.learningRate()));
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        return new EpochResult(epoch, lossSum / n, (double) correct / n, n / seconds, seconds);
    }

    private int[] permutation(int n) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = shuffle.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }

    /** How many rows of {@code logits} have their maximum at the label (no recording). */
    public static long countCorrect(Tensor logits, Tensor labels) {
        try (var g = Autograd.noGrad()) {
            long[] predicted = logits.argmax(1, false).toLongArray();
            long[] truth = labels.toLongArray();
            long c = 0;
            for (int i = 0; i < truth.length; i++) {
                c += predicted[i] == truth[i] ? 1 : 0;
            }
            return c;
        }
    }

    /**
     * Accuracy of {@code model} on {@code data} in eval mode and without recording, in batches of
     * {@code batchSize}; the model's training flag is restored afterwards.
     */
    public static double accuracy(Module model, Dataset data, int batchSize) {
        boolean training = model.isTraining();
        model.eval();
        long correct = 0;
        try (var g = Autograd.noGrad()) {
            for (int from = 0; from < data.size(); from += batchSize) {
                int[] idx = new int[Math.min(batchSize, data.size() - from)];
                for (int i = 0; i < idx.length; i++) {
                    idx[i] = from + i;
                }
                correct += countCorrect(model.call(data.inputs(idx)), data.labels(idx));
            }
        } finally {
            model.train(training);
        }
        return data.size() == 0 ? 0 : (double) correct / data.size();
    }
}
