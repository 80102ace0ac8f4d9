package dev.graft.models.bert;

/** The feed-forward block's output projection (intermediate -> hidden) with residual and LayerNorm. */
public class BertOutput extends BertSelfOutput {
    public BertOutput(BertConfig config) {
        super(config, config.intermediateSize());
    }
}
