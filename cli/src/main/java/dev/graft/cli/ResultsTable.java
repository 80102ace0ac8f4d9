package dev.graft.cli;

import dev.graft.GraftFile;
import dev.graft.engine.Module;
import dev.graft.engine.autograd.Autograd;
import dev.graft.engine.nn.Linear;
import dev.graft.engine.quant.Approach;
import dev.graft.engine.quant.report.LayerErrorReport;
import dev.graft.engine.trace.Partition;
import dev.graft.models.QuantizedModel;
import dev.graft.models.bert.ReutersGrain;
import dev.graft.models.bert.SentenceClassifier;
import dev.graft.models.bert.SentencePooling;
import dev.graft.models.nanodet.Detection;
import dev.graft.models.nanodet.NanoDetImages;
import dev.graft.ops.Tensor;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The results table: every workload in FP32 and in each of its INT8 forms, measured in one run. For each row: the
 * score on the workload's test data, both sizes (the saved {@code .graft} files: the FP32 model partitioned and
 * saved the same way as the INT8 one), latency at batch 1 (FP32 and INT8 timed alternately after a shared warm-up),
 * and the partition's traced blocks / eager modules. Beside MiniLM-Reuters, ONNX Runtime's own INT8 MiniLM with the
 * same head. The saved models stay in the output folder, so {@code ./graft inspect|eval|bench} can look at them.
 */
final class ResultsTable {
    private static final int LATENCY_RUNS = 10;

    /** One line of the table. */
    record Row(String model, String approach, String int8Score, String fp32Score, double relativeLoss, long int8Bytes,
               long fp32Bytes, double int8Ms, double fp32Ms, String blocks, String recipe) {
        double compression() {
            return (double) fp32Bytes / int8Bytes;
        }

        double speedup() {
            return fp32Ms / int8Ms;
        }
    }

    /** A workload's rows and what the report shows beside them. */
    record WorkloadResult(String name, String title, String metric, Partition partition, List<Row> rows,
                          String worstApproach, List<LayerErrorReport.Row> worstLayers) {
    }

    /** FP32 and INT8 detections drawn on one photo. */
    record Detections(String photo, BufferedImage fp32, BufferedImage int8, int fp32Count, int int8Count) {
    }

    record Result(List<WorkloadResult> workloads, Row ort, String ortNote, List<Detections> detections,
                  double seconds, String machine) {
        List<Row> rows() {
            List<Row> out = new ArrayList<>();
            for (WorkloadResult w : workloads) {
                out.addAll(w.rows());
                if (w.name().equals("reuters") && ort != null) {
                    out.add(ort);
                }
            }
            return out;
        }
    }

    private ResultsTable() {
    }

