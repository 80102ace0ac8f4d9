package dev.graft.conformance;

import dev.graft.models.BundledAssets;
import dev.graft.models.mnist.MnistCnnWeights;
import dev.graft.ops.Tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.Optional;

/** The trained weights the models jar bundles, for tests that check accuracy ({@code graft train} writes them). */
public final class TrainedWeights {
    private TrainedWeights() {
    }

    /** The MNIST CNN's state dict. */
    public static Map<String, Tensor> mnistCnn() {
        try {
            return Required.present(Optional.ofNullable(BundledAssets.safetensors(MnistCnnWeights.ASSET)),
                    "the bundled MNIST CNN weights " + MnistCnnWeights.ASSET);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
