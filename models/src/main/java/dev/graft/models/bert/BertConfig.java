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

    /** The configuration as saved with a model (Hugging Face's key names). */
    public java.util.Map<String, Object> toMap() {
        java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("vocab_size", vocabSize);
        m.put("hidden_size", hiddenSize);
        m.put("num_hidden_layers", numHiddenLayers);
        m.put("num_attention_heads", numAttentionHeads);
        m.put("intermediate_size", intermediateSize);
        m.put("max_position_embeddings", maxPositionEmbeddings);
        m.put("type_vocab_size", typeVocabSize);
        m.put("layer_norm_eps", layerNormEps);
        m.put("hidden_dropout_prob", hiddenDropoutProb);
        m.put("attention_probs_dropout_prob", attentionProbsDropoutProb);
        m.put("num_labels", numLabels);
        return m;
    }

    /** Reads what {@link #toMap()} wrote. */
    public static BertConfig fromConfig(dev.graft.engine.save.SavedConfig c) {
        return new BertConfig(c.getInt("vocab_size"), c.getInt("hidden_size"), c.getInt("num_hidden_layers"),
                c.getInt("num_attention_heads"), c.getInt("intermediate_size"), c.getInt("max_position_embeddings"),
                c.getInt("type_vocab_size"), c.getFloat("layer_norm_eps"), c.getFloat("hidden_dropout_prob"),
                c.getFloat("attention_probs_dropout_prob"), c.getInt("num_labels"));
    }
}
