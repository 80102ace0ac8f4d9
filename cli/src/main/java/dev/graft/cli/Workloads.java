package dev.graft.cli;

import dev.graft.engine.Module;
import dev.graft.engine.ProgressListener;
import dev.graft.engine.autograd.Autograd;
import dev.graft.engine.quant.Approach;
import dev.graft.engine.trace.Partition;
import dev.graft.engine.trace.PartitionNode;
import dev.graft.engine.trace.Partitioner;
import dev.graft.engine.train.Dataset;
import dev.graft.engine.train.Trainer;
import dev.graft.formats.data.ArffDataset;
import dev.graft.formats.data.ArffReader;
import dev.graft.formats.data.IdxReader;
import dev.graft.formats.image.Images;
import dev.graft.models.QuantizedModel;
import dev.graft.models.bert.ReutersGrain;
import dev.graft.models.bert.SentenceClassifier;
import dev.graft.models.mnist.MnistCnn;
import dev.graft.models.mnist.MnistCnnRecipes;
import dev.graft.models.mnist.MnistCnnWeights;
import dev.graft.models.nanodet.Detection;
import dev.graft.models.nanodet.NanoDetDetector;
import dev.graft.models.nanodet.NanoDetImages;
import dev.graft.models.nanodet.NanoDetRecipes;
import dev.graft.ops.Tensor;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The three workloads of the results table, each with its FP32 model (weights shipped with the build), its data,
 * its quantization recipes and its score:
 * <ul>
 *   <li>{@code reuters}: MiniLM-L6 + mean pooling + the Reuters Grain head ({@link SentenceClassifier}); dynamic,
 *       static and QAT; accuracy on the 604 Grain test documents.</li>
 *   <li>{@code cnn}: the MNIST CNN; static and QAT; accuracy on the 10,000 MNIST test images.</li>
 *   <li>{@code nanodet}: NanoDet-g; static; detection agreement with FP32 (F1 at IoU 0.5) over the photos.</li>
 * </ul>
 * The recipes are the ones measured in {@code docs/RESULTS.md} ({@code ./graft accuracy}); the data come from
 * {@link DataSources} (../shared/data, or fetched once into a cache).
 */
final class Workloads {
    static final List<String> NAMES = List.of("reuters", "cnn", "nanodet");
    private static final long SEED = 20240601L;

    private Workloads() {
    }

    static Workload get(String name) {
        return switch (name) {
            case "reuters", "minilm-reuters" -> new Reuters();
            case "cnn", "mnist" -> new Cnn();
            case "nanodet" -> new NanoDet();
            default -> throw new UsageException("unknown workload '" + name + "' (choose one of " + NAMES + ")");
        };
    }

    /** The workload a loaded model belongs to, by its class. */
    static Workload of(Module model) {
        return switch (model) {
            case SentenceClassifier s -> new Reuters();
            case MnistCnn c -> new Cnn();
            case NanoDetDetector d -> new NanoDet();
            default -> throw new UsageException("no dataset is known for a " + model.getClass().getSimpleName()
                    + " (eval knows the reference models: " + NAMES + ")");
        };
    }

    /** How much of the data the recipes use (the demo trims QAT; the accuracy command uses everything). */
    record Budget(int calibration, int qatSamples, int qatEpochs) {
        static Budget full() {
            return new Budget(-1, -1, -1);
        }
    }

    /** A score and how to print it. */
    record Score(double value, String text) {
    }

    abstract static class Workload {
        abstract String name();

        /** The row name in the table. */
        abstract String title();

        abstract List<Approach> approaches();

        /** What {@link #score} measures. */
        abstract String metric();

        /** A fresh FP32 model with the shipped weights, in eval mode. */
        abstract Module fp32() throws IOException;

        /** The inputs the partitioner traces with. */
        abstract Object[] example() throws IOException;

        abstract QuantizedModel quantize(Approach approach, Budget budget, ProgressListener progress)
                throws IOException;

        /** What {@link #quantize} will do, in a few words, for the line printed before it runs. */
        abstract String plan(Approach approach, Budget budget);

        /** The model's score on the workload's test data ({@code reference}: the FP32 model, for agreement metrics). */
        abstract Score score(Module model, Module reference, ProgressListener progress) throws IOException;

        /** One call's inputs at {@code batch} samples, for latency; null when the model takes one sample only. */
        abstract Object[] latencyInput(int batch) throws IOException;

        Partition partition(Module model) throws IOException {
            return Partitioner.partition(model, example());
        }

