package dev.graft.spark;

import dev.graft.Graft;
import dev.graft.engine.Init;
import dev.graft.engine.nn.Linear;
import dev.graft.formats.text.BertTokenizer;
import dev.graft.models.bert.BertConfig;
import dev.graft.models.bert.BertModel;
import dev.graft.models.bert.SentenceClassifier;

import java.nio.file.Path;
import java.util.List;

/**
 * Small BERT models with seeded random weights on all-MiniLM-L6-v2's vocabulary (its tokenizer), saved as
 * {@code .graft} files the way a user saves theirs: quick to build, and real Graft files for Spark to read.
 */
final class TinyModels {
    static final BertConfig CONFIG = new BertConfig(30522, 32, 2, 4, 64, 128, 2, 1e-12f, 0.1f, 0.1f, 3);

    static final List<String> SENTENCES = List.of(
            "Wheat exports rose sharply in the third quarter.",
            "The central bank kept interest rates unchanged.",
            "A dog runs across the park chasing a ball.",
            "Grain shipments were delayed by the strike at the port.",
            "Corn futures fell on forecasts of a record harvest.",
            "The new phone has a larger screen and a faster chip.",
            "Soybean prices climbed after the drought warning.",
            "She read the whole novel in one afternoon.",
            "Rice farmers expect lower yields this year.",
            "The museum opens a new exhibition on Monday.",
            "Barley and oats were traded in thin volumes.",
            "Heavy rain flooded the streets of the old town.");

    private TinyModels() {
    }

    static BertTokenizer tokenizer() {
        return ModelCache.tokenizer("");
    }

    /** Inputs for tracing: the first two sentences. */
    static Object[] example() {
        BertTokenizer.Batch b = tokenizer().encodeBatch(SENTENCES.subList(0, 2));
        return new Object[] {b.inputIds(), b.attentionMask(), b.tokenTypeIds()};
    }

    /** A dynamic-INT8 BertModel saved to {@code file}. */
    static synchronized Path encoder(Path file) {
        Init.manualSeed(19);
        BertModel model = (BertModel) new BertModel(CONFIG).eval();
        Graft.quantize(model, example(), Graft.Config.dynamic()).save(file);
        return file;
    }

    /** An FP32 sentence classifier (3 labels), seeded: what static calibration starts from. Synchronized: the seed
     * is global, and tasks running at once in one JVM build their copies at the same time. */
    static synchronized SentenceClassifier fp32Classifier() {
        Init.manualSeed(23);
        return (SentenceClassifier) new SentenceClassifier(new BertModel(CONFIG), new Linear(32, 3)).eval();
    }

    /** A dynamic-INT8 sentence classifier saved to {@code file}. */
    static Path classifier(Path file) {
        Graft.quantize(fp32Classifier(), example(), Graft.Config.dynamic()).save(file);
        return file;
    }
}
