package dev.graft.models.bert;

import dev.graft.engine.Module;
import dev.graft.engine.Submodule;
import dev.graft.engine.nn.Dropout;
import dev.graft.engine.nn.Linear;
import dev.graft.ops.F;
import dev.graft.ops.Tensor;

/**
 * Multi-head scaled dot-product self-attention. Inputs: hidden states [B, S, H] and an optional additive
 * {@code extended_attention_mask} [B, 1, 1, S] (0 where a token may be attended, a very negative number where not).
 */
public class BertSelfAttention extends Module {
    private final int numHeads;
    private final int headSize;
    private final Submodule query;
    private final Submodule key;
    private final Submodule value;
    private final Submodule dropout;

    public BertSelfAttention(BertConfig config) {
        numHeads = config.numAttentionHeads();
        headSize = config.headSize();
        query = submodule("query", new Linear(config.hiddenSize(), config.hiddenSize()));
        key = submodule("key", new Linear(config.hiddenSize(), config.hiddenSize()));
        value = submodule("value", new Linear(config.hiddenSize(), config.hiddenSize()));
        dropout = submodule("dropout", new Dropout(config.attentionProbsDropoutProb()));
    }

    /** [B, S, H] -> [B, heads, S, headSize], without reading B or S (so a trace holds for every shape). */
    private Tensor splitHeads(Tensor x) {
        return x.unflatten(-1, numHeads, headSize).permute(0, 2, 1, 3);
    }

    @Override
    protected Tensor forward(Tensor... inputs) {
        Tensor hidden = inputs[0];
        Tensor extendedMask = inputs.length > 1 ? inputs[1] : null;
        Tensor q = splitHeads(query.call(hidden));
        Tensor k = splitHeads(key.call(hidden));
        Tensor v = splitHeads(value.call(hidden));

        Tensor scores = q.matmul(k.transpose(-1, -2)).div((float) Math.sqrt(headSize));
        if (extendedMask != null) {
            scores = scores.add(extendedMask);
        }
        Tensor probs = dropout.call(F.softmax(scores, -1));
        Tensor context = probs.matmul(v).permute(0, 2, 1, 3).contiguous();
        return context.flatten(2, 3);
    }
}
