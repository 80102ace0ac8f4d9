package dev.graft.models.bert;

import dev.graft.engine.Module;
import dev.graft.engine.Submodule;
import dev.graft.engine.nn.Dropout;
import dev.graft.engine.nn.Linear;
import dev.graft.ops.Tensor;

/**
 * An intermediate classifier after one encoder layer, as DeeBERT's "highway": pooler, dropout, linear. It lets the
 * encoder stop early when this classifier is already confident. Input: hidden [B, S, H]; output: logits [B, labels].
 */
public class BertHighway extends Module {
    private final Submodule pooler;
    private final Submodule dropout;
    private final Submodule classifier;

    public BertHighway(BertConfig config) {
        pooler = submodule("pooler", new BertPooler(config));
        dropout = submodule("dropout", new Dropout(config.hiddenDropoutProb()));
        classifier = submodule("classifier", new Linear(config.hiddenSize(), config.numLabels()));
    }

    @Override
    protected Tensor forward(Tensor... inputs) {
        return classifier.call(dropout.call(pooler.call(single(inputs))));
    }
}
