package dev.graft.conformance.models;

import dev.graft.conformance.Required;
import dev.graft.conformance.SharedData;
import dev.graft.engine.Init;
import dev.graft.engine.io.Safetensors;
import dev.graft.formats.data.IdxReader;
import dev.graft.models.mnist.MnistCnn;
import dev.graft.ops.DType;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** MnistCnn with files: its state dict through safetensors, and real MNIST digits through the IDX reader. */
class MnistCnnFilesTest {

    @Test
    void stateDictRoundTripsThroughSafetensors(@TempDir Path dir) {
        Init.manualSeed(11);
        MnistCnn a = new MnistCnn();
        a.eval();
        Init.manualSeed(12);
        MnistCnn b = new MnistCnn();
        b.eval();
        Path file = dir.resolve("mnist-cnn.safetensors");
        Safetensors.write(file, a.stateDict(), Map.of("model", "MnistCnn"));
        Safetensors.Contents c = Safetensors.readContents(file);
        assertEquals("MnistCnn", c.metadata().get("model"));
        assertEquals(a.stateDict().keySet(), c.tensors().keySet());
        b.loadStateDict(c.tensors());
        Tensor x = Tensor.rand(new java.util.Random(1), 0f, 1f, 2, 1, 28, 28);
        assertArrayEquals(a.call(x).toFloatArray(), b.call(x).toFloatArray());
    }

    @Test
    void realMnistDigitsFlowThroughTheModel() {
        Optional<Path> images = SharedData.dataFile("mnist", "t10k-images-idx3-ubyte.gz");
        Optional<Path> labels = SharedData.dataFile("mnist", "t10k-labels-idx1-ubyte.gz");
        Required.require(images.isPresent() && labels.isPresent(), "the MNIST test files");
        Tensor x = IdxReader.readImages(images.get(), 8);
        Tensor y = IdxReader.readLabels(labels.get(), 8);
        assertArrayEquals(new int[] {8, 1, 28, 28}, x.shape());
        assertEquals(DType.INT64, y.dtype());
        // The first test digits of MNIST are 7, 2, 1, 0, 4, 1, 4, 9.
        assertArrayEquals(new long[] {7, 2, 1, 0, 4, 1, 4, 9}, y.toLongArray());
        float[] pixels = x.toFloatArray();
        float max = 0;
        for (float p : pixels) {
            assertTrue(p >= 0f && p <= 1f);
            max = Math.max(max, p);
        }
        assertEquals(1f, max, 1e-6);
        Init.manualSeed(5);
        MnistCnn m = new MnistCnn(0.99f);
        m.eval();
        assertArrayEquals(new int[] {8, 10}, m.call(x).shape());
        // The full files: 10,000 test images of 28x28.
        assertArrayEquals(new int[] {10000, 28, 28}, IdxReader.read(images.get()).shape());
    }
}
