package dev.graft.models.bert;

import dev.graft.engine.Module;
import dev.graft.engine.Submodule;
import dev.graft.ops.DType;
import dev.graft.ops.Tensor;

/**
 * The BERT encoder as Hugging Face's {@code BertModel}: embeddings, encoder, optional pooler. Its state-dict keys are
 * the Hugging Face names ({@code encoder.layer.0.attention.self.query.weight}).
 *
 * <p>Inputs: {@code input_ids} [B, S] (int64), optional {@code attention_mask} [B, S] (1 real token, 0 padding; right
 * padding), optional {@code token_type_ids} [B, S]. Output: a {@link BertModelOutput}.
 *
 * <p>Real model code has control flow, and so does this: the mask is optional; a padded batch is trimmed to its
 * longest real sequence (a data-dependent {@code item()}) unless {@link #setTrimPadding(boolean)} turns it off;
 * the encoder may stop early (see {@link BertEncoder}).
 */
public class BertModel extends Module implements dev.graft.engine.save.Savable {
    /**
     * Added to the attention scores of padding positions: the float32 minimum, as the Hugging Face BERT that exported
     * the all-MiniLM-L6-v2 ONNX file computes {@code (1 - mask) * torch.finfo(float32).min}.
     */
    public static final float MASKED_SCORE = -Float.MAX_VALUE;

    private final BertConfig config;
    private final Submodule embeddings;
    private final Submodule encoder;
    private final Submodule pooler;
    private boolean trimPadding = true;
    private final boolean addPoolingLayer;
    private final boolean exitHeads;

    /** A model without pooler and without exit heads (as the sentence-embedding ONNX file). */
    public BertModel(BertConfig config) {
        this(config, false, false);
    }

    public BertModel(BertConfig config, boolean addPoolingLayer, boolean exitHeads) {
        this.config = config;
        this.addPoolingLayer = addPoolingLayer;
        this.exitHeads = exitHeads;
        embeddings = submodule("embeddings", new BertEmbeddings(config));
        encoder = submodule("encoder", new BertEncoder(config, exitHeads));
        pooler = addPoolingLayer ? submodule("pooler", new BertPooler(config)) : null;
    }

    @Override
    public java.util.Map<String, Object> saveConfig() {
        java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("config", config.toMap());
        m.put("pooler", addPoolingLayer);
        m.put("exit_heads", exitHeads);
        m.put("trim_padding", trimPadding);
        m.put("exit_entropy_threshold", module("encoder") instanceof BertEncoder e ? e.exitEntropyThreshold() : Float.NaN);
        return m;
    }

    /** Rebuilds the model {@link #saveConfig()} describes (weights come from the saved file). */
    public static BertModel fromConfig(dev.graft.engine.save.SavedConfig c) {
        BertModel m = new BertModel(BertConfig.fromConfig(c.getConfig("config")), c.getBoolean("pooler"),
                c.getBoolean("exit_heads"));
        m.setTrimPadding(c.getBoolean("trim_padding"));
        float threshold = c.getFloat("exit_entropy_threshold");
        if (!Float.isNaN(threshold)) {
            ((BertEncoder) m.module("encoder")).setExitEntropyThreshold(threshold);
        }
        return m;
    }

    public BertConfig config() {
        return config;
    }

    /** Whether a padded batch is cut to its longest real sequence before the encoder (default on). */
    public void setTrimPadding(boolean on) {
        trimPadding = on;
    }

    public boolean trimPadding() {
        return trimPadding;
    }

    @Override
    protected Object forwardAny(Object... inputs) {
        Tensor inputIds = (Tensor) inputs[0];
        Tensor attentionMask = inputs.length > 1 ? (Tensor) inputs[1] : null;
        Tensor tokenTypeIds = inputs.length > 2 ? (Tensor) inputs[2] : null;

        Tensor extendedMask = null;
        if (attentionMask != null) {
            if (trimPadding) {
                // Padding beyond the longest real sequence changes nothing for the real tokens: drop it.
                int longest = (int) attentionMask.sum(1, false).max().item();
                if (longest < inputIds.size(1)) {
                    inputIds = inputIds.narrow(1, 0, longest);
                    attentionMask = attentionMask.narrow(1, 0, longest);
                    if (tokenTypeIds != null) {
                        tokenTypeIds = tokenTypeIds.narrow(1, 0, longest);
                    }
                }
            }
            extendedMask = extendedAttentionMask(attentionMask);
        }

        Tensor hidden = embeddings.call(inputIds, tokenTypeIds);
        BertEncoderOutput encoded = BertEncoderOutput.of(encoder.callAny(hidden, extendedMask),
                config.numHiddenLayers());
        Tensor pooled = null;
        if (pooler != null && !encoded.exitedEarly()) {
            pooled = pooler.call(encoded.hiddenState());
        }
        return new BertModelOutput(encoded.hiddenState(), pooled, attentionMask, encoded.layersRun(),
                encoded.exitLogits());
    }

    /** [B, S] mask of 1/0 -> [B, 1, 1, S] additive mask: 0 for real tokens, {@link #MASKED_SCORE} for padding. */
    static Tensor extendedAttentionMask(Tensor attentionMask) {
        Tensor mask = attentionMask.unsqueeze(1).unsqueeze(2).to(DType.FLOAT32);
        return mask.mul(-1f).add(1f).mul(MASKED_SCORE);
    }

    /** Convenience: runs the model (through {@link #callAny}) and returns the last hidden state. */
    public Tensor lastHiddenState(Tensor inputIds, Tensor attentionMask, Tensor tokenTypeIds) {
        return ((BertModelOutput) callAny(inputIds, attentionMask, tokenTypeIds)).lastHiddenState();
    }

    @Override
    protected String extraRepr() {
        return "layers=" + config.numHiddenLayers() + ", hidden=" + config.hiddenSize() + ", heads="
                + config.numAttentionHeads() + (trimPadding ? ", trim_padding" : "");
    }
}
