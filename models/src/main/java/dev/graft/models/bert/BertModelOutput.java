package dev.graft.models.bert;

import dev.graft.ops.Tensor;

/**
 * What {@link BertModel} returns.
 *
 * @param lastHiddenState [B, S', H], where S' is the input length, or the longest real sequence when the model
 *                        trimmed a padded batch
 * @param poolerOutput    [B, H], or null for a model without pooler (or when an exit head stopped the encoder)
 * @param attentionMask   the mask that goes with {@code lastHiddenState} (trimmed like it), or null when none was given
 * @param layersRun       encoder layers that ran (fewer than all after an early exit)
 * @param exitLogits      the logits of the exit head that stopped the encoder, or null
 */
public record BertModelOutput(Tensor lastHiddenState, Tensor poolerOutput, Tensor attentionMask, int layersRun,
                              Tensor exitLogits) {
}