    static Result run(Path outDir, PrintStream out, Progress progress) throws IOException {
        long t0 = System.nanoTime();
        Files.createDirectories(outDir);
        List<WorkloadResult> results = new ArrayList<>();
        Row ort = null;
        String ortNote = "";
        List<Detections> detections = new ArrayList<>();
        for (String name : Workloads.NAMES) {
            Workloads.Workload w = Workloads.get(name);
            out.printf("%n%s: %s%n", w.title(), w.metric());
            Module fp32 = w.fp32();
            Partition fp32Partition = w.partition(fp32);
            Workloads.Score fp32Score = w.score(fp32, fp32, progress);
            progress.finishLine();
            Path fp32File = outDir.resolve(name + "-fp32.graft");
            GraftFile.write(fp32File, fp32Partition, Map.of("approach", Approach.FP32.label()));
            long fp32Bytes = Files.size(fp32File);
            out.printf("  FP32: %s, %s saved%n", fp32Score.text(), Format.bytes(fp32Bytes));
            Object[] latencyInput = w.latencyInput(1);
            List<Row> rows = new ArrayList<>();
            String worstApproach = "";
            List<LayerErrorReport.Row> worst = List.of();
            for (Approach approach : w.approaches()) {
                QuantizedModel q = w.quantize(approach, Workloads.Budget.full(), progress);
                Workloads.Score score = w.score(q.model(), fp32, progress);
                progress.finishLine();
                Path file = outDir.resolve(name + "-" + approach.label() + ".graft");
                GraftFile.write(file, q.partition(), Map.of("approach", approach.label(), "recipe", q.recipe()));
                double[][] ms = BenchCommand.timeSideBySide(() -> fp32.callAny(latencyInput),
                        () -> q.model().callAny(latencyInput), LATENCY_RUNS);
                Row row = new Row(w.title(), approach.label(), score.text(), fp32Score.text(),
                        (fp32Score.value() - score.value()) / fp32Score.value(), Files.size(file), fp32Bytes,
                        BenchCommand.median(ms[1]), BenchCommand.median(ms[0]), Workloads.blocks(q.partition()),
                        q.recipe());
                rows.add(row);
                out.printf(Locale.ROOT, "  %-8s %s (loss %.2f%%), %s (%.2fx smaller), %.2f ms vs %.2f ms FP32 (%.2fx)%n",
                        approach.label(), score.text(), 100 * row.relativeLoss(), Format.bytes(row.int8Bytes()),
                        row.compression(), row.int8Ms(), row.fp32Ms(), row.speedup());
                if (worst.isEmpty() && !q.report().originals().isEmpty() && approach != Approach.QAT) {
                    worstApproach = approach.label();
                    worst = LayerErrorReport.measure(q.model(), q.report().originals(),
                            () -> q.model().callAny(latencyInput)).rows();
                }
                if (w instanceof Workloads.NanoDet nd) {
                    detections = drawDetections(nd, fp32, q.model());
                }
            }
            if (w instanceof Workloads.Reuters reuters) {
                OrtRow o = ortRow(reuters, (SentenceClassifier) fp32, fp32Score, fp32Bytes, latencyInput, progress, out);
                if (o != null) {
                    ort = o.row();
                    ortNote = o.note();
                }
            }
            results.add(new WorkloadResult(name, w.title(), w.metric(), fp32Partition, rows, worstApproach, worst));
        }
        String machine = Runtime.getRuntime().availableProcessors() + " processors, " + System.getProperty("os.arch")
                + ", " + System.getProperty("java.vm.name") + " " + Runtime.version() + ", "
                + dev.graft.kernels.Kernels.int8Gemm().name();
        return new Result(results, ort, ortNote, detections, (System.nanoTime() - t0) / 1e9, machine);
    }

    private record OrtRow(Row row, String note) {
    }

