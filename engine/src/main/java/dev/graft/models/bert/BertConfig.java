package dev.graft.models.bert;

/**
 * The hyper-parameters of a BERT-family encoder, named as in Hugging Face's {@code BertConfig}.
 *
 * @param numLabels classes of {@link BertForSequenceClassification} (and of the early-exit heads)
 */
public record BertConfig(int vocabSize, int hiddenSize, int numHiddenLayers, int numAttentionHeads,
                         int intermediateSize, int maxPositionEmbeddings, int typeVocabSize, float layerNormEps,
                         float hiddenDropoutProb, float attentionProbsDropoutProb, int numLabels) {
    public BertConfig {
        if (vocabSize <= 0 || hiddenSize <= 0 || numHiddenLayers <= 0 || numAttentionHeads <= 0
                || intermediateSize <= 0 || maxPositionEmbeddings <= 0 || typeVocabSize <= 0 || numLabels <= 0) {
            throw new IllegalArgumentException("BertConfig: sizes must be positive: " + this);
        }
        if (hiddenSize % numAttentionHeads != 0) {
            throw new IllegalArgumentException("BertConfig: hidden size " + hiddenSize
                    + " is not a multiple of the number of attention heads " + numAttentionHeads);
        }
    }

    /** sentence-transformers/all-MiniLM-L6-v2: 6 layers, hidden 384, 12 heads, FFN 1536, LayerNorm eps 1e-12. */
    public static BertConfig allMiniLmL6V2() {
        return new BertConfig(30522, 384, 6, 12, 1536, 512, 2, 1e-12f, 0.1f, 0.1f, 2);
    }

    /** The same configuration with another number of labels. */
    public BertConfig withNumLabels(int labels) {
        return new BertConfig(vocabSize, hiddenSize, numHiddenLayers, numAttentionHeads, intermediateSize,
                maxPositionEmbeddings, typeVocabSize, layerNormEps, hiddenDropoutProb, attentionProbsDropoutProb,
                labels);
    }

    public int headSize() {
        return hiddenSize / numAttentionHeads;
    }
}
