package dev.graft.models.bert;

import dev.graft.engine.Module;
import dev.graft.engine.Submodule;
import dev.graft.engine.nn.Linear;
import dev.graft.engine.nn.Tanh;
import dev.graft.ops.Tensor;

/** {@code tanh(dense(hidden[:, 0]))}: the [CLS] token's state through a dense layer, [B, S, H] -> [B, H]. */
public class BertPooler extends Module {
    private final Submodule dense;
    private final Submodule activation;

    public BertPooler(BertConfig config) {
        dense = submodule("dense", new Linear(config.hiddenSize(), config.hiddenSize()));
        activation = submodule("activation", new Tanh());
    }

    @Override
    protected Tensor forward(Tensor... inputs) {
        Tensor firstToken = single(inputs).select(1, 0);
        return activation.call(dense.call(firstToken));
    }
}