    /** ONNX Runtime's INT8 MiniLM with the same Grain head: accuracy, cosine to Graft FP32, size, latency. */
    private static OrtRow ortRow(Workloads.Reuters w, SentenceClassifier fp32, Workloads.Score fp32Score,
                                 long fp32Bytes, Object[] latencyInput, Progress progress, PrintStream out)
            throws IOException {
        try (OrtMiniLm ort = OrtMiniLm.load()) {
            if (ort == null) {
                out.println("  (ONNX Runtime's -q model is not on the class path: no ORT row)");
                return null;
            }
            Linear head = ReutersGrain.bundledHead();
            List<Object[]> batches = w.testBatches();
            List<long[]> labels = w.testLabels();
            long correct = 0;
            long total = 0;
            double cosines = 0;
            int compared = 0;
            try (var g = Autograd.noGrad()) {
                for (int i = 0; i < batches.size(); i++) {
                    Object[] b = batches.get(i);
                    Tensor pooled = ortFeatures(ort, b);
                    Tensor logits = head.call(pooled);
                    correct += dev.graft.engine.train.Trainer.countCorrect(logits, Tensor.ofLongs(labels.get(i),
                            labels.get(i).length));
                    total += labels.get(i).length;
                    if (i < 4) {   // cosine of the sentence embeddings on the first 128 documents
                        Tensor a = SentencePooling.l2Normalize(pooled);
                        Tensor f = SentencePooling.l2Normalize(fp32.features((Tensor) b[0], (Tensor) b[1], (Tensor) b[2]));
                        float[] dots = a.mul(f).sum(1, false).toFloatArray();
                        for (float d : dots) {
                            cosines += d;
                            compared++;
                        }
                    }
                    progress.progress(i + 1, batches.size(), "ONNX Runtime INT8 on Reuters test documents");
                }
            }
            progress.finishLine();
            double acc = (double) correct / total;
            double[][] ms = BenchCommand.timeSideBySide(() -> fp32.callAny(latencyInput),
                    () -> head.call(ortFeatures(ort, latencyInput)), LATENCY_RUNS);
            String note = String.format(Locale.ROOT, "sentence-embedding cosine to Graft FP32 %.4f (mean over %d"
                    + " documents); ONNX Runtime %s, 2 intra-op threads", cosines / compared, compared,
                    ai.onnxruntime.OrtEnvironment.getEnvironment().getVersion());
            Row row = new Row("MiniLM-Reuters", "ONNX Runtime INT8 (-q)", String.format(Locale.ROOT, "%.2f%%",
                    100 * acc), fp32Score.text(), (fp32Score.value() - acc) / fp32Score.value(), ort.bytes(),
                    fp32Bytes, BenchCommand.median(ms[1]), BenchCommand.median(ms[0]), "-",
                    "ONNX Runtime's dynamic INT8 MiniLM + the same FP32 Grain head; " + note);
            out.printf(Locale.ROOT, "  ORT -q   %.2f%%, %s, %.2f ms vs %.2f ms Graft FP32; %s%n", 100 * acc,
                    Format.bytes(ort.bytes()), row.int8Ms(), row.fp32Ms(), note);
            return new OrtRow(row, note);
        } catch (ai.onnxruntime.OrtException e) {
            throw new IOException("ONNX Runtime: " + e.getMessage(), e);
        }
    }

    private static Tensor ortFeatures(OrtMiniLm ort, Object[] in) {
        Tensor mask = (Tensor) in[1];
        return SentencePooling.meanPool(ort.lastHiddenState((Tensor) in[0], mask, (Tensor) in[2]), mask);
    }

    /** FP32 and INT8 detections drawn on up to three photos. */
    private static List<Detections> drawDetections(Workloads.NanoDet w, Module fp32, Module int8) throws IOException {
        List<Detections> out = new ArrayList<>();
        List<Path> photos = w.photos();
        List<BufferedImage> images = w.images();
        for (int i = 0; i < photos.size() && out.size() < 3; i++) {
            String name = photos.get(i).getFileName().toString();
            if (photos.size() > 3 && !List.of("dog.jpg", "horses.jpg", "person.jpg").contains(name)) {
                continue;
            }
            BufferedImage photo = images.get(i);
            NanoDetImages.Fitted f = NanoDetImages.letterbox(photo, 416);
            Object[] in = {f.tensor(), photo.getWidth(), photo.getHeight()};
            @SuppressWarnings("unchecked")
            List<Detection> a = (List<Detection>) fp32.callAny(in);
            @SuppressWarnings("unchecked")
            List<Detection> b = (List<Detection>) int8.callAny(in);
            out.add(new Detections(name, NanoDetImages.drawDetections(photo, a), NanoDetImages.drawDetections(photo, b), a.size(),
                    b.size()));
        }
        return out;
    }

    /** The table in Markdown, as the README and docs/RESULTS.md show it. */
    static String markdown(Result r) {
        StringBuilder sb = new StringBuilder();
        sb.append("| model | approach | INT8 score | FP32 score | relative loss | INT8 size | FP32 size | compression"
                + " | INT8 ms | FP32 ms | speedup | blocks traced / eager |\n");
        sb.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        for (Row row : r.rows()) {
            sb.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %.2f%% | %s | %s | %.2fx | %.2f | %.2f |"
                            + " %.2fx | %s |%n", row.model(), row.approach(), row.int8Score(), row.fp32Score(),
                    100 * row.relativeLoss(), Format.bytes(row.int8Bytes()), Format.bytes(row.fp32Bytes()),
                    row.compression(), row.int8Ms(), row.fp32Ms(), row.speedup(), row.blocks()));
        }
        return sb.toString();
    }
}