        void requireApproach(Approach approach) {
            if (!approaches().contains(approach)) {
                throw new UsageException(title() + " supports --approach " + String.join("|",
                        approaches().stream().map(Approach::label).toList()) + ", not " + approach.label());
            }
        }
    }

    /** "3 traced / 2 eager": traced blocks and modules left eager (control flow, untraceable, eager leaves). */
    static String blocks(Partition p) {
        int traced = 0;
        int eager = 0;
        for (PartitionNode n : p.tree().flatten()) {
            if (n.status() == PartitionNode.Status.TRACED) {
                traced++;
            } else if (DemoModels.EAGER.contains(n.status())) {
                eager++;
            }
        }
        return traced + " / " + eager;
    }

    private static double argmaxAccuracy(Module model, List<Object[]> batches, List<long[]> labels,
                                         ProgressListener progress, String what) {
        long correct = 0;
        long total = 0;
        try (var g = Autograd.noGrad()) {
            for (int i = 0; i < batches.size(); i++) {
                Tensor logits = model.call(asTensors(batches.get(i)));
                long[] y = labels.get(i);
                correct += Trainer.countCorrect(logits, Tensor.ofLongs(y, y.length));
                total += y.length;
                progress.progress(i + 1, batches.size(), what);
            }
        }
        return (double) correct / total;
    }

    private static Tensor[] asTensors(Object[] in) {
        Tensor[] out = new Tensor[in.length];
        for (int i = 0; i < in.length; i++) {
            out[i] = (Tensor) in[i];
        }
        return out;
    }

    // ================================================================ MiniLM + Reuters Grain

    static final class Reuters extends Workload {
        private static final int BATCH = 32;
        private List<String> trainTexts;
        private int[] trainLabels;
        private List<String> testTexts;
        private List<Object[]> testBatches;
        private List<long[]> testLabels;

        String name() {
            return "reuters";
        }

        String title() {
            return "MiniLM-Reuters";
        }

        List<Approach> approaches() {
            return List.of(Approach.DYNAMIC, Approach.STATIC, Approach.QAT);
        }

        String metric() {
            return "accuracy on the 604 Reuters Grain test documents";
        }

        Module fp32() throws IOException {
            return ReutersGrain.classifier();
        }

        private void loadTrain() throws IOException {
            if (trainTexts == null) {
                ArffDataset train = ArffReader.read(TrainCommand.findArff(DataSources.reuters(), "Grain", "train"));
                trainTexts = train.strings("Text");
                trainLabels = train.nominalIndices(train.classAttribute());
            }
        }

        private void loadTest() throws IOException {
            if (testBatches == null) {
                ArffDataset test = ArffReader.read(TrainCommand.findArff(DataSources.reuters(), "Grain", "test"));
                List<String> texts = test.strings("Text");
                testTexts = texts;
                int[] labels = test.nominalIndices(test.classAttribute());
                testBatches = new ArrayList<>();
                testLabels = new ArrayList<>();
                for (int from = 0; from < texts.size(); from += BATCH) {
                    int to = Math.min(texts.size(), from + BATCH);
                    testBatches.add(ReutersGrain.encode(texts.subList(from, to)));
                    long[] y = new long[to - from];
                    for (int i = 0; i < y.length; i++) {
                        y[i] = labels[from + i];
                    }
                    testLabels.add(y);
                }
            }
        }

        /** The test set in batches of 32 (token ids, mask, token types) and their labels. */
        List<Object[]> testBatches() throws IOException {
            loadTest();
            return testBatches;
        }

        List<long[]> testLabels() throws IOException {
            loadTest();
            return testLabels;
        }

        Object[] example() throws IOException {
            loadTrain();
            return ReutersGrain.encode(trainTexts.subList(0, 2));
        }

        Object[] latencyInput(int batch) throws IOException {
            loadTest();
            List<String> texts = new ArrayList<>();
            for (int i = 0; i < batch; i++) {
                texts.add(testTexts.get(i % testTexts.size()));
            }
            return ReutersGrain.encode(texts);
        }

        String plan(Approach approach, Budget budget) {
            int calib = budget.calibration() > 0 ? budget.calibration() : 64;
            int epochs = budget.qatEpochs() > 0 ? budget.qatEpochs() : 10;
            return switch (approach) {
                case DYNAMIC -> "INT8 weights, activation scales computed at each call (no calibration)";
                case STATIC -> "calibrating on " + calib + " training documents";
                default -> "static INT8 encoder (" + calib + " documents), then the Grain head trained under fake"
                        + " quantization: the training documents embedded once, then " + epochs + " epochs";
            };
        }

