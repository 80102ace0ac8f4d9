package dev.graft.conformance.train;

import dev.graft.conformance.Required;
import dev.graft.conformance.SharedData;
import dev.graft.engine.Init;
import dev.graft.engine.train.Dataset;
import dev.graft.engine.train.LearningRateSchedule;
import dev.graft.engine.train.Optimizer;
import dev.graft.engine.train.Sgd;
import dev.graft.engine.train.Trainer;
import dev.graft.formats.data.IdxReader;
import dev.graft.models.mnist.MnistCnn;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The real MNIST data, a small subset: the CNN trained from scratch on 1,024 images for 2 epochs must already
 * classify held-out test images far above chance (the full run, {@code graft train mnist}, reaches 99%).
 */
class MnistTinyTrainingTest {

    @Test
    void smallSubsetTrainsToAModestAccuracy() {
        Optional<Path> images = SharedData.dataFile("mnist", "train-images-idx3-ubyte.gz");
        Optional<Path> labels = SharedData.dataFile("mnist", "train-labels-idx1-ubyte.gz");
        Optional<Path> testImages = SharedData.dataFile("mnist", "t10k-images-idx3-ubyte.gz");
        Optional<Path> testLabels = SharedData.dataFile("mnist", "t10k-labels-idx1-ubyte.gz");
        Required.require(images.isPresent() && labels.isPresent() && testImages.isPresent() && testLabels.isPresent(),
                "the MNIST data set");
        Dataset train = new Dataset(IdxReader.readImages(images.get(), 1024), IdxReader.readLabels(labels.get(), 1024));
        Dataset test = new Dataset(IdxReader.readImages(testImages.get(), 500),
                IdxReader.readLabels(testLabels.get(), 500));
        Init.manualSeed(1);
        MnistCnn model = new MnistCnn();
        int batch = 32;
        long steps = Trainer.stepsPerEpoch(train.size(), batch) * 2;
        Sgd sgd = new Sgd(Optimizer.trainable(model), 0.02, 0.9, 5e-4, true);
        Trainer trainer = new Trainer(model, sgd, LearningRateSchedule.cosine(0.02, steps - 10, 0).withWarmup(10),
                Trainer.Objective.crossEntropy(), batch, 1);
        List<Trainer.EpochResult> epochs = trainer.fit(train, 2, (d, t, m) -> { });
        double accuracy = Trainer.accuracy(model, test, 250);
        assertTrue(epochs.get(1).loss() < epochs.get(0).loss(), epochs.toString());
        assertTrue(accuracy > 0.8, "test accuracy after 2 epochs on 1,024 images: " + accuracy + " " + epochs
                + " train(eval) " + Trainer.accuracy(model, train, 256));
    }
}
