package dev.graft.cli;

import dev.graft.formats.data.IdxReader;
import dev.graft.formats.data.ReutersText;
import dev.graft.formats.image.Images;
import dev.graft.formats.text.BertTokenizer;
import dev.graft.models.bert.MiniLm;
import dev.graft.models.nanodet.NanoDetImages;
import dev.graft.ops.Tensor;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Calibration batches for static quantization: real data from {@code ../shared/data} when it is there (Reuters
 * Grain training sentences, MNIST training images, the detector photos), otherwise the models' built-in examples.
 * Each batch is one {@code callAny} input of the model.
 */
final class CalibrationData {
    private static final int BATCH = 16;

    private CalibrationData() {
    }

    /** Up to {@code samples} samples in batches, and a line saying where they came from. */
    record Batches(List<Object[]> batches, String source) {
    }

    static Batches load(ReferenceModels.Example ex, int samples) throws IOException {
        return switch (ex.name()) {
            case "minilm" -> sentences(ex, dataset("reuters"), samples);
            case "cnn" -> digits(ex, dataset("mnist"), samples);
            case "nanodet" -> photos(ex, dataset("photos"), samples);
            default -> throw new IllegalArgumentException(ex.name());
        };
    }

    private static Batches sentences(ReferenceModels.Example ex, Path dir, int samples) {
        Path train = dir == null ? null : dir.resolve("ReutersGrain-train.arff.gz");
        if (train == null || !Files.isRegularFile(train)) {
            return new Batches(List.<Object[]>of(ex.inputs()), "the built-in example sentences (no data folder)");
        }
        List<String> sentences = ReutersText.firstSentences(train, samples);
        BertTokenizer tokenizer = MiniLm.tokenizer();
        List<Object[]> out = new ArrayList<>();
        for (int i = 0; i < sentences.size(); i += BATCH) {
            BertTokenizer.Batch b = tokenizer.encodeBatch(sentences.subList(i, Math.min(i + BATCH, sentences.size())));
            out.add(new Object[] {b.inputIds(), b.attentionMask(), b.tokenTypeIds()});
        }
        return new Batches(out, sentences.size() + " Reuters Grain training sentences");
    }

    private static Batches digits(ReferenceModels.Example ex, Path dir, int samples) {
        Path images = dir == null ? null : DataSources.mnistFile(dir, "train-images-idx3-ubyte");
        if (images == null || !Files.isRegularFile(images)) {
            return new Batches(List.<Object[]>of(ex.inputs()), "the built-in drawn digits (no data folder)");
        }
        Tensor all = IdxReader.readImages(images, samples);
        List<Object[]> out = new ArrayList<>();
        for (int i = 0; i < all.size(0); i += BATCH) {
            out.add(new Object[] {all.narrow(0, i, Math.min(BATCH, all.size(0) - i)).contiguous()});
        }
        return new Batches(out, all.size(0) + " MNIST training images");
    }

    private static Batches photos(ReferenceModels.Example ex, Path dir, int samples) throws IOException {
        if (dir == null || !Files.isDirectory(dir)) {
            return new Batches(List.<Object[]>of(ex.inputs()), "the bundled dog.jpg (no data folder)");
        }
        List<Path> jpgs = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.jpg")) {
            ds.forEach(jpgs::add);
        }
        jpgs.sort(null);
        List<Object[]> out = new ArrayList<>();
        for (Path p : jpgs.subList(0, Math.min(samples, jpgs.size()))) {
            var photo = Images.read(p);
            NanoDetImages.Fitted fitted = NanoDetImages.letterbox(photo, 416);
            out.add(new Object[] {fitted.tensor(), photo.getWidth(), photo.getHeight()});
        }
        return new Batches(out, out.size() + " photos from " + dir);
    }

    /** The dataset's folder ({@link DataSources}: shared folder, cache, or fetched now), or null if unavailable. */
    private static Path dataset(String name) {
        try {
            return switch (name) {
                case "reuters" -> DataSources.reuters();
                case "mnist" -> DataSources.mnist();
                default -> DataSources.photos();
            };
        } catch (IOException e) {
            System.err.println("calibration data: " + e.getMessage() + "; using the built-in examples");
            return null;
        }
    }
}