        QuantizedModel quantize(Approach approach, Budget budget, ProgressListener progress) throws IOException {
            requireApproach(approach);
            loadTrain();
            Partition p = partition(fp32());
            if (approach == Approach.DYNAMIC) {
                return ReutersGrain.dynamic(p);
            }
            int calib = budget.calibration() > 0 ? budget.calibration() : 64;
            List<Object[]> batches = ReutersGrain.calibrationBatches(trainTexts, calib);
            if (approach == Approach.STATIC) {
                return ReutersGrain.staticInt8(p, batches, progress);
            }
            int n = budget.qatSamples() > 0 ? Math.min(budget.qatSamples(), trainTexts.size()) : trainTexts.size();
            int epochs = budget.qatEpochs() > 0 ? budget.qatEpochs() : 10;
            return ReutersGrain.qat(p, batches, trainTexts.subList(0, n), trainLabels, epochs, progress);
        }

        Score score(Module model, Module reference, ProgressListener progress) throws IOException {
            loadTest();
            double acc = argmaxAccuracy(model, testBatches, testLabels, progress, "Reuters test documents");
            return new Score(acc, String.format(Locale.ROOT, "%.2f%%", 100 * acc));
        }
    }

    // ================================================================ MNIST CNN

    static final class Cnn extends Workload {
        private Tensor calibration;
        private List<Object[]> testBatches;
        private List<long[]> testLabels;

        String name() {
            return "cnn";
        }

        String title() {
            return "MNIST CNN";
        }

        List<Approach> approaches() {
            return List.of(Approach.STATIC, Approach.QAT);
        }

        String metric() {
            return "accuracy on the 10,000 MNIST test images";
        }

        Module fp32() throws IOException {
            // Exit head disabled (threshold above 1): every image takes the full path, as in docs/RESULTS.md. The
            // exit's data-dependent test still runs, so the root stays eager glue.
            MnistCnn m = MnistCnnWeights.bundled(2f);
            if (m == null) {
                throw new IOException("no bundled MNIST weights (run ./graft train mnist)");
            }
            return m;
        }

        private Tensor calibration() throws IOException {
            if (calibration == null) {
                Path dir = DataSources.mnist();
                calibration = IdxReader.readImages(DataSources.mnistFile(dir, "train-images-idx3-ubyte"), 512);
            }
            return calibration;
        }

        Object[] example() throws IOException {
            return new Object[] {calibration().narrow(0, 0, 2)};
        }

        Object[] latencyInput(int batch) throws IOException {
            return new Object[] {calibration().narrow(0, 0, batch).contiguous()};
        }

        String plan(Approach approach, Budget budget) {
            int n = budget.calibration() > 0 ? Math.min(budget.calibration(), 512) : 512;
            int images = budget.qatSamples() > 0 ? budget.qatSamples() : 10_000;
            return approach == Approach.STATIC ? "calibrating on " + n + " training images"
                    : "calibrating on " + n + " training images, then one pass of quantization-aware training over "
                    + String.format(Locale.ROOT, "%,d", images) + " training images";
        }

        QuantizedModel quantize(Approach approach, Budget budget, ProgressListener progress) throws IOException {
            requireApproach(approach);
            Tensor calib = calibration();
            int n = budget.calibration() > 0 ? Math.min(budget.calibration(), calib.size(0)) : calib.size(0);
            List<Object[]> batches = new ArrayList<>();
            for (int start = 0; start < n; start += 128) {
                batches.add(new Object[] {calib.narrow(0, start, Math.min(128, n - start))});
            }
            Partition p = partition(fp32());
            if (approach == Approach.STATIC) {
                return MnistCnnRecipes.staticInt8(p, batches, progress);
            }
            int images = budget.qatSamples() > 0 ? budget.qatSamples() : 10_000;
            Path dir = DataSources.mnist();
            Dataset train = new Dataset(IdxReader.readImages(DataSources.mnistFile(dir, "train-images-idx3-ubyte"), images),
                    IdxReader.readLabels(DataSources.mnistFile(dir, "train-labels-idx1-ubyte"), images));
            return MnistCnnRecipes.qat(p, batches, train, progress);
        }

