package dev.graft.cli;

import dev.graft.engine.quant.QConfig;
import dev.graft.engine.quant.QConfigMapping;
import dev.graft.engine.quant.convert.DynamicQuantizer;
import dev.graft.engine.quant.convert.LayerErrorReport;
import dev.graft.engine.quant.convert.QuantizationReport;
import dev.graft.engine.trace.Partition;
import dev.graft.engine.trace.PartitionNode;
import dev.graft.engine.trace.PartitionPicture;
import dev.graft.engine.trace.Partitioner;
import dev.graft.formats.image.Images;
import dev.graft.formats.models.MiniLm;
import dev.graft.formats.text.BertTokenizer;
import dev.graft.models.bert.BertModel;
import dev.graft.models.bert.SentencePooling;
import dev.graft.models.nanodet.Detection;
import dev.graft.ops.Tensor;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;

/** The demo's parts on the reference models: partitions, MiniLM FP32 vs INT8, NanoDet detections. */
final class DemoModels {
    private DemoModels() {
    }

    /** Partitions each model, checks the reassembled model against the original, draws the partition. */
    static void partitions(PrintStream out, Path outDir) throws IOException {
        for (String name : ReferenceModels.NAMES) {
            ReferenceModels.Example ex = ReferenceModels.load(name);
            Object before = ex.model().callAny(ex.inputs());
            Partition p = Partitioner.partition(ex.model(), ex.inputs());
            Object after = p.model().callAny(ex.inputs());
            PartitionNode root = p.tree();
            out.printf("%n%s: %s%n", name, ex.description());
            out.printf("  %d traced blocks, %d eager modules with control flow; root: %s%n",
                    p.withStatus(PartitionNode.Status.TRACED).size(),
                    p.withStatus(PartitionNode.Status.EAGER_CONTROL_FLOW).size(),
                    root.status() == PartitionNode.Status.TRACED ? "traced whole"
                            : root.reason() + " at " + root.sourceLine());
            for (PartitionNode n : p.withStatus(PartitionNode.Status.TRACED)) {
                if (n.computeNodes() >= 5) {
                    out.printf("    traced %-28s %3d ops%n", n.path(), n.computeNodes());
                }
            }
            out.println("  reassembled vs original: " + (PartitionCommand.bitIdentical(before, after)
                    ? "bit-identical" : "DIFFERENT"));
            Path svg = outDir.resolve("partition-" + name + ".svg");
            PartitionCommand.writeAtomically(svg, PartitionPicture.svg("Fine-grained partition: "
                    + ex.description(), p));
            out.println("  picture: " + svg);
        }
    }

    /** The trained MNIST CNN on the drawn digits, FP32 and static INT8 (calibrated on the digits themselves). */
    static void digits(PrintStream out) throws IOException {
        ReferenceModels.Example ex = ReferenceModels.cnn();
        Tensor images = (Tensor) ex.inputs()[0];
        Tensor fp32 = dev.graft.ops.F.softmax(ex.model().call(images), 1);
        Partition p = Partitioner.partition(ex.model(), ex.inputs());
        var prepared = dev.graft.engine.quant.convert.StaticQuantizer.prepare(p,
                dev.graft.engine.quant.convert.StaticQuantizer.defaultMapping());
        dev.graft.engine.quant.convert.StaticQuantizer.calibrate(prepared, List.<Object[]>of(ex.inputs()),
                (d, t, m) -> { });
        dev.graft.engine.quant.convert.StaticQuantizer.convert(prepared);
        Tensor int8 = dev.graft.ops.F.softmax(p.model().call(images), 1);
        char[] drawn = {'1', '7', '0', '4'};
        out.println(ex.description());
        for (int i = 0; i < drawn.length; i++) {
            int a = (int) fp32.select(0, i).argmax(0, false).itemLong();
            int b = (int) int8.select(0, i).argmax(0, false).itemLong();
            out.printf("  drawn '%c': FP32 says %d (p=%.3f), static INT8 says %d (p=%.3f)%n", drawn[i], a,
                    fp32.getFloat(i, a), b, int8.getFloat(i, b));
        }
    }

