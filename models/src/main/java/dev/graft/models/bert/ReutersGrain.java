package dev.graft.models.bert;

import dev.graft.engine.Init;
import dev.graft.engine.Module;
import dev.graft.engine.ProgressListener;
import dev.graft.engine.autograd.Autograd;
import dev.graft.engine.nn.Linear;
import dev.graft.engine.nn.Sequential;
import dev.graft.engine.quant.QConfig;
import dev.graft.engine.quant.QConfigMapping;
import dev.graft.engine.quant.passes.DynamicQuantizer;
import dev.graft.engine.quant.passes.StaticQuantizer;
import dev.graft.engine.quant.report.QuantizationReport;
import dev.graft.engine.trace.Partition;
import dev.graft.engine.trace.Partitioner;
import dev.graft.engine.train.AdamW;
import dev.graft.engine.train.Dataset;
import dev.graft.engine.train.LearningRateSchedule;
import dev.graft.engine.train.Optimizer;
import dev.graft.engine.train.Trainer;
import dev.graft.formats.text.BertTokenizer;
import dev.graft.models.BundledAssets;
import dev.graft.models.QuantizedModel;
import dev.graft.ops.Tensor;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * MiniLM-L6 with the Reuters-21578 Grain head: a {@link SentenceClassifier} whose linear head ({@code 384 -> 2},
 * trained by {@code graft train reuters} on the frozen encoder's mean-pooled features) ships in the jar, and the
 * three ways the results table quantizes it ({@code docs/RESULTS.md}): dynamic, static, and static with a QAT head.
 */
public final class ReutersGrain {
    /** The bundled head's asset name (a {@code Linear(384, 2)} state dict). */
    public static final String HEAD_ASSET = "reuters-grain-head.safetensors";
    /** The seed of the QAT head's fine-tuning. */
    public static final long SEED = 20240601L;
    private static final int CALIBRATION_BATCH = 16;

    private ReutersGrain() {
    }

    /** The bundled head, in eval mode, or null when this build has none. */
    public static Linear bundledHead() throws IOException {
        Map<String, Tensor> state = BundledAssets.safetensors(HEAD_ASSET);
        if (state == null) {
            return null;
        }
        Linear head = new Linear(384, 2);
        head.loadStateDict(state);
        head.eval();
        return head;
    }

    /** MiniLM (from the ONNX file on the class path) with the bundled head, in eval mode. */
    public static SentenceClassifier classifier() throws IOException {
        if (!MiniLm.available()) {
            throw new IOException("MiniLM is not on the class path (" + MiniLm.MAVEN_COORDINATE + ")");
        }
        Linear head = bundledHead();
        if (head == null) {
            throw new IOException("no bundled Reuters head (run ./graft train reuters)");
        }
        SentenceClassifier m = new SentenceClassifier(MiniLm.load(), head);
        m.eval();
        return m;
    }

    /** One model input: token ids, attention mask and token types of {@code texts}, padded to the longest. */
    public static Object[] encode(List<String> texts) {
        BertTokenizer.Batch b = MiniLm.tokenizer().encodeBatch(new ArrayList<>(texts));
        return new Object[] {b.inputIds(), b.attentionMask(), b.tokenTypeIds()};
    }

    /** The calibration batches of the static recipes: the first {@code count} texts, 16 per batch. */
    public static List<Object[]> calibrationBatches(List<String> texts, int count) {
        List<Object[]> batches = new ArrayList<>();
        for (int from = 0; from < count; from += CALIBRATION_BATCH) {
            batches.add(encode(texts.subList(from, Math.min(count, from + CALIBRATION_BATCH))));
        }
        return batches;
    }

    /** Dynamic INT8 (PyTorch's defaults): the encoder's and the head's Linear layers, 8-bit activations per call. */
    public static QuantizedModel dynamic(Partition p) {
        QuantizationReport r = DynamicQuantizer.quantize(p, new QConfigMapping().global(QConfig.dynamicDefault()),
                false);
        return new QuantizedModel(p, r, "dynamic INT8 encoder and head (8-bit activations)");
    }

    /** Static INT8 with MiniLM's measured mapping ({@link MiniLm#staticMapping(String)}), head included. */
    public static QuantizedModel staticInt8(Partition p, List<Object[]> calibration, ProgressListener progress) {
        QuantizationReport report = staticEncoder(p, MiniLm.staticMapping("encoder"), calibration, progress);
        return new QuantizedModel(p, report, "static INT8, calibrated on " + documents(calibration)
                + " training documents");
    }

    /**
     * The static INT8 encoder, then the head fine-tuned under fake quantization on that INT8 encoder's features of
     * {@code trainTexts} ({@code epochs} passes, AdamW, cosine schedule), converted and grafted in place of the FP32
     * head block. The encoder stays frozen.
     */
    public static QuantizedModel qat(Partition p, List<Object[]> calibration, List<String> trainTexts, int[] labels,
                                     int epochs, ProgressListener progress) throws IOException {
        QConfigMapping mapping = MiniLm.staticMapping("encoder");
        mapping.byModuleName("head", null);   // the head is trained under fake-quant below
        QuantizationReport report = staticEncoder(p, mapping, calibration, progress);
        Module model = p.model();
        Dataset features = SentenceFeatures.embed((BertModel) model.module("encoder"), MiniLm.tokenizer(),
                trainTexts, labels, progress);
        Module qatHead = new Sequential(bundledHead());
        Partition hp = Partitioner.partition(qatHead, features.inputs(new int[] {0, 1}));
        StaticQuantizer.Prepared qp = StaticQuantizer.prepareQat(hp, StaticQuantizer.qatMapping());
        List<Object[]> headBatches = new ArrayList<>();
        for (int from = 0; from < features.size(); from += 256) {
            headBatches.add(new Object[] {rows(features, from, Math.min(features.size(), from + 256))});
        }
        try (var g = Autograd.noGrad()) {
            StaticQuantizer.calibrate(qp, headBatches, progress);
        }
        Init.manualSeed(SEED);
        long steps = Trainer.stepsPerEpoch(features.size(), 32) * epochs;
        AdamW adam = new AdamW(Optimizer.trainable(hp.model()), 1e-3, 0.9, 0.999, 1e-8, 1e-4);
        Trainer trainer = new Trainer(hp.model(), adam, LearningRateSchedule.cosine(1e-3, steps, 0),
                Trainer.Objective.crossEntropy(), 32, SEED);
        trainer.fit(features, epochs, progress);
        qp.enableObservers(false);
        StaticQuantizer.convert(qp);
        hp.model().eval();
        model.replaceModule("head", hp.model());
        return new QuantizedModel(p, report, "static INT8 encoder (" + documents(calibration)
                + " documents) + QAT head (" + trainTexts.size() + " documents x " + epochs + " epochs)");
    }

    private static QuantizationReport staticEncoder(Partition p, QConfigMapping mapping, List<Object[]> calibration,
                                                    ProgressListener progress) {
        StaticQuantizer.Prepared prepared = StaticQuantizer.prepare(p, mapping);
        StaticQuantizer.calibrate(prepared, calibration, progress);
        return StaticQuantizer.convert(prepared);
    }

    private static int documents(List<Object[]> batches) {
        int n = 0;
        for (Object[] b : batches) {
            n += ((Tensor) b[0]).size(0);
        }
        return n;
    }

    private static Tensor rows(Dataset d, int from, int to) {
        int[] idx = new int[to - from];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = from + i;
        }
        return d.inputs(idx);
    }
}
