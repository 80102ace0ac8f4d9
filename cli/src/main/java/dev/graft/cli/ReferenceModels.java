package dev.graft.cli;

import dev.graft.engine.Init;
import dev.graft.engine.Module;
import dev.graft.formats.image.Images;
import dev.graft.formats.text.BertTokenizer;
import dev.graft.models.bert.BertConfig;
import dev.graft.models.bert.BertForSequenceClassification;
import dev.graft.models.bert.BertModel;
import dev.graft.models.bert.MiniLm;
import dev.graft.models.mnist.MnistCnn;
import dev.graft.models.mnist.MnistCnnWeights;
import dev.graft.models.nanodet.NanoDetDetector;
import dev.graft.models.nanodet.NanoDetFiles;
import dev.graft.models.nanodet.NanoDetImages;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The three reference workloads, each with example inputs that the commands run them on: MiniLM (BERT) as a
 * sequence classifier with early-exit heads, the MNIST CNN with its exit head, and the NanoDet detector on a photo.
 * Everything comes from the classpath or the bundled assets when {@code ../shared} is absent.
 */
final class ReferenceModels {
    static final List<String> NAMES = List.of("minilm", "cnn", "nanodet");

    /** Built-in sentences (of different lengths, so the batch is padded). */
    static final List<String> SENTENCES = List.of(
            "Wheat exports from the United States rose sharply in March.",
            "The central bank left interest rates unchanged.",
            "Grain shipments to the Soviet Union were delayed by bad weather in the Black Sea ports.",
            "Corn prices fell.");

    /** A model, where it came from, and the inputs to run it on. */
    record Example(String name, String description, Module model, Object[] inputs) {
    }

    private ReferenceModels() {
    }

    static Example load(String name) throws IOException {
        return switch (name) {
            case "minilm" -> minilm();
            case "cnn" -> cnn();
            case "nanodet" -> nanodet();
            default -> throw new UsageException("unknown model '" + name + "' (choose one of " + NAMES + ")");
        };
    }

    /**
     * MiniLM's encoder weights (from the ONNX file on the classpath) in a sequence classifier with DeeBERT-style
     * exit heads and early exit on, so the model has both kinds of control flow: padding trimming and early exit.
     * The heads and classifier are untrained (seeded) until the training issue trains them.
     */
    static Example minilm() {
        BertModel encoder = MiniLm.load();
        BertConfig config = encoder.config();
        Init.manualSeed(1);
        BertForSequenceClassification model = new BertForSequenceClassification(config, true);
        model.module("bert").loadStateDict(encoder.stateDict(), false);
        model.setEarlyExitThreshold(0.01f);
        model.eval();
        BertTokenizer.Batch batch = MiniLm.tokenizer().encodeBatch(SENTENCES, 32);
        return new Example("minilm", "all-MiniLM-L6-v2 (6 layers, hidden 384) as a classifier with early-exit heads;"
                + " " + SENTENCES.size() + " sentences padded to 32 tokens",
                model, new Object[] {batch.inputIds(), batch.attentionMask(), batch.tokenTypeIds()});
    }

    /** The MNIST CNN trained by {@code ./graft train mnist} (weights shipped in the jar), exit head at 0.9. */
    static Example cnn() throws IOException {
        MnistCnn model = MnistCnnWeights.bundled(0.9f);
        String weights = "trained weights (99.28% on the MNIST test set)";
        if (model == null) {
            Init.manualSeed(2);
            model = new MnistCnn(0.9f);
            model.eval();
            weights = "seeded weights (the trained file is missing from this build)";
        }
        return new Example("cnn", "MNIST CNN (conv-bn-relu blocks, residual, exit head at 0.9 confidence), " + weights
                + "; 4 drawn digits", model, new Object[] {DrawnDigits.batch(new char[] {'1', '7', '0', '4'})});
    }

    /** dog.jpg from ../shared when present, else the copy bundled in the jar. */
    static BufferedImage photo() throws IOException {
        Path shared = DetectCommand.sharedDetectDir();
        if (shared != null && Files.isRegularFile(shared.resolve("dog.jpg"))) {
            return Images.read(shared.resolve("dog.jpg"));
        }
        return NanoDetFiles.bundledPhoto();
    }

    /** NanoDet-g on dog.jpg, letterboxed to 416x416. */
    static Example nanodet() throws IOException {
        NanoDetDetector.Options options = NanoDetDetector.Options.defaults();
        Path shared = DetectCommand.sharedDetectDir();
        NanoDetDetector detector = shared != null
                ? NanoDetFiles.load(shared.resolve("nanodet.json"), shared.resolve("coco.names"), options)
                : NanoDetFiles.bundled(options);
        BufferedImage photo = photo();
        NanoDetImages.Fitted fitted = NanoDetImages.letterbox(photo, options.inputSize());
        return new Example("nanodet", "NanoDet-g (COCO-80, 416x416) on dog.jpg", detector,
                new Object[] {fitted.tensor(), photo.getWidth(), photo.getHeight()});
    }
}
