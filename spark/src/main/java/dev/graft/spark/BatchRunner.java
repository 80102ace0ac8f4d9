package dev.graft.spark;

import dev.graft.engine.Module;
import dev.graft.engine.ModuleException;
import dev.graft.engine.autograd.Autograd;
import dev.graft.engine.io.FormatException;
import dev.graft.formats.image.Images;
import dev.graft.formats.text.BertTokenizer;
import dev.graft.models.bert.BertModel;
import dev.graft.models.bert.BertPooling;
import dev.graft.models.bert.SentenceClassifier;
import dev.graft.models.nanodet.Detection;
import dev.graft.models.nanodet.NanoDetDetector;
import dev.graft.models.nanodet.NanoDetImages;
import dev.graft.ops.Tensor;

import java.nio.file.Path;
import java.util.List;

/**
 * One batch through a loaded Graft model: plain Graft calls, no Spark (each Spark partition runs its rows through
 * these in batches). Gradients are off; the models are the thread-safe loaded ones from {@link ModelCache}.
 */
final class BatchRunner {
    private BatchRunner() {
    }

    /**
     * Sentence embeddings [rows][hidden]: the encoder's last hidden states pooled as {@code pooling} says (mean
     * over the real tokens, or [CLS]; L2-normalized or not; all-MiniLM-L6-v2's model card: mean, normalized). A
     * {@link BertModel} or the encoder of a {@link SentenceClassifier}.
     */
    static float[][] embed(Module model, String file, BertTokenizer tokenizer, List<String> texts,
                           BertPooling pooling) {
        BertModel encoder = switch (model) {
            case BertModel bert -> bert;
            case SentenceClassifier c when c.module("encoder") instanceof BertModel bert -> bert;
            default -> throw wrongModel(file, model, "a BERT encoder (BertModel or SentenceClassifier)");
        };
        try (var g = Autograd.noGrad()) {
            BertTokenizer.Batch b = tokenizer.encodeBatch(texts);
            Tensor hidden = encoder.lastHiddenState(b.inputIds(), b.attentionMask(), b.tokenTypeIds());
            return rows(pooling.apply(hidden, b.attentionMask()), texts.size());
        }
    }

    /** Class logits [rows][labels] of a {@link SentenceClassifier}. */
    static float[][] classify(Module model, String file, BertTokenizer tokenizer, List<String> texts) {
        if (!(model instanceof SentenceClassifier classifier)) {
            throw wrongModel(file, model, "a sentence classifier (SentenceClassifier)");
        }
        try (var g = Autograd.noGrad()) {
            BertTokenizer.Batch b = tokenizer.encodeBatch(texts);
            return rows(classifier.call(b.inputIds(), b.attentionMask(), b.tokenTypeIds()), texts.size());
        }
    }

    /**
     * NanoDet's detections on one photo, boxes in photo pixels; an unreadable photo is a {@link ModelFileException}
     * naming it.
     */
    static List<Detection> detect(Module model, String file, String photo, float threshold) {
        if (!(model instanceof NanoDetDetector detector)) {
            throw wrongModel(file, model, "a detector (NanoDetDetector)");
        }
        java.awt.image.BufferedImage image;
        try {
            image = Images.read(Path.of(photo));
        } catch (FormatException e) {
            throw new ModelFileException(e);   // a FormatException would not reach the driver (its Path)
        }
        try (var g = Autograd.noGrad()) {
            var fitted = NanoDetImages.letterbox(image, detector.options().inputSize());
            return detector.detect(fitted.tensor(), fitted.letterbox()).stream()
                    .filter(d -> d.score() >= threshold).toList();
        }
    }

    /** The index of the largest value (the first one on ties), as {@code torch.argmax}. */
    static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    private static float[][] rows(Tensor t, int n) {
        float[] flat = t.toFloatArray();
        int width = flat.length / n;
        float[][] out = new float[n][];
        for (int i = 0; i < n; i++) {
            out[i] = java.util.Arrays.copyOfRange(flat, i * width, (i + 1) * width);
        }
        return out;
    }

    private static ModuleException wrongModel(String file, Module model, String expected) {
        return new ModuleException(file + ": holds a " + model.getClass().getSimpleName() + ", this step needs "
                + expected);
    }
}
