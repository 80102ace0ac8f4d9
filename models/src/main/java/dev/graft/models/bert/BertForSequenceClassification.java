package dev.graft.models.bert;

import dev.graft.engine.Module;
import dev.graft.engine.Submodule;
import dev.graft.engine.nn.Dropout;
import dev.graft.engine.nn.Linear;
import dev.graft.ops.Tensor;

/**
 * BERT with a classification head: {@code classifier(dropout(pooler_output))}, as Hugging Face's
 * {@code BertForSequenceClassification}. Built with exit heads, it can stop after any layer whose intermediate
 * classifier is confident (entropy below a threshold, as DeeBERT); that is off until
 * {@link #setEarlyExitThreshold(float)} is called.
 *
 * <p>Inputs as {@link BertModel}; output: logits [B, numLabels] (the exit head's, when the encoder stopped early).
 */
public class BertForSequenceClassification extends Module implements dev.graft.engine.save.Savable {
    private final Submodule bert;
    private final Submodule dropout;
    private final Submodule classifier;
    private final BertConfig config;
    private final boolean exitHeads;

    public BertForSequenceClassification(BertConfig config, boolean exitHeads) {
        this.config = config;
        this.exitHeads = exitHeads;
        bert = submodule("bert", new BertModel(config, true, exitHeads));
        dropout = submodule("dropout", new Dropout(config.hiddenDropoutProb()));
        classifier = submodule("classifier", new Linear(config.hiddenSize(), config.numLabels()));
    }

    /** Entropy threshold (nats) for early exit; NaN turns early exit off. Needs a model built with exit heads. */
    public void setEarlyExitThreshold(float threshold) {
        if (!(module("bert.encoder") instanceof BertEncoder encoder)) {
            throw new IllegalStateException("bert.encoder has been replaced; set the threshold before replacing it");
        }
        encoder.setExitEntropyThreshold(threshold);
    }

    @Override
    public java.util.Map<String, Object> saveConfig() {
        java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("config", config.toMap());
        m.put("exit_heads", exitHeads);
        if (module("bert") instanceof BertModel b) {
            m.put("trim_padding", b.trimPadding());
        }
        if (module("bert.encoder") instanceof BertEncoder e) {
            m.put("exit_entropy_threshold", e.exitEntropyThreshold());
        }
        return m;
    }

    /** Rebuilds the classifier {@link #saveConfig()} describes (weights come from the saved file). */
    public static BertForSequenceClassification fromConfig(dev.graft.engine.save.SavedConfig c) {
        BertForSequenceClassification m = new BertForSequenceClassification(BertConfig.fromConfig(c.getConfig("config")),
                c.getBoolean("exit_heads"));
        if (c.has("trim_padding")) {
            ((BertModel) m.module("bert")).setTrimPadding(c.getBoolean("trim_padding"));
        }
        if (c.has("exit_entropy_threshold") && !Float.isNaN(c.getFloat("exit_entropy_threshold"))) {
            m.setEarlyExitThreshold(c.getFloat("exit_entropy_threshold"));
        }
        return m;
    }

    /** Runs the model and tells how many layers ran. */
    public Classification classify(Tensor inputIds, Tensor attentionMask, Tensor tokenTypeIds) {
        BertModelOutput out = (BertModelOutput) bert.callAny(inputIds, attentionMask, tokenTypeIds);
        if (out.exitLogits() != null) {
            return new Classification(out.exitLogits(), out.layersRun());
        }
        Tensor logits = classifier.call(dropout.call(out.poolerOutput()));
        return new Classification(logits, out.layersRun());
    }

    @Override
    protected Tensor forward(Tensor... inputs) {
        return classify(inputs[0], inputs.length > 1 ? inputs[1] : null, inputs.length > 2 ? inputs[2] : null)
                .logits();
    }

    /** Logits [B, labels] and the number of encoder layers that ran. */
    public record Classification(Tensor logits, int layersRun) {
    }
}