        Score score(Module model, Module reference, ProgressListener progress) throws IOException {
            if (testBatches == null) {
                Path dir = DataSources.mnist();
                Tensor images = IdxReader.readImages(DataSources.mnistFile(dir, "t10k-images-idx3-ubyte"), Integer.MAX_VALUE);
                Tensor labels = IdxReader.readLabels(DataSources.mnistFile(dir, "t10k-labels-idx1-ubyte"), Integer.MAX_VALUE);
                long[] all = labels.toLongArray();
                testBatches = new ArrayList<>();
                testLabels = new ArrayList<>();
                for (int from = 0; from < images.size(0); from += 500) {
                    int n = Math.min(500, images.size(0) - from);
                    testBatches.add(new Object[] {images.narrow(0, from, n).contiguous()});
                    testLabels.add(java.util.Arrays.copyOfRange(all, from, from + n));
                }
            }
            double acc = argmaxAccuracy(model, testBatches, testLabels, progress, "MNIST test images");
            return new Score(acc, String.format(Locale.ROOT, "%.2f%%", 100 * acc));
        }
    }

    // ================================================================ NanoDet

    static final class NanoDet extends Workload {
        private List<Path> photos;
        private final List<NanoDetImages.Fitted> fitted = new ArrayList<>();

        String name() {
            return "nanodet";
        }

        String title() {
            return "NanoDet";
        }

        List<Approach> approaches() {
            return List.of(Approach.STATIC);
        }

        String metric() {
            return "detection agreement with FP32 (F1 at IoU 0.5) over the photos";
        }

        Module fp32() throws IOException {
            return ReferenceModels.nanodet().model();
        }

        List<Path> photos() throws IOException {
            if (photos == null) {
                photos = new ArrayList<>();
                try (DirectoryStream<Path> ds = Files.newDirectoryStream(DataSources.photos(), "*.jpg")) {
                    ds.forEach(photos::add);
                }
                photos.sort(null);
                for (Path p : photos) {
                    fitted.add(NanoDetImages.letterbox(Images.read(p), 416));
                }
            }
            return photos;
        }

        private Object[] input(int i) {
            NanoDetImages.Fitted f = fitted.get(i);
            return new Object[] {f.tensor(), f.letterbox().photoWidth(), f.letterbox().photoHeight()};
        }

        Object[] example() throws IOException {
            photos();
            return input(0);
        }

        Object[] latencyInput(int batch) throws IOException {
            return batch == 1 ? example() : null;
        }

        String plan(Approach approach, Budget budget) {
            int n = NanoDetRecipes.CALIBRATION_PHOTOS.size();
            return "calibrating on " + (budget.calibration() > 0 ? Math.min(n, budget.calibration()) : n) + " photos";
        }

        QuantizedModel quantize(Approach approach, Budget budget, ProgressListener progress) throws IOException {
            requireApproach(approach);
            List<Path> all = photos();
            List<String> chosen = NanoDetRecipes.CALIBRATION_PHOTOS;
            List<Object[]> batches = new ArrayList<>();
            for (int i = 0; i < all.size(); i++) {
                if (chosen.contains(all.get(i).getFileName().toString()) || all.size() < chosen.size()) {
                    batches.add(input(i));
                }
            }
            if (batches.isEmpty()) {
                batches.add(input(0));
            }
            if (budget.calibration() > 0 && budget.calibration() < batches.size()) {
                batches = new ArrayList<>(batches.subList(0, budget.calibration()));
            }
            return NanoDetRecipes.staticInt8(partition(fp32()), batches, progress);
        }

        Score score(Module model, Module reference, ProgressListener progress) throws IOException {
            List<Path> all = photos();
            int matched = 0;
            int got = 0;
            int want = 0;
            for (int i = 0; i < all.size(); i++) {
                Object[] in = input(i);
                @SuppressWarnings("unchecked")
                List<Detection> mine = (List<Detection>) model.callAny(in);
                @SuppressWarnings("unchecked")
                List<Detection> ref = (List<Detection>) reference.callAny(in);
                matched += Detection.countMatches(mine, ref, 0.5f);
                got += mine.size();
                want += ref.size();
                progress.progress(i + 1, all.size(), "photos");
            }
            double precision = got == 0 ? (want == 0 ? 1 : 0) : (double) matched / got;
            double recall = want == 0 ? (got == 0 ? 1 : 0) : (double) matched / want;
            double f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
            return new Score(f1, String.format(Locale.ROOT, "F1 %.3f", f1));
        }

        /** The photos as images (for the report's drawings). */
        List<BufferedImage> images() throws IOException {
            List<BufferedImage> out = new ArrayList<>();
            for (Path p : photos()) {
                out.add(Images.read(p));
            }
            return out;
        }
    }
}
