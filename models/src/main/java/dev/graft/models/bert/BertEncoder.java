package dev.graft.models.bert;

import dev.graft.engine.Module;
import dev.graft.engine.nn.ModuleList;
import dev.graft.ops.F;
import dev.graft.ops.Tensor;

/**
 * The stack of {@link BertLayer}s ({@code layer.0 .. layer.N-1}), with optional early exit in the manner of DeeBERT:
 * when built with exit heads ({@code highway.0 .. highway.N-2}) and given an entropy threshold, after each layer the
 * head's prediction entropy is computed, and if every sequence of the batch is below the threshold the encoder stops
 * there. Early exit is off by default (threshold NaN).
 *
 * <p>Inputs: hidden [B, S, H], optional extended mask [B, 1, 1, S]. Output: tensors only, so that the tracer can
 * claim the whole encoder when early exit is off: {@code {hidden}} when every layer ran, {@code {hidden, exitLogits,
 * layersRun}} (layersRun an int64 scalar) after an early exit; {@link BertEncoderOutput#of} reads either.
 */
public class BertEncoder extends Module {
    private final ModuleList layers;
    private final ModuleList highway;
    private float exitEntropyThreshold = Float.NaN;

    public BertEncoder(BertConfig config, boolean exitHeads) {
        layers = registerModule("layer", new ModuleList());
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            layers.add(new BertLayer(config));
        }
        if (exitHeads) {
            highway = registerModule("highway", new ModuleList());
            for (int i = 0; i < config.numHiddenLayers() - 1; i++) {
                highway.add(new BertHighway(config));
            }
        } else {
            highway = null;
        }
    }

    /** Stop after a layer whose exit head has entropy below {@code threshold} (nats) on every sequence; NaN: never. */
    public void setExitEntropyThreshold(float threshold) {
        if (!Float.isNaN(threshold) && highway == null) {
            throw new IllegalStateException("BertEncoder was built without exit heads; early exit is not available");
        }
        exitEntropyThreshold = threshold;
    }

    public float exitEntropyThreshold() {
        return exitEntropyThreshold;
    }

    public boolean hasExitHeads() {
        return highway != null;
    }

    public int numLayers() {
        return layers.size();
    }

    @Override
    protected Object forwardAny(Object... inputs) {
        Tensor hidden = (Tensor) inputs[0];
        Tensor extendedMask = inputs.length > 1 ? (Tensor) inputs[1] : null;
        boolean earlyExit = highway != null && !Float.isNaN(exitEntropyThreshold);
        int layersRun = 0;
        Tensor exitLogits = null;
        for (int i = 0; i < layers.size(); i++) {
            hidden = layers.get(i).call(hidden, extendedMask);
            layersRun = i + 1;
            if (earlyExit && i < highway.size()) {
                Tensor logits = highway.get(i).call(hidden);
                // A data-dependent decision: the tracer cannot follow it, so with early exit on this
                // module stays eager (its layers are still traced one by one).
                if (entropy(logits).max().item() < exitEntropyThreshold) {
                    exitLogits = logits;
                    break;
                }
            }
        }
        if (exitLogits == null) {
            return new Tensor[] {hidden};
        }
        return new Tensor[] {hidden, exitLogits, Tensor.ofLongs(new long[] {layersRun})};
    }

    /** Entropy in nats of softmax(logits) along the last dimension: [B, C] -> [B]. */
    static Tensor entropy(Tensor logits) {
        Tensor logProbs = F.logSoftmax(logits, -1);
        return logProbs.exp().mul(logProbs).sum(-1, false).neg();
    }
}
