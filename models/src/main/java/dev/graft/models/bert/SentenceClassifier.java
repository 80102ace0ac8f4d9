package dev.graft.models.bert;

import dev.graft.engine.Module;
import dev.graft.engine.Submodule;
import dev.graft.engine.nn.Linear;
import dev.graft.engine.save.Savable;
import dev.graft.engine.save.SavedConfig;
import dev.graft.ops.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A sentence classifier on a BERT encoder, as sentence-transformers models are used for text classification: the
 * encoder's token states, mean-pooled over the real tokens ({@link SentencePooling#meanPool}), then a linear head.
 * The encoder trims padding (data-dependent), so this model does not trace as a whole: fine-grained tracing claims
 * the embeddings, each encoder layer and the head.
 *
 * <p>Inputs: input ids [B, S], attention mask [B, S] (1/0), token type ids [B, S] or null. Output: logits [B, labels].
 */
public final class SentenceClassifier extends Module implements Savable {
    private final BertConfig config;
    private final int labels;
    private final Submodule encoder;
    private final Submodule head;

    public SentenceClassifier(BertConfig config, int labels) {
        this.config = config;
        this.labels = labels;
        this.encoder = submodule("encoder", new BertModel(config));
        this.head = submodule("head", new Linear(config.hiddenSize(), labels));
    }

    /** Wraps an existing encoder and head (their weights are kept). */
    public SentenceClassifier(BertModel encoder, Linear head) {
        this.config = encoder.config();
        this.labels = head.outFeatures();
        this.encoder = submodule("encoder", encoder);
        this.head = submodule("head", head);
    }

    @Override
    protected Tensor forward(Tensor... inputs) {
        Tensor mask = inputs.length > 1 ? inputs[1] : null;
        Object out = encoder.callAny(inputs[0], mask, inputs.length > 2 ? inputs[2] : null);
        Tensor hidden = ((BertModelOutput) out).lastHiddenState();
        return head.call(SentencePooling.meanPool(hidden, mask));
    }

    /** The mean-pooled sentence features [B, hidden] the head reads (for training the head alone). */
    public Tensor features(Tensor inputIds, Tensor attentionMask, Tensor tokenTypeIds) {
        Object out = encoder.callAny(inputIds, attentionMask, tokenTypeIds);
        return SentencePooling.meanPool(((BertModelOutput) out).lastHiddenState(), attentionMask);
    }

    public BertConfig config() {
        return config;
    }

    @Override
    public Map<String, Object> saveConfig() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("config", config.toMap());
        m.put("labels", labels);
        if (module("encoder") instanceof BertModel b) {
            m.put("trim_padding", b.trimPadding());
        }
        return m;
    }

    /** Rebuilds the classifier {@link #saveConfig()} describes (weights come from the saved file). */
    public static SentenceClassifier fromConfig(SavedConfig c) {
        SentenceClassifier m = new SentenceClassifier(BertConfig.fromConfig(c.getConfig("config")), c.getInt("labels"));
        if (c.has("trim_padding")) {
            ((BertModel) m.module("encoder")).setTrimPadding(c.getBoolean("trim_padding"));
        }
        return m;
    }

    @Override
    protected String extraRepr() {
        return "labels=" + labels + ", mean pooling";
    }
}
