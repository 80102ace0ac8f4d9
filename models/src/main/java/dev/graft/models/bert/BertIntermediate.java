package dev.graft.models.bert;

import dev.graft.engine.Module;
import dev.graft.engine.Submodule;
import dev.graft.engine.nn.GELU;
import dev.graft.engine.nn.Linear;
import dev.graft.ops.Tensor;

/** The first half of the feed-forward block: {@code gelu(dense(x))}, hidden -> intermediate, GELU in erf form. */
public class BertIntermediate extends Module {
    private final Submodule dense;
    private final Submodule activation;

    public BertIntermediate(BertConfig config) {
        dense = submodule("dense", new Linear(config.hiddenSize(), config.intermediateSize()));
        activation = submodule("intermediate_act_fn", new GELU());
    }

    @Override
    protected Tensor forward(Tensor... inputs) {
        return activation.call(dense.call(single(inputs)));
    }
}
