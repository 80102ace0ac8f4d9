package dev.graft.models.mnist;

import dev.graft.engine.Init;
import dev.graft.engine.ProgressListener;
import dev.graft.engine.autograd.Autograd;
import dev.graft.engine.quant.passes.StaticQuantizer;
import dev.graft.engine.quant.qat.QatOptions;
import dev.graft.engine.quant.report.QuantizationReport;
import dev.graft.engine.trace.Partition;
import dev.graft.engine.train.Dataset;
import dev.graft.engine.train.LearningRateSchedule;
import dev.graft.engine.train.Optimizer;
import dev.graft.engine.train.Sgd;
import dev.graft.engine.train.Trainer;
import dev.graft.models.QuantizedModel;

import java.util.List;

/**
 * How the MNIST CNN is quantized for the results table ({@code docs/RESULTS.md}): static INT8 with the x86 defaults,
 * and QAT with conv-bn kept unfused. Both run on a partition of the FP32 model and change it in place.
 */
public final class MnistCnnRecipes {
    /** The seed of the QAT fine-tuning (data order, initial state of the optimizer). */
    public static final long SEED = 20240601L;

    private MnistCnnRecipes() {
    }

    /** Static INT8: histogram observers over the calibration batches. */
    public static QuantizedModel staticInt8(Partition p, List<Object[]> calibration, ProgressListener progress) {
        StaticQuantizer.Prepared prepared = StaticQuantizer.prepare(p, StaticQuantizer.defaultMapping());
        StaticQuantizer.calibrate(prepared, calibration, progress);
        return new QuantizedModel(p, StaticQuantizer.convert(prepared), "static INT8, histogram observers, "
                + calibrationImages(calibration) + " calibration images");
    }

    /**
     * QAT: conv-bn kept unfused (BN frozen after 100 steps), observers calibrated on {@code calibration}, one pass of
     * SGD over {@code train} under fake quantization, then converted.
     */
    public static QuantizedModel qat(Partition p, List<Object[]> calibration, Dataset train,
                                     ProgressListener progress) {
        StaticQuantizer.Prepared qp = StaticQuantizer.prepareQat(p, StaticQuantizer.qatMapping(),
                QatOptions.convBn(100));
        try (var g = Autograd.noGrad()) {
            StaticQuantizer.calibrate(qp, calibration, progress);
        }
        int batch = 64;
        long steps = Trainer.stepsPerEpoch(train.size(), batch);
        Init.manualSeed(SEED);
        Sgd sgd = new Sgd(Optimizer.trainable(p.model()), 2e-3, 0.9, 0, true);
        Trainer trainer = new Trainer(p.model(), sgd, LearningRateSchedule.cosine(2e-3, steps, 0),
                Trainer.Objective.crossEntropy(), batch, SEED);
        trainer.fit(train, 1, progress);
        qp.enableObservers(false);
        QuantizationReport report = StaticQuantizer.convert(qp);
        p.model().eval();
        return new QuantizedModel(p, report, "QAT: " + train.size() + " images, 1 pass, conv-bn unfused"
                + " (BN frozen after 100 steps), converted");
    }

    private static long calibrationImages(List<Object[]> calibration) {
        long n = 0;
        for (Object[] b : calibration) {
            n += ((dev.graft.ops.Tensor) b[0]).size(0);
        }
        return n;
    }
}
