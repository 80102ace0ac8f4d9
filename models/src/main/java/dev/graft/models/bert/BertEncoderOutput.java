package dev.graft.models.bert;

import dev.graft.ops.Tensor;

/**
 * What the encoder returns: the hidden states after the last layer it ran, how many layers ran, and the logits of
 * the intermediate classifier that stopped it early (null when all layers ran).
 */
public record BertEncoderOutput(Tensor hiddenState, int layersRun, Tensor exitLogits) {
    /** Reads what {@link BertEncoder} returns: {@code {hidden}}, or {@code {hidden, exitLogits, layersRun}}. */
    public static BertEncoderOutput of(Object encoderResult, int numLayers) {
        if (!(encoderResult instanceof Tensor[] out) || (out.length != 1 && out.length != 3)) {
            throw new IllegalArgumentException("not a BertEncoder result: " + encoderResult);
        }
        if (out.length == 1) {
            return new BertEncoderOutput(out[0], numLayers, null);
        }
        return new BertEncoderOutput(out[0], (int) out[2].itemLong(), out[1]);
    }

    public boolean exitedEarly() {
        return exitLogits != null;
    }
}
