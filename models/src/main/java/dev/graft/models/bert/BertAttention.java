package dev.graft.models.bert;

import dev.graft.engine.Module;
import dev.graft.engine.Submodule;
import dev.graft.ops.Tensor;

/** Self-attention and its output projection with residual. Inputs: hidden [B, S, H], optional extended mask. */
public class BertAttention extends Module {
    private final Submodule self;
    private final Submodule output;

    public BertAttention(BertConfig config) {
        self = submodule("self", new BertSelfAttention(config));
        output = submodule("output", new BertSelfOutput(config, config.hiddenSize()));
    }

    @Override
    protected Tensor forward(Tensor... inputs) {
        Tensor hidden = inputs[0];
        Tensor extendedMask = inputs.length > 1 ? inputs[1] : null;
        return output.call(self.call(hidden, extendedMask), hidden);
    }
}
