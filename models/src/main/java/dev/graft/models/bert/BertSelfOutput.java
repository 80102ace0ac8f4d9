package dev.graft.models.bert;

import dev.graft.engine.Module;
import dev.graft.engine.Submodule;
import dev.graft.engine.nn.Dropout;
import dev.graft.engine.nn.LayerNorm;
import dev.graft.engine.nn.Linear;
import dev.graft.ops.Tensor;

/**
 * The projection after a sub-layer with its residual: {@code LayerNorm(dropout(dense(x)) + residual)}. Hugging Face
 * names it BertSelfOutput after attention (hidden -> hidden) and BertOutput after the feed-forward block
 * (intermediate -> hidden); both are this class. Inputs: x, residual.
 */
public class BertSelfOutput extends Module {
    private final Submodule dense;
    private final Submodule layerNorm;
    private final Submodule dropout;

    public BertSelfOutput(BertConfig config, int inFeatures) {
        dense = submodule("dense", new Linear(inFeatures, config.hiddenSize()));
        layerNorm = submodule("LayerNorm", new LayerNorm(config.hiddenSize(), config.layerNormEps()));
        dropout = submodule("dropout", new Dropout(config.hiddenDropoutProb()));
    }

    @Override
    protected Tensor forward(Tensor... inputs) {
        Tensor x = dropout.call(dense.call(inputs[0]));
        return layerNorm.call(x.add(inputs[1]));
    }
}
