package dev.graft.models.bert;

import dev.graft.engine.Module;
import dev.graft.engine.Submodule;
import dev.graft.ops.Tensor;

/** One transformer block: attention, then the feed-forward block. Inputs: hidden [B, S, H], optional extended mask. */
public class BertLayer extends Module {
    private final Submodule attention;
    private final Submodule intermediate;
    private final Submodule output;

    public BertLayer(BertConfig config) {
        attention = submodule("attention", new BertAttention(config));
        intermediate = submodule("intermediate", new BertIntermediate(config));
        output = submodule("output", new BertOutput(config));
    }

    @Override
    protected Tensor forward(Tensor... inputs) {
        Tensor attended = attention.call(inputs[0], inputs.length > 1 ? inputs[1] : null);
        return output.call(intermediate.call(attended), attended);
    }
}
