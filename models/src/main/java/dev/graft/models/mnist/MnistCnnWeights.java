package dev.graft.models.mnist;

import dev.graft.models.BundledAssets;
import dev.graft.ops.Tensor;

import java.io.IOException;
import java.util.Map;

/** The MNIST CNN's trained weights, shipped in the jar ({@code graft train mnist} writes them). */
public final class MnistCnnWeights {
    /** The bundled state dict's asset name. */
    public static final String ASSET = "mnist-cnn.safetensors";

    private MnistCnnWeights() {
    }

    /** The CNN with the bundled weights, in eval mode, or null when this build has none. */
    public static MnistCnn bundled(float exitThreshold) throws IOException {
        Map<String, Tensor> state = BundledAssets.safetensors(ASSET);
        if (state == null) {
            return null;
        }
        MnistCnn model = new MnistCnn(exitThreshold);
        model.loadStateDict(state);
        model.eval();
        return model;
    }
}
