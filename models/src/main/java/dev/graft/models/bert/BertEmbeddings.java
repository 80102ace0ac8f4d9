package dev.graft.models.bert;

import dev.graft.engine.Module;
import dev.graft.engine.Submodule;
import dev.graft.engine.nn.Dropout;
import dev.graft.engine.nn.Embedding;
import dev.graft.engine.nn.LayerNorm;
import dev.graft.ops.DType;
import dev.graft.ops.Tensor;

/**
 * Word + position + token-type embeddings, then LayerNorm and dropout. Inputs: {@code input_ids} [B, S] and
 * optional {@code token_type_ids} [B, S] (zeros when null). The {@code position_ids} buffer [1, max] holds
 * 0..max-1 as in Hugging Face's BERT.
 */
public class BertEmbeddings extends Module {
    private final Submodule wordEmbeddings;
    private final Submodule positionEmbeddings;
    private final Submodule tokenTypeEmbeddings;
    private final Submodule layerNorm;
    private final Submodule dropout;
    private final Tensor positionIds;

    public BertEmbeddings(BertConfig config) {
        wordEmbeddings = submodule("word_embeddings", new Embedding(config.vocabSize(), config.hiddenSize()));
        positionEmbeddings = submodule("position_embeddings",
                new Embedding(config.maxPositionEmbeddings(), config.hiddenSize()));
        tokenTypeEmbeddings = submodule("token_type_embeddings",
                new Embedding(config.typeVocabSize(), config.hiddenSize()));
        layerNorm = submodule("LayerNorm", new LayerNorm(config.hiddenSize(), config.layerNormEps()));
        dropout = submodule("dropout", new Dropout(config.hiddenDropoutProb()));
        positionIds = registerBuffer("position_ids",
                Tensor.arange(config.maxPositionEmbeddings()).unsqueeze(0).contiguous());
    }

    @Override
    protected Tensor forward(Tensor... inputs) {
        Tensor inputIds = inputs[0];
        Tensor tokenTypeIds = inputs.length > 1 ? inputs[1] : null;
        if (tokenTypeIds == null) {
            tokenTypeIds = inputIds.zerosLike(DType.INT64);
        }
        // The positions are cut to the sequence length by an op, not by reading the length here: a traced
        // embedding block then holds for every length (narrow_like refuses sequences longer than the table).
        Tensor positions = positionIds.narrowLike(1, inputIds, 1);
        Tensor embeddings = wordEmbeddings.call(inputIds).add(tokenTypeEmbeddings.call(tokenTypeIds));
        embeddings = embeddings.add(positionEmbeddings.call(positions));
        return dropout.call(layerNorm.call(embeddings));
    }
}