    /** Embeddings of built-in sentences in FP32, then the same model in dynamic INT8. */
    static void minilm(PrintStream out) {
        List<String> sentences = ReferenceModels.SENTENCES;
        BertTokenizer tokenizer = MiniLm.tokenizer();
        BertTokenizer.Batch batch = tokenizer.encodeBatch(sentences);
        BertModel fp32 = MiniLm.load();
        BertModel int8 = MiniLm.load();
        Tensor want = embed(fp32, batch);
        out.println("cosine similarity between the sentences (FP32):");
        for (int i = 0; i < sentences.size(); i++) {
            StringBuilder row = new StringBuilder("  ");
            for (int j = 0; j < sentences.size(); j++) {
                row.append(String.format("%6.3f", dot(want.select(0, i), want.select(0, j))));
            }
            out.println(row + "   " + sentences.get(i));
        }

        Partition p = Partitioner.partition(int8, batch.inputIds(), batch.attentionMask(), batch.tokenTypeIds());
        QuantizationReport report = DynamicQuantizer.quantize(p,
                new QConfigMapping().global(QConfig.dynamicDefault()), false);
        LayerErrorReport errors = LayerErrorReport.measure(int8, report.originals(), () -> embed(int8, batch));
        List<String> worst = errors.rows().stream().limit(4).map(LayerErrorReport.Row::path).toList();
        report = DynamicQuantizer.keepFp32(p, report, worst);
        out.println();
        out.println("dynamic INT8 (int8 per-channel weights; activations quantized per call; the 4 layers with the");
        out.println("lowest SQNR kept FP32):");
        out.printf("  size: %.1f MB FP32 -> %.1f MB (%.2fx); quantized weights %.2fx%n", report.fp32ModelBytes() / 1e6,
                report.modelBytes() / 1e6, report.modelCompression(), report.weightCompression());
        Tensor got = embed(int8, batch);
        for (int i = 0; i < sentences.size(); i++) {
            out.printf("  cosine(INT8, FP32) = %.5f   %s%n", dot(want.select(0, i), got.select(0, i)),
                    sentences.get(i));
        }
        double[] ms = timeSideBySide(() -> embed(fp32, batch), () -> embed(int8, batch));
        out.printf("  time per batch of %d: FP32 %.1f ms, INT8 %.1f ms (wall clock, best of 10 after warm-up,"
                + " alternating; on this hardware INT8 matches FP32 speed at best: see the README's limits)%n",
                sentences.size(), ms[0], ms[1]);
    }

    /** Detections on the bundled (or shared) dog.jpg, drawn into a PNG. */
    static void nanodet(PrintStream out, Path outDir) throws IOException {
        ReferenceModels.Example ex = ReferenceModels.nanodet();
        long t0 = System.nanoTime();
        @SuppressWarnings("unchecked")
        List<Detection> detections = (List<Detection>) ex.model().callAny(ex.inputs());
        out.printf("%d detections on dog.jpg (%.0f ms, first run):%n", detections.size(),
                (System.nanoTime() - t0) / 1e6);
        for (Detection d : detections) {
            out.printf("  %-12s %.3f  box [%4.0f, %4.0f, %4.0f, %4.0f]%n", d.label(), d.score(), d.x1(), d.y1(),
                    d.x2(), d.y2());
        }
        Path png = outDir.resolve("dog-boxes.png");
        Images.writePng(Images.drawDetections(ReferenceModels.photo(), detections), png);
        out.println("picture: " + png);
    }

    private static Tensor embed(BertModel model, BertTokenizer.Batch b) {
        Tensor hidden = model.lastHiddenState(b.inputIds(), b.attentionMask(), b.tokenTypeIds());
        return SentencePooling.embeddings(hidden, b.attentionMask().narrow(1, 0, hidden.size(1)));
    }

    private static double dot(Tensor a, Tensor b) {
        float[] x = a.toFloatArray();
        float[] y = b.toFloatArray();
        double s = 0;
        for (int i = 0; i < x.length; i++) {
            s += (double) x[i] * y[i];
        }
        return s;
    }

    /** Best-of-10 milliseconds of each, after warming both (the JIT compiles INT8 paths later), alternating. */
    private static double[] timeSideBySide(Runnable a, Runnable b) {
        for (int i = 0; i < 20; i++) {
            a.run();
            b.run();
        }
        double[] best = {Double.MAX_VALUE, Double.MAX_VALUE};
        for (int i = 0; i < 10; i++) {
            long t0 = System.nanoTime();
            a.run();
            long t1 = System.nanoTime();
            b.run();
            long t2 = System.nanoTime();
            best[0] = Math.min(best[0], (t1 - t0) / 1e6);
            best[1] = Math.min(best[1], (t2 - t1) / 1e6);
        }
        return best;
    }
}
