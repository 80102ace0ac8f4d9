package dev.graft.models.bert;

/**
 * The hyper-parameters of a BERT-family encoder, named as in Hugging Face's {@code BertConfig}. Build one by name
 * rather than by position: {@code BertConfig.builder().numHiddenLayers(12).hiddenSize(384).build()} starts from
 * Hugging Face's defaults (BERT-base); {@link #fromHuggingFace} reads a {@code config.json}.
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
        return builder().hiddenSize(384).numHiddenLayers(6).numAttentionHeads(12).intermediateSize(1536).build();
    }

    /** A builder holding Hugging Face's {@code BertConfig} defaults (BERT-base uncased, two labels). */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this configuration, to change a few fields. */
    public Builder toBuilder() {
        return new Builder().vocabSize(vocabSize).hiddenSize(hiddenSize).numHiddenLayers(numHiddenLayers)
                .numAttentionHeads(numAttentionHeads).intermediateSize(intermediateSize)
                .maxPositionEmbeddings(maxPositionEmbeddings).typeVocabSize(typeVocabSize).layerNormEps(layerNormEps)
                .hiddenDropoutProb(hiddenDropoutProb).attentionProbsDropoutProb(attentionProbsDropoutProb)
                .numLabels(numLabels);
    }

    /**
     * The configuration of a Hugging Face {@code config.json} (already parsed): absent keys take Hugging Face's
     * defaults, as {@code transformers} does. Only what Graft's {@link BertModel} computes is accepted: a model type
     * other than {@code bert}, an activation other than {@code gelu} or relative position embeddings are refused
     * with the key and value, rather than loaded into a model that would compute something else.
     *
     * @param source where the JSON came from, for messages
     */
    public static BertConfig fromHuggingFace(java.util.Map<String, Object> json, String source) {
        requireValue(json, "model_type", "bert", source);
        requireValue(json, "hidden_act", "gelu", source);
        requireValue(json, "position_embedding_type", "absolute", source);
        Builder b = builder();
        b.vocabSize(intOr(json, "vocab_size", b.vocabSize, source));
        b.hiddenSize(intOr(json, "hidden_size", b.hiddenSize, source));
        b.numHiddenLayers(intOr(json, "num_hidden_layers", b.numHiddenLayers, source));
        b.numAttentionHeads(intOr(json, "num_attention_heads", b.numAttentionHeads, source));
        b.intermediateSize(intOr(json, "intermediate_size", b.intermediateSize, source));
        b.maxPositionEmbeddings(intOr(json, "max_position_embeddings", b.maxPositionEmbeddings, source));
        b.typeVocabSize(intOr(json, "type_vocab_size", b.typeVocabSize, source));
        b.layerNormEps((float) numberOr(json, "layer_norm_eps", b.layerNormEps, source));
        b.hiddenDropoutProb((float) numberOr(json, "hidden_dropout_prob", b.hiddenDropoutProb, source));
        b.attentionProbsDropoutProb((float) numberOr(json, "attention_probs_dropout_prob",
                b.attentionProbsDropoutProb, source));
        if (json.get("id2label") instanceof java.util.Map<?, ?> labels && !labels.isEmpty()) {
            b.numLabels(labels.size());
        }
        b.numLabels(intOr(json, "num_labels", b.numLabels, source));
        try {
            return b.build();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(source + ": " + e.getMessage(), e);
        }
    }

    private static void requireValue(java.util.Map<String, Object> json, String key, String expected, String source) {
        Object v = json.get(key);
        if (v != null && !expected.equals(v)) {
            throw new IllegalArgumentException(source + ": \"" + key + "\" is " + quoted(v) + "; Graft's BERT "
                    + "loader computes only " + key + " = \"" + expected + "\"");
        }
    }

    private static int intOr(java.util.Map<String, Object> json, String key, int fallback, String source) {
        double v = numberOr(json, key, fallback, source);
        if (v != Math.rint(v) || v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(source + ": \"" + key + "\" must be an integer, got " + v);
        }
        return (int) v;
    }

    private static double numberOr(java.util.Map<String, Object> json, String key, double fallback, String source) {
        Object v = json.get(key);
        if (v == null) {
            return fallback;
        }
        if (!(v instanceof Number n)) {
            throw new IllegalArgumentException(source + ": \"" + key + "\" must be a number, got " + quoted(v));
        }
        return n.doubleValue();
    }

    /** A JSON value as it reads in the file, for a message. */
    private static String quoted(Object v) {
        return v instanceof String s ? "\"" + s + "\"" : String.valueOf(v);
    }

    /** Named fields with Hugging Face's defaults; {@link #build()} validates. */
    public static final class Builder {
        private int vocabSize = 30522;
        private int hiddenSize = 768;
        private int numHiddenLayers = 12;
        private int numAttentionHeads = 12;
        private int intermediateSize = 3072;
        private int maxPositionEmbeddings = 512;
        private int typeVocabSize = 2;
        private float layerNormEps = 1e-12f;
        private float hiddenDropoutProb = 0.1f;
        private float attentionProbsDropoutProb = 0.1f;
        private int numLabels = 2;

        private Builder() {
        }

        public Builder vocabSize(int v) {
            vocabSize = v;
            return this;
        }

        public Builder hiddenSize(int v) {
            hiddenSize = v;
            return this;
        }

        public Builder numHiddenLayers(int v) {
            numHiddenLayers = v;
            return this;
        }

        public Builder numAttentionHeads(int v) {
            numAttentionHeads = v;
            return this;
        }

        public Builder intermediateSize(int v) {
            intermediateSize = v;
            return this;
        }

        public Builder maxPositionEmbeddings(int v) {
            maxPositionEmbeddings = v;
            return this;
        }

        public Builder typeVocabSize(int v) {
            typeVocabSize = v;
            return this;
        }

        public Builder layerNormEps(float v) {
            layerNormEps = v;
            return this;
        }

        public Builder hiddenDropoutProb(float v) {
            hiddenDropoutProb = v;
            return this;
        }

        public Builder attentionProbsDropoutProb(float v) {
            attentionProbsDropoutProb = v;
            return this;
        }

        public Builder numLabels(int v) {
            numLabels = v;
            return this;
        }

        public BertConfig build() {
            return new BertConfig(vocabSize, hiddenSize, numHiddenLayers, numAttentionHeads, intermediateSize,
                    maxPositionEmbeddings, typeVocabSize, layerNormEps, hiddenDropoutProb, attentionProbsDropoutProb,
                    numLabels);
        }
    }

    /** The same configuration with another number of labels. */
    public BertConfig withNumLabels(int labels) {
        return toBuilder().numLabels(labels).build();
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
        BertConfig config = new BertConfig(c.getInt("vocab_size"), c.getInt("hidden_size"),
                c.getInt("num_hidden_layers"), c.getInt("num_attention_heads"), c.getInt("intermediate_size"),
                c.getInt("max_position_embeddings"), c.getInt("type_vocab_size"), c.getFloat("layer_norm_eps"),
                c.getFloat("hidden_dropout_prob"), c.getFloat("attention_probs_dropout_prob"), c.getInt("num_labels"));
        c.checkSize(config.parameterCount(), "a BERT encoder with these sizes");
        return config;
    }

    /**
     * The encoder's parameter count (embeddings, layers; not the pooler or heads), without overflow: Long.MAX_VALUE
     * when it does not fit. What building the encoder allocates, checked before a saved file's sizes are built.
     */
    public long parameterCount() {
        try {
            long h = hiddenSize;
            long embeddings = Math.multiplyExact((long) vocabSize + maxPositionEmbeddings + typeVocabSize, h) + 2 * h;
            long attention = Math.multiplyExact(4, h * h + h);
            long feedForward = Math.multiplyExact(2 * h, (long) intermediateSize);
            long layer = Math.addExact(Math.addExact(attention, feedForward), intermediateSize + 5 * h);
            return Math.addExact(embeddings, Math.multiplyExact(layer, (long) numHiddenLayers));
        } catch (ArithmeticException overflow) {
            return Long.MAX_VALUE;
        }
    }
}
