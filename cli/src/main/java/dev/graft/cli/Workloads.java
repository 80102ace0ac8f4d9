package dev.graft.cli;

import dev.graft.engine.Init;
import dev.graft.engine.Module;
import dev.graft.engine.ProgressListener;
import dev.graft.engine.autograd.Autograd;
import dev.graft.engine.nn.Linear;
import dev.graft.engine.nn.Sequential;
import dev.graft.engine.quant.QConfig;
import dev.graft.engine.quant.QConfigMapping;
import dev.graft.engine.quant.convert.DynamicQuantizer;
import dev.graft.engine.quant.convert.QatOptions;
import dev.graft.engine.quant.convert.QuantizationReport;
import dev.graft.engine.quant.convert.StaticQuantizer;
import dev.graft.engine.train.AdamW;
import dev.graft.engine.train.Dataset;
import dev.graft.engine.train.LearningRateSchedule;
import dev.graft.engine.train.Optimizer;
import dev.graft.engine.train.Sgd;
import dev.graft.engine.train.Trainer;
import dev.graft.engine.trace.Partition;
import dev.graft.engine.trace.PartitionNode;
import dev.graft.engine.trace.Partitioner;
import dev.graft.formats.data.ArffDataset;
import dev.graft.formats.data.ArffReader;
import dev.graft.formats.data.IdxReader;
import dev.graft.formats.image.Images;
import dev.graft.formats.models.MiniLm;
import dev.graft.formats.text.BertTokenizer;
import dev.graft.models.bert.BertModel;
import dev.graft.models.bert.SentenceClassifier;
import dev.graft.models.mnist.MnistCnn;
import dev.graft.models.nanodet.Detection;
import dev.graft.models.nanodet.NanoDetDetector;
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

    /** A quantized copy of a workload's model and how it was made. */
    record Quantized(String approach, Partition partition, QuantizationReport report, String recipe) {
        Module model() {
            return partition.model();
        }
    }

    /** A score and how to print it. */
    record Score(double value, String text) {
    }

    abstract static class Workload {
        abstract String name();

        /** The row name in the table. */
        abstract String title();

        abstract List<String> approaches();

        /** What {@link #score} measures. */
        abstract String metric();

        /** A fresh FP32 model with the shipped weights, in eval mode. */
        abstract Module fp32() throws IOException;

        /** The inputs the partitioner traces with. */
        abstract Object[] example() throws IOException;

        abstract Quantized quantize(String approach, Budget budget, ProgressListener progress) throws IOException;

        /** The model's score on the workload's test data ({@code reference}: the FP32 model, for agreement metrics). */
        abstract Score score(Module model, Module reference, ProgressListener progress) throws IOException;

        /** One call's inputs at {@code batch} samples, for latency; null when the model takes one sample only. */
        abstract Object[] latencyInput(int batch) throws IOException;

        Partition partition(Module model) throws IOException {
            return Partitioner.partition(model, example());
        }

        void requireApproach(String approach) {
            if (!approaches().contains(approach)) {
                throw new UsageException(title() + " supports --approach " + String.join("|", approaches())
                        + ", not " + approach);
            }
        }
    }

    /** "3 traced / 2 eager": traced blocks and modules left eager (control flow, untraceable, eager leaves). */
    static String blocks(Partition p) {
        int traced = 0;
        int eager = 0;
        for (PartitionNode n : p.tree().flatten()) {
            switch (n.status()) {
                case TRACED -> traced++;
                case EAGER_CONTROL_FLOW, EAGER_UNTRACEABLE, EAGER_LEAF, NON_TRACEABLE -> eager++;
                default -> {
                }
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

        List<String> approaches() {
            return List.of("dynamic", "static", "qat");
        }

        String metric() {
            return "accuracy on the 604 Reuters Grain test documents";
        }

        Module fp32() throws IOException {
            if (!MiniLm.available()) {
                throw new IOException("MiniLM is not on the class path (" + MiniLm.MAVEN_COORDINATE + ")");
            }
            Linear head = TrainCommand.loadReutersHead();
            if (head == null) {
                throw new IOException("no bundled Reuters head (run ./graft train reuters)");
            }
            SentenceClassifier m = new SentenceClassifier(MiniLm.load(), head);
            m.eval();
            return m;
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
                    testBatches.add(encode(texts.subList(from, to)));
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

        static Object[] encode(List<String> texts) {
            BertTokenizer.Batch b = MiniLm.tokenizer().encodeBatch(new ArrayList<>(texts));
            return new Object[] {b.inputIds(), b.attentionMask(), b.tokenTypeIds()};
        }

        Object[] example() throws IOException {
            loadTrain();
            return encode(trainTexts.subList(0, 2));
        }

        Object[] latencyInput(int batch) throws IOException {
            loadTest();
            List<String> texts = new ArrayList<>();
            for (int i = 0; i < batch; i++) {
                texts.add(testTexts.get(i % testTexts.size()));
            }
            return encode(texts);
        }

        Quantized quantize(String approach, Budget budget, ProgressListener progress) throws IOException {
            requireApproach(approach);
            loadTrain();
            Module model = fp32();
            Partition p = partition(model);
            if (approach.equals("dynamic")) {
                QuantizationReport r = DynamicQuantizer.quantize(p,
                        new QConfigMapping().global(QConfig.dynamicDefault()), false);
                return new Quantized(approach, p, r, "dynamic INT8 encoder and head (8-bit activations)");
            }
            int calib = budget.calibration() > 0 ? budget.calibration() : 64;
            List<Object[]> batches = new ArrayList<>();
            for (int from = 0; from < calib; from += 16) {
                batches.add(encode(trainTexts.subList(from, Math.min(calib, from + 16))));
            }
            // MiniLM's measured static configuration (residual adds, LayerNorm and the FFN outputs stay FP32).
            QConfigMapping mapping = MiniLm.staticMapping("encoder");
            if (approach.equals("qat")) {
                mapping.byModuleName("head", null);   // the head is trained under fake-quant below
            }
            StaticQuantizer.Prepared prepared = StaticQuantizer.prepare(p, mapping);
            StaticQuantizer.calibrate(prepared, batches, progress);
            QuantizationReport report = StaticQuantizer.convert(prepared);
            if (approach.equals("static")) {
                return new Quantized(approach, p, report, "static INT8, calibrated on " + calib
                        + " training documents");
            }
            // QAT: the head fine-tuned under fake quantization on the static INT8 encoder's features, then
            // converted and grafted in place of the FP32 head block. The encoder stays frozen (static INT8).
            int n = budget.qatSamples() > 0 ? Math.min(budget.qatSamples(), trainTexts.size()) : trainTexts.size();
            int epochs = budget.qatEpochs() > 0 ? budget.qatEpochs() : 10;
            SentenceClassifier classifier = (SentenceClassifier) model;
            Dataset features = TrainCommand.embed((BertModel) classifier.module("encoder"), MiniLm.tokenizer(),
                    trainTexts.subList(0, n), trainLabels, progress);
            Linear head = TrainCommand.loadReutersHead();
            Module qatHead = new Sequential(head);
            Partition hp = Partitioner.partition(qatHead, features.inputs(new int[] {0, 1}));
            StaticQuantizer.Prepared qp = StaticQuantizer.prepareQat(hp, StaticQuantizer.qatMapping());
            List<Object[]> headBatches = new ArrayList<>();
            for (int from = 0; from < features.size(); from += 256) {
                headBatches.add(new Object[] {range(features, from, Math.min(features.size(), from + 256))});
            }
            try (var g = Autograd.noGrad()) {
                StaticQuantizer.calibrate(qp, headBatches, progress);
            }
            Init.manualSeed(SEED);
            long steps = Trainer.stepsPerEpoch(features.size(), 32) * epochs;
            AdamW adam = new AdamW(Optimizer.trainable(hp.model()), 1e-3, 0.9, 0.999, 1e-8, 1e-4);
            Trainer trainer = new Trainer(hp.model(), adam, LearningRateSchedule.cosine(1e-3, steps, 0),
                    Trainer.Objective.crossEntropy(), 32, SEED);
            trainer.fit(features, epochs, progress);
            qp.enableObservers(false);
            StaticQuantizer.convert(qp);
            hp.model().eval();
            model.replaceModule("head", hp.model());
            return new Quantized(approach, p, report, "static INT8 encoder (" + calib + " documents) + QAT head ("
                    + n + " documents x " + epochs + " epochs)");
        }

        private static Tensor range(Dataset d, int from, int to) {
            int[] idx = new int[to - from];
            for (int i = 0; i < idx.length; i++) {
                idx[i] = from + i;
            }
            return d.inputs(idx);
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

        List<String> approaches() {
            return List.of("static", "qat");
        }

        String metric() {
            return "accuracy on the 10,000 MNIST test images";
        }

        Module fp32() throws IOException {
            // Exit head disabled (threshold above 1): every image takes the full path, as in docs/RESULTS.md. The
            // exit's data-dependent test still runs, so the root stays eager glue.
            MnistCnn m = TrainCommand.loadMnist(2f);
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

        Quantized quantize(String approach, Budget budget, ProgressListener progress) throws IOException {
            requireApproach(approach);
            Tensor calib = calibration();
            List<Object[]> batches = new ArrayList<>();
            for (int start = 0; start < calib.size(0); start += 128) {
                batches.add(new Object[] {calib.narrow(0, start, Math.min(128, calib.size(0) - start))});
            }
            Module model = fp32();
            Partition p = partition(model);
            if (approach.equals("static")) {
                StaticQuantizer.Prepared prepared = StaticQuantizer.prepare(p, StaticQuantizer.defaultMapping());
                StaticQuantizer.calibrate(prepared, batches, progress);
                return new Quantized(approach, p, StaticQuantizer.convert(prepared),
                        "static INT8, histogram observers, 512 calibration images");
            }
            int images = budget.qatSamples() > 0 ? budget.qatSamples() : 10_000;
            Path dir = DataSources.mnist();
            Dataset train = new Dataset(IdxReader.readImages(DataSources.mnistFile(dir, "train-images-idx3-ubyte"), images),
                    IdxReader.readLabels(DataSources.mnistFile(dir, "train-labels-idx1-ubyte"), images));
            StaticQuantizer.Prepared qp = StaticQuantizer.prepareQat(p, StaticQuantizer.qatMapping(),
                    QatOptions.convBn(100));
            try (var g = Autograd.noGrad()) {
                StaticQuantizer.calibrate(qp, batches, progress);
            }
            int batch = 64;
            long steps = Trainer.stepsPerEpoch(train.size(), batch);
            Init.manualSeed(SEED);
            Sgd sgd = new Sgd(Optimizer.trainable(model), 2e-3, 0.9, 0, true);
            Trainer trainer = new Trainer(model, sgd, LearningRateSchedule.cosine(2e-3, steps, 0),
                    Trainer.Objective.crossEntropy(), batch, SEED);
            trainer.fit(train, 1, progress);
            qp.enableObservers(false);
            QuantizationReport report = StaticQuantizer.convert(qp);
            model.eval();
            return new Quantized(approach, p, report, "QAT: " + train.size() + " images, 1 pass, conv-bn unfused"
                    + " (BN frozen after 100 steps), converted");
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
        /** The photos the static recipe calibrates on; F1 is measured on every photo. */
        static final List<String> CALIBRATION = List.of("dog.jpg", "giraffe.jpg", "horses.jpg", "person.jpg");
        private List<Path> photos;
        private final List<Images.Fitted> fitted = new ArrayList<>();

        String name() {
            return "nanodet";
        }

        String title() {
            return "NanoDet";
        }

        List<String> approaches() {
            return List.of("static");
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
                    fitted.add(Images.letterbox(Images.read(p), 416));
                }
            }
            return photos;
        }

        private Object[] input(int i) {
            Images.Fitted f = fitted.get(i);
            return new Object[] {f.tensor(), f.letterbox().photoWidth(), f.letterbox().photoHeight()};
        }

        Object[] example() throws IOException {
            photos();
            return input(0);
        }

        Object[] latencyInput(int batch) throws IOException {
            return batch == 1 ? example() : null;
        }

        Quantized quantize(String approach, Budget budget, ProgressListener progress) throws IOException {
            requireApproach(approach);
            List<Path> all = photos();
            List<Object[]> batches = new ArrayList<>();
            for (int i = 0; i < all.size(); i++) {
                if (CALIBRATION.contains(all.get(i).getFileName().toString()) || all.size() < CALIBRATION.size()) {
                    batches.add(input(i));
                }
            }
            if (batches.isEmpty()) {
                batches.add(input(0));
            }
            Module model = fp32();
            Partition p = partition(model);
            // x86 defaults; preprocessing (pixel normalization) stays FP32: see NanoDetStaticQuantizationTest.
            StaticQuantizer.Prepared prepared = StaticQuantizer.prepare(p,
                    StaticQuantizer.defaultMapping().byModuleName("preprocess", null));
            StaticQuantizer.calibrate(prepared, batches, progress);
            return new Quantized(approach, p, StaticQuantizer.convert(prepared), "static INT8, histogram observers, "
                    + batches.size() + " calibration photos");
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
