package dev.graft.conformance.ptq;

import dev.graft.conformance.Required;
import dev.graft.conformance.SharedData;
import dev.graft.conformance.TrainedWeights;
import dev.graft.engine.Init;
import dev.graft.engine.autograd.Autograd;
import dev.graft.engine.quant.passes.StaticQuantizer;
import dev.graft.engine.quant.report.QuantizationReport;
import dev.graft.engine.trace.Partition;
import dev.graft.engine.trace.Partitioner;
import dev.graft.engine.train.Dataset;
import dev.graft.engine.train.LearningRateSchedule;
import dev.graft.engine.train.Optimizer;
import dev.graft.engine.train.Sgd;
import dev.graft.engine.train.Trainer;
import dev.graft.formats.data.IdxReader;
import dev.graft.models.mnist.MnistCnn;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A short quantization-aware fine-tune of the MNIST CNN through the partitioned model (its eager early-exit test
 * between the blocks included): {@link StaticQuantizer#prepareQat}, one pass over 384 training images, observers
 * frozen, {@link StaticQuantizer#convert}. The converted model is the same kind as static PTQ's (every block INT8,
 * one quantize in and one dequantize out), keeps the accuracy (trained weights: within 0.5 points of FP32 on 1,000
 * test images) and agrees with the QAT forward it was trained as.
 */
class MnistCnnQatTest {
    static final int TRAIN = 384;
    static final int EVALUATE = 1_000;

    @Test
    void aShortQatFineTuneConvertsToTheStaticInt8ModelKindAndKeepsAccuracy() {
        Path dir = Required.present(SharedData.dataFile("mnist", "t10k-images-idx3-ubyte.gz"), "the MNIST data set")
                .getParent();
        Map<String, Tensor> trained = TrainedWeights.mnistCnn();
        Init.manualSeed(20261126L);
        MnistCnn model = new MnistCnn();
        model.loadStateDict(trained);
        model.eval();
        Dataset train = new Dataset(IdxReader.readImages(dir.resolve("train-images-idx3-ubyte.gz"), TRAIN),
                IdxReader.readLabels(dir.resolve("train-labels-idx1-ubyte.gz"), TRAIN));
        Dataset test = new Dataset(IdxReader.readImages(dir.resolve("t10k-images-idx3-ubyte.gz"), EVALUATE),
                IdxReader.readLabels(dir.resolve("t10k-labels-idx1-ubyte.gz"), EVALUATE));
        double fp32 = Trainer.accuracy(model, test, 500);

        long t0 = System.nanoTime();
        Tensor images = train.inputs(range(0, TRAIN));
        Partition p = Partitioner.partition(model, images.narrow(0, 0, 2));
        StaticQuantizer.Prepared qat = StaticQuantizer.prepareQat(p, StaticQuantizer.qatMapping());
        List<Object[]> warmUp = new ArrayList<>();
        for (int start = 0; start < TRAIN; start += 128) {
            warmUp.add(new Object[] {images.narrow(0, start, 128)});
        }
        try (var g = Autograd.noGrad()) {
            StaticQuantizer.calibrate(qat, warmUp, (d, t, m) -> { });
        }
        double lr = 1e-3;
        Trainer trainer = new Trainer(model, new Sgd(Optimizer.trainable(model), lr, 0.9, 0, true),
                LearningRateSchedule.cosine(lr, Trainer.stepsPerEpoch(TRAIN, 64), 0),
                Trainer.Objective.crossEntropy(), 64, 5);
        Trainer.EpochResult r = trainer.fit(train, 1, (d, t, m) -> { }).get(0);
        qat.enableObservers(false);
        int[] fakeQuantized = predict(model, test);
        double qatForward = accuracy(fakeQuantized, test);
        QuantizationReport report = StaticQuantizer.convert(qat);
        int[] int8 = predict(model, test);
        double converted = accuracy(int8, test);
        int agree = 0;
        for (int i = 0; i < EVALUATE; i++) {
            agree += fakeQuantized[i] == int8[i] ? 1 : 0;
        }
        System.out.printf("MNIST QAT (%s weights): %s; %d test images: FP32 %.2f%%, QAT forward %.2f%%, converted INT8"
                + " %.2f%%, top-1 agreement QAT/INT8 %.2f%%; %.1f s%n", "trained",
                r, EVALUATE, 100 * fp32, 100 * qatForward, 100 * converted, 100.0 * agree / EVALUATE,
                (System.nanoTime() - t0) / 1e9);
        System.out.print(report.describe());

        assertTrue(report.notReached().isEmpty() && report.keptFp32().isEmpty(), report.describe());
        for (QuantizationReport.Block b : report.blocks()) {
            assertEquals(b.path().equals("pool") ? 0 : 2, b.conversions(), "one quantize in, one dequantize out: "
                    + b.path());
        }
        assertEquals(1, report.blocks().stream().filter(b -> b.path().equals("residual")).findFirst().orElseThrow()
                .int8Ops().getOrDefault("quantized_add_relu", 0));
        assertTrue(agree >= EVALUATE * 0.99, "QAT forward and converted INT8 agree on " + agree + "/" + EVALUATE);
        assertTrue(fp32 - converted <= 0.005, "FP32 " + fp32 + ", QAT INT8 " + converted);
    }

    private static int[] range(int from, int to) {
        int[] idx = new int[to - from];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = from + i;
        }
        return idx;
    }

    private static int[] predict(MnistCnn model, Dataset data) {
        int[] out = new int[data.size()];
        try (var g = Autograd.noGrad()) {
            for (int from = 0; from < out.length; from += 500) {
                int to = Math.min(out.length, from + 500);
                long[] top = model.call(data.inputs(range(from, to))).argmax(1, false).toLongArray();
                for (int i = 0; i < top.length; i++) {
                    out[from + i] = (int) top[i];
                }
            }
        }
        return out;
    }

    private static double accuracy(int[] predicted, Dataset data) {
        long[] labels = data.labels(range(0, data.size())).toLongArray();
        int right = 0;
        for (int i = 0; i < labels.length; i++) {
            right += predicted[i] == labels[i] ? 1 : 0;
        }
        return (double) right / labels.length;
    }
}
