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
import dev.graft.engine.quant.convert.StaticQuantizer;
import dev.graft.engine.trace.Partition;
import dev.graft.engine.trace.Partitioner;
import dev.graft.engine.train.AdamW;
import dev.graft.engine.train.Dataset;
import dev.graft.engine.train.LearningRateSchedule;
import dev.graft.engine.train.Optimizer;
import dev.graft.engine.train.Sgd;
import dev.graft.engine.train.Trainer;
import dev.graft.formats.data.ArffDataset;
import dev.graft.formats.data.ArffReader;
import dev.graft.formats.data.IdxReader;
import dev.graft.formats.models.MiniLm;
import dev.graft.formats.text.BertTokenizer;
import dev.graft.models.bert.BertModel;
import dev.graft.models.bert.SentencePooling;
import dev.graft.models.mnist.MnistCnn;
import dev.graft.ops.Tensor;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code graft accuracy [mnist|reuters|all]}: the accuracy table of the training issue, FP32 against its INT8 forms
 * on the full test sets, with relative loss {@code (acc_fp32 - acc) / acc_fp32}.
 * <ul>
 *   <li>MNIST CNN (bundled weights, exit head disabled): static PTQ (histogram observers, 512 training images)
 *       and QAT ({@link StaticQuantizer#prepareQat} with {@link QatOptions#convBn}: conv-bn trained unfused on batch
 *       statistics, then frozen, and folded at convert as PTQ folds it; fake-quant on
 *       activations and per-channel weights, SGD fine-tuning on {@code --qat-images} training images, then
 *       convert), on the 10,000 test images.</li>
 *   <li>Reuters Grain (bundled head on MiniLM mean-pooled embeddings): dynamic INT8 encoder + head, static INT8
 *       encoder ({@link MiniLm#staticMapping()}, 32 training documents) + static INT8 head, and the same static
 *       encoder + a QAT head (fine-tuned under fake-quant on the INT8 encoder's training embeddings, then
 *       converted), on the 604 test documents. The encoder is frozen: QAT covers the classifier path only.</li>
 * </ul>
 */
final class AccuracyCommand implements Command {
    private static final long SEED = 20240601L;
    /** MNIST QAT: training steps (batches of 64) with BN on batch statistics before its statistics freeze. */
    private static final long QAT_FREEZE_BN_AFTER_STEPS = 100;

    @Override
    public String name() {
        return "accuracy";
    }

    @Override
    public String summary() {
        return "accuracy table: FP32 vs dynamic / static / QAT INT8 on MNIST and Reuters Grain";
    }

    @Override
    public String usage() {
        return """
                usage: ./graft accuracy [mnist|reuters|all] [--qat-images N] [--reuters-train N]

                  mnist            MNIST CNN: FP32, static PTQ, QAT (10,000 test images)
                  reuters          MiniLM + Reuters Grain head: FP32, dynamic, static, QAT (604 test documents)
                  all              both (the default)
                  --qat-images N   MNIST training images the QAT fine-tune sees (default 10000)
                  --reuters-train N  Reuters training documents embedded for the head's calibration and QAT
                                   (default all 1,554)
                The data are read from ../shared/data (or -Dgraft.shared.dir).""";
    }

    @Override
    public int run(List<String> args, PrintStream out, PrintStream err) throws Exception {
        String what = "all";
        int qatImages = 10_000;
        int reutersTrain = Integer.MAX_VALUE;
        for (int i = 0; i < args.size(); i++) {
            switch (args.get(i)) {
                case "mnist", "reuters", "all" -> what = args.get(i);
                case "--qat-images" -> qatImages = Integer.parseInt(value(args, ++i));
                case "--reuters-train" -> reutersTrain = Integer.parseInt(value(args, ++i));
                default -> throw new UsageException("accuracy: unknown argument " + args.get(i));
            }
        }
        ProgressListener progress = TrainCommand.progressLine(err);
        List<String> rows = new ArrayList<>();
        if (!what.equals("reuters")) {
            mnist(qatImages, out, progress, rows);
        }
        if (!what.equals("mnist")) {
            reuters(reutersTrain, out, progress, rows);
        }
        out.println();
        out.println("| model | variant | test accuracy | relative loss |");
        out.println("| --- | --- | ---: | ---: |");
        rows.forEach(out::println);
        return 0;
    }

    private static String value(List<String> args, int i) {
        if (i >= args.size()) {
            throw new UsageException(args.get(i - 1) + " needs a value");
        }
        return args.get(i);
    }

    // ---------------------------------------------------------------- MNIST

    static void mnist(int qatImages, PrintStream out, ProgressListener progress, List<String> rows)
            throws IOException {
        Path dir = TrainCommand.sharedData("mnist");
        Dataset test = new Dataset(IdxReader.readImages(dir.resolve("t10k-images-idx3-ubyte.gz"), Integer.MAX_VALUE),
                IdxReader.readLabels(dir.resolve("t10k-labels-idx1-ubyte.gz"), Integer.MAX_VALUE));
        Dataset train = new Dataset(IdxReader.readImages(dir.resolve("train-images-idx3-ubyte.gz"), qatImages),
                IdxReader.readLabels(dir.resolve("train-labels-idx1-ubyte.gz"), qatImages));
        Tensor calibration = IdxReader.readImages(dir.resolve("train-images-idx3-ubyte.gz"), 512);
        List<Object[]> batches = new ArrayList<>();
        for (int start = 0; start < calibration.size(0); start += 128) {
            batches.add(new Object[] {calibration.narrow(0, start, 128)});
        }
        long t0 = System.nanoTime();
        double fp32 = Trainer.accuracy(requireMnist(), test, 500);
        report(out, rows, "MNIST CNN", "FP32", fp32, fp32, t0);

        t0 = System.nanoTime();
        MnistCnn ptq = requireMnist();
        Partition p = Partitioner.partition(ptq, calibration.narrow(0, 0, 2));
        StaticQuantizer.Prepared prepared = StaticQuantizer.prepare(p, StaticQuantizer.defaultMapping());
        StaticQuantizer.calibrate(prepared, batches, progress);
        StaticQuantizer.convert(prepared);
        report(out, rows, "MNIST CNN", "static INT8 (PTQ, 512 calibration images)", Trainer.accuracy(ptq, test, 500),
                fp32, t0);

        t0 = System.nanoTime();
        MnistCnn qat = requireMnist();
        Partition q = Partitioner.partition(qat, calibration.narrow(0, 0, 2));
        // Conv-bn trained unfused (PyTorch's QAT ConvBn2d): batch statistics, then frozen for the last third.
        StaticQuantizer.Prepared qp = StaticQuantizer.prepareQat(q, StaticQuantizer.qatMapping(),
                QatOptions.convBn(QAT_FREEZE_BN_AFTER_STEPS));
        try (var g = Autograd.noGrad()) {
            // Start the moving averages from the same calibration data PTQ used, fake-quant already on.
            StaticQuantizer.calibrate(qp, batches, progress);
        }
        int batch = 64;
        long steps = Trainer.stepsPerEpoch(train.size(), batch);
        double lr = 2e-3;
        Init.manualSeed(SEED);
        Sgd sgd = new Sgd(Optimizer.trainable(qat), lr, 0.9, 0, true);
        Trainer trainer = new Trainer(qat, sgd, LearningRateSchedule.cosine(lr, steps, 0),
                Trainer.Objective.crossEntropy(), batch, SEED);
        out.println("QAT fine-tune: " + trainer.fit(train, 1, progress).get(0) + " (" + train.size() + " images)");
        qp.enableObservers(false);
        double fakeQuantized = Trainer.accuracy(qat, test, 500);
        StaticQuantizer.convert(qp);
        double converted = Trainer.accuracy(qat, test, 500);
        out.printf(Locale.ROOT, "QAT forward (fake-quant) %.2f%%, converted INT8 %.2f%%%n", 100 * fakeQuantized,
                100 * converted);
        report(out, rows, "MNIST CNN", "QAT INT8 (" + train.size() + " images, 1 pass, conv-bn unfused, BN frozen after "
                + QAT_FREEZE_BN_AFTER_STEPS + " steps, converted)", converted, fp32,
                t0);
    }

    private static MnistCnn requireMnist() throws IOException {
        MnistCnn m = TrainCommand.loadMnist(2f); // exit head disabled: every image takes the full path
        if (m == null) {
            throw new IOException("no bundled MNIST weights (run ./graft train mnist)");
        }
        return m;
    }

    // ---------------------------------------------------------------- Reuters Grain on MiniLM

    static void reuters(int trainLimit, PrintStream out, ProgressListener progress, List<String> rows)
            throws IOException {
        if (!MiniLm.available()) {
            throw new IOException("MiniLM is not on the class path (" + MiniLm.MAVEN_COORDINATE + ")");
        }
        Path dir = TrainCommand.sharedData("reuters");
        ArffDataset trainArff = ArffReader.read(TrainCommand.findArff(dir, "Grain", "train"));
        ArffDataset testArff = ArffReader.read(TrainCommand.findArff(dir, "Grain", "test"));
        BertTokenizer tokenizer = MiniLm.tokenizer();
        List<String> trainTexts = trainArff.strings("Text");
        int[] trainLabels = trainArff.nominalIndices(trainArff.classAttribute());
        int nTrain = Math.min(trainLimit, trainTexts.size());
        List<String> calibrationTexts = trainTexts.subList(0, 32);

        long t0 = System.nanoTime();
        BertModel fp32Encoder = MiniLm.load();
        fp32Encoder.eval();
        Dataset testFp32 = embed(fp32Encoder, tokenizer, testArff, progress);
        double fp32 = Trainer.accuracy(requireHead(), testFp32, 256);
        report(out, rows, "MiniLM + Grain head", "FP32", fp32, fp32, t0);

        t0 = System.nanoTime();
        BertModel dynamic = MiniLm.load();
        dynamic.eval();
        DynamicQuantizer.quantize(Partitioner.partition(dynamic, encode(tokenizer, calibrationTexts.subList(0, 2))),
                new QConfigMapping().global(QConfig.dynamicDefault()), false);
        Dataset testDynamic = embed(dynamic, tokenizer, testArff, progress);
        // The head traces whole, so the partition's model is a new graph module: evaluate that one, not the
        // Sequential it was traced from (which stays FP32).
        Partition dynamicHeadPartition = Partitioner.partition(new Sequential(requireHead()),
                testDynamic.head(2).inputs(new int[] {0, 1}));
        Module dynamicHead = dynamicHeadPartition.model();
        DynamicQuantizer.quantize(dynamicHeadPartition,
                new QConfigMapping().global(QConfig.dynamicDefault()), false);
        report(out, rows, "MiniLM + Grain head", "dynamic INT8 (encoder and head)",
                Trainer.accuracy(dynamicHead, testDynamic, 256), fp32, t0);

        t0 = System.nanoTime();
        BertModel st = MiniLm.load();
        st.eval();
        StaticQuantizer.Prepared prepared = StaticQuantizer.prepare(
                Partitioner.partition(st, encode(tokenizer, calibrationTexts.subList(0, 2))), MiniLm.staticMapping());
        List<Object[]> encoderBatches = new ArrayList<>();
        for (int from = 0; from < calibrationTexts.size(); from += 16) {
            encoderBatches.add(encode(tokenizer, calibrationTexts.subList(from, from + 16)));
        }
        StaticQuantizer.calibrate(prepared, encoderBatches, progress);
        StaticQuantizer.convert(prepared);
        Dataset trainStatic = embed(st, tokenizer, trainTexts.subList(0, nTrain), trainLabels, progress);
        Dataset testStatic = embed(st, tokenizer, testArff, progress);
        long encoderSeconds = System.nanoTime() - t0;
        List<Object[]> headBatches = new ArrayList<>();
        for (int from = 0; from < trainStatic.size(); from += 256) {
            headBatches.add(new Object[] {range(trainStatic, from, Math.min(trainStatic.size(), from + 256))});
        }
        Partition staticHeadPartition = Partitioner.partition(new Sequential(requireHead()), range(trainStatic, 0, 2));
        Module staticHead = staticHeadPartition.model();
        StaticQuantizer.Prepared hp = StaticQuantizer.prepare(staticHeadPartition, StaticQuantizer.defaultMapping());
        StaticQuantizer.calibrate(hp, headBatches, progress);
        StaticQuantizer.convert(hp);
        report(out, rows, "MiniLM + Grain head", "static INT8 (encoder 32 docs, head " + nTrain + " docs)",
                Trainer.accuracy(staticHead, testStatic, 256), fp32, t0);

        t0 = System.nanoTime();
        Partition qatHeadPartition = Partitioner.partition(new Sequential(requireHead()), range(trainStatic, 0, 2));
        Module qatHead = qatHeadPartition.model();
        StaticQuantizer.Prepared qp = StaticQuantizer.prepareQat(qatHeadPartition, StaticQuantizer.qatMapping());
        try (var g = Autograd.noGrad()) {
            StaticQuantizer.calibrate(qp, headBatches, progress);
        }
        int epochs = 10;
        int batch = 32;
        double lr = 1e-3;
        long steps = Trainer.stepsPerEpoch(trainStatic.size(), batch) * epochs;
        AdamW adam = new AdamW(Optimizer.trainable(qatHead), lr, 0.9, 0.999, 1e-8, 1e-4);
        Trainer trainer = new Trainer(qatHead, adam, LearningRateSchedule.cosine(lr, steps, 0),
                Trainer.Objective.crossEntropy(), batch, SEED);
        List<Trainer.EpochResult> results = trainer.fit(trainStatic, epochs, progress);
        out.println("QAT head fine-tune: " + results.get(results.size() - 1));
        qp.enableObservers(false);
        StaticQuantizer.convert(qp);
        double qatAccuracy = Trainer.accuracy(qatHead, testStatic, 256);
        // The time shown includes the static encoder's embeddings the QAT head trains and is tested on.
        report(out, rows, "MiniLM + Grain head", "QAT head (" + epochs + " epochs) on the static INT8 encoder",
                qatAccuracy, fp32, t0 - encoderSeconds);
    }

    private static Linear requireHead() throws IOException {
        Linear head = TrainCommand.loadReutersHead();
        if (head == null) {
            throw new IOException("no bundled Reuters head (run ./graft train reuters)");
        }
        return head;
    }

    private static Object[] encode(BertTokenizer tokenizer, List<String> texts) {
        BertTokenizer.Batch b = tokenizer.encodeBatch(new ArrayList<>(texts));
        return new Object[] {b.inputIds(), b.attentionMask(), b.tokenTypeIds()};
    }

    private static Tensor range(Dataset d, int from, int to) {
        int[] idx = new int[to - from];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = from + i;
        }
        return d.inputs(idx);
    }

    private static Dataset embed(BertModel encoder, BertTokenizer tokenizer, ArffDataset data,
                                 ProgressListener progress) {
        return embed(encoder, tokenizer, data.strings("Text"), data.nominalIndices(data.classAttribute()), progress);
    }

    /** Mean-pooled embeddings of {@code texts} (as {@link TrainCommand#embed}), labels from {@code labels}. */
    private static Dataset embed(BertModel encoder, BertTokenizer tokenizer, List<String> texts, int[] labels,
                                 ProgressListener progress) {
        float[] features = new float[texts.size() * 384];
        int batch = 32;
        try (var g = Autograd.noGrad()) {
            for (int from = 0; from < texts.size(); from += batch) {
                List<String> part = new ArrayList<>(texts.subList(from, Math.min(texts.size(), from + batch)));
                BertTokenizer.Batch b = tokenizer.encodeBatch(part);
                Tensor hidden = encoder.lastHiddenState(b.inputIds(), b.attentionMask(), b.tokenTypeIds());
                float[] pooled = SentencePooling.meanPool(hidden, b.attentionMask()).toFloatArray();
                System.arraycopy(pooled, 0, features, from * 384, pooled.length);
                progress.progress(Math.min(texts.size(), from + batch), texts.size(), "embedding documents");
            }
        }
        long[] y = new long[texts.size()];
        for (int i = 0; i < y.length; i++) {
            y[i] = labels[i];
        }
        return new Dataset(Tensor.wrap(features, texts.size(), 384), Tensor.ofLongs(y, y.length));
    }

    private static void report(PrintStream out, List<String> rows, String model, String variant, double accuracy,
                               double fp32, long startNanos) {
        double loss = 100 * (fp32 - accuracy) / fp32;
        out.printf(Locale.ROOT, "%s, %s: %.2f%% (relative loss %.2f%%), %.1f s%n", model, variant, 100 * accuracy,
                loss, (System.nanoTime() - startNanos) / 1e9);
        rows.add(String.format(Locale.ROOT, "| %s | %s | %.2f%% | %s |", model, variant, 100 * accuracy,
                variant.equals("FP32") ? "-" : String.format(Locale.ROOT, "%.2f%%", loss)));
    }

    /** Runs the command without Main (until it is registered there). */
    public static void main(String[] args) throws Exception {
        System.exit(new AccuracyCommand().run(List.of(args), System.out, System.err));
    }
}
