package dev.graft.models.bert;

import dev.graft.engine.ProgressListener;
import dev.graft.engine.autograd.Autograd;
import dev.graft.engine.train.Dataset;
import dev.graft.formats.text.BertTokenizer;
import dev.graft.ops.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * Mean-pooled sentence features of an encoder, as a labelled data set: what a sentence-classification head trains
 * on (the head alone, with the encoder frozen: {@code graft train reuters}, and the QAT head of the Reuters recipe).
 */
public final class SentenceFeatures {
    private static final int BATCH = 32;

    private SentenceFeatures() {
    }

    /** Features of {@code texts} (batches of 32), labelled with {@code labels[0 .. texts.size())}. */
    public static Dataset embed(BertModel encoder, BertTokenizer tokenizer, List<String> texts, int[] labels,
                                ProgressListener progress) {
        int hidden = encoder.config().hiddenSize();
        float[] features = new float[texts.size() * hidden];
        try (var g = Autograd.noGrad()) {
            for (int from = 0; from < texts.size(); from += BATCH) {
                List<String> part = new ArrayList<>(texts.subList(from, Math.min(texts.size(), from + BATCH)));
                BertTokenizer.Batch b = tokenizer.encodeBatch(part);
                Tensor states = encoder.lastHiddenState(b.inputIds(), b.attentionMask(), b.tokenTypeIds());
                float[] pooled = SentencePooling.meanPool(states, b.attentionMask()).toFloatArray();
                System.arraycopy(pooled, 0, features, from * hidden, pooled.length);
                progress.progress(Math.min(texts.size(), from + BATCH), texts.size(), "embedding documents");
            }
        }
        long[] y = new long[texts.size()];
        for (int i = 0; i < y.length; i++) {
            y[i] = labels[i];
        }
        return new Dataset(Tensor.wrap(features, texts.size(), hidden), Tensor.ofLongs(y, y.length));
    }
}
