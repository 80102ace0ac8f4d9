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
 * saved the same way as the INT8 one), latency at batch 1, and the partition's traced blocks / eager modules. Beside
 * MiniLM-Reuters, ONNX Runtime's own INT8 MiniLM with the same head, on as many threads as Graft's kernels. The saved
 * models stay in the output folder, so {@code ./graft inspect|eval|bench} can look at them.
 *
 * <p>Latency: all of a model's rows (its FP32 reference, every INT8 form, ONNX Runtime's) are timed in one loop,
 * one call of each per round, the starting one rotating, after a shared warm-up; at least {@link #MIN_ROUNDS} rounds
 * and {@link #TIMED_NANOS} of timing. So every row of a model has the same FP32 time, and the machine's load at any
 * moment falls on all of them alike. Each time is the median with half the interquartile range as its spread.
 */
final class ResultsTable {
    static final int MIN_ROUNDS = 30;
    static final int MAX_ROUNDS = 400;
    static final long WARM_UP_NANOS = 2_000_000_000L;
    static final long TIMED_NANOS = 4_000_000_000L;

    /** A median time per call in ms, half the interquartile range around it, and how many calls were timed. */
    record Timing(double medianMs, double spreadMs, int calls) {
        String text() {
            return String.format(Locale.ROOT, "%.2f ± %.2f", medianMs, spreadMs);
        }
    }

    /** One line of the table. */
    record Row(String model, String approach, String int8Score, String fp32Score, double relativeLoss, long int8Bytes,
               long fp32Bytes, Timing int8, Timing fp32, String blocks, String recipe) {
        double int8Ms() {
            return int8.medianMs();
        }

        double fp32Ms() {
            return fp32.medianMs();
        }

        double compression() {
            return (double) fp32Bytes / int8Bytes;
        }

        double speedup() {
            return fp32Ms() / int8Ms();
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
            // The FP32 reference gets the inference rewrites INT8 blocks get (same bits, so the same scores): the
            // speed-ups compare INT8 with the fastest FP32 Graft has, as an FP32 user would run it.
            dev.graft.engine.fuse.InferenceFusions.apply(fp32Partition);
            Object[] latencyInput = w.latencyInput(1);
            List<Measured> measured = new ArrayList<>();
            String worstApproach = "";
            List<LayerErrorReport.Row> worst = List.of();
            for (Approach approach : w.approaches()) {
                out.printf("  %s: %s...%n", approach.label(), w.plan(approach, Workloads.Budget.full()));
                QuantizedModel q = w.quantize(approach, Workloads.Budget.full(), progress);
                progress.finishLine();
                Workloads.Score score = w.score(q.model(), fp32, progress);
                progress.finishLine();
                Path file = outDir.resolve(name + "-" + approach.label() + ".graft");
                GraftFile.write(file, q.partition(), Map.of("approach", approach.label(), "recipe", q.recipe()));
                Measured m = new Measured(w.title(), approach.label(), score, Files.size(file),
                        Workloads.blocks(q.partition()), q.recipe(), () -> q.model().callAny(latencyInput));
                measured.add(m);
                out.printf(Locale.ROOT, "  %-8s %s (loss %.2f%%), %s (%.2fx smaller)%n", approach.label(),
                        score.text(), 100 * m.loss(fp32Score), Format.bytes(m.bytes()),
                        (double) fp32Bytes / m.bytes());
                if (worst.isEmpty() && !q.report().originals().isEmpty() && approach != Approach.QAT) {
                    worstApproach = approach.label();
                    worst = LayerErrorReport.measure(q.model(), q.report().originals(),
                            () -> q.model().callAny(latencyInput)).rows();
                }
                if (w instanceof Workloads.NanoDet nd) {
                    detections = drawDetections(nd, fp32, q.model());
                }
            }
            OrtMiniLm session = w instanceof Workloads.Reuters ? OrtMiniLm.load() : null;
            try {
                Measured ortMeasured = null;
                if (w instanceof Workloads.Reuters reuters) {
                    if (session == null) {
                        out.println("  (ONNX Runtime's -q model is not on the class path: no ORT row)");
                    } else {
                        ortMeasured = ortRow(session, reuters, (SentenceClassifier) fp32, latencyInput, progress);
                        ortNote = ortMeasured.recipe();
                        out.printf(Locale.ROOT, "  ORT -q   %s, %s; %s%n", ortMeasured.score().text(),
                                Format.bytes(ortMeasured.bytes()), ortNote);
                        measured.add(ortMeasured);
                    }
                }
                List<Runnable> calls = new ArrayList<>();
                calls.add(() -> fp32.callAny(latencyInput));
                measured.forEach(m -> calls.add(m.call()));
                Timing[] times = timeInterleaved(calls, WARM_UP_NANOS, TIMED_NANOS, MIN_ROUNDS, MAX_ROUNDS);
                out.printf(Locale.ROOT, "  latency at batch 1, ms per call (median ± half the interquartile range;"
                        + " %d rounds of %s interleaved, %d threads):%n", times[0].calls(),
                        calls.size() == 2 ? "both models" : "all " + calls.size() + " models", threads());
                out.printf(Locale.ROOT, "    %-24s %s%n", "FP32", times[0].text());
                List<Row> rows = new ArrayList<>();
                for (int i = 0; i < measured.size(); i++) {
                    Measured m = measured.get(i);
                    Row row = new Row(m.model(), m.approach(), m.score().text(), fp32Score.text(), m.loss(fp32Score),
                            m.bytes(), fp32Bytes, times[i + 1], times[0], m.blocks(), m.recipe());
                    out.printf(Locale.ROOT, "    %-24s %s  (%.2fx)%n", m.approach(), row.int8().text(),
                            row.speedup());
                    if (m == ortMeasured) {
                        ort = row;
                    } else {
                        rows.add(row);
                    }
                }
                results.add(new WorkloadResult(name, w.title(), w.metric(), fp32Partition, rows, worstApproach,
                        worst));
            } finally {
                if (session != null) {
                    session.close();
                }
            }
        }
        String machine = Runtime.getRuntime().availableProcessors() + " processors, " + threads() + " kernel threads"
                + " (graft.threads), " + System.getProperty("os.arch") + ", " + System.getProperty("java.vm.name")
                + " " + Runtime.version() + ", " + dev.graft.kernels.Kernels.int8Gemm().name();
        return new Result(results, ort, ortNote, detections, (System.nanoTime() - t0) / 1e9, machine);
    }

    /** Graft's kernel threads ({@code graft.threads}; default every processor): ONNX Runtime gets as many. */
    static int threads() {
        return dev.graft.kernels.Parallel.shared().threads();
    }

    /** A row before its latency is measured: what it scored, its file size, and one call to time. */
    private record Measured(String model, String approach, Workloads.Score score, long bytes, String blocks,
                            String recipe, Runnable call) {
        double loss(Workloads.Score fp32) {
            return (fp32.value() - score.value()) / fp32.value();
        }
    }

    /**
     * Times {@code calls} in one loop: each round calls every one once, starting one further along each round, so
     * no call always follows the same other. A warm-up of at least five rounds and {@code warmUpNanos}, then at
     * least {@code minRounds} rounds and {@code timedNanos} of timed rounds, at most {@code maxRounds}.
     */
    static Timing[] timeInterleaved(List<Runnable> calls, long warmUpNanos, long timedNanos, int minRounds,
                                    int maxRounds) {
        int n = calls.size();
        long warmUntil = System.nanoTime() + warmUpNanos;
        for (int round = 0; round < 5 || (System.nanoTime() < warmUntil && round < maxRounds); round++) {
            calls.forEach(Runnable::run);
        }
        double[][] ms = new double[n][maxRounds];
        long start = System.nanoTime();
        int rounds = 0;
        while (rounds < maxRounds && (rounds < minRounds || System.nanoTime() - start < timedNanos)) {
            for (int k = 0; k < n; k++) {
                int i = (rounds + k) % n;
                long t = System.nanoTime();
                calls.get(i).run();
                ms[i][rounds] = (System.nanoTime() - t) / 1e6;
            }
            rounds++;
        }
        Timing[] out = new Timing[n];
        for (int i = 0; i < n; i++) {
            out[i] = timing(java.util.Arrays.copyOf(ms[i], rounds));
        }
        return out;
    }

    /** The median and half the interquartile range of {@code ms} (linear interpolation between ranks). */
    static Timing timing(double[] ms) {
        double[] s = ms.clone();
        java.util.Arrays.sort(s);
        return new Timing(quantile(s, 0.5), (quantile(s, 0.75) - quantile(s, 0.25)) / 2, s.length);
    }

    private static double quantile(double[] sorted, double q) {
        double pos = q * (sorted.length - 1);
        int lo = (int) Math.floor(pos);
        int hi = Math.min(sorted.length - 1, lo + 1);
        return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
    }

    /** ONNX Runtime's INT8 MiniLM with the same Grain head: accuracy, cosine to Graft FP32, size; one call to time. */
    private static Measured ortRow(OrtMiniLm ort, Workloads.Reuters w, SentenceClassifier fp32,
                                   Object[] latencyInput, Progress progress) throws IOException {
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
        String note;
        try {
            note = String.format(Locale.ROOT, "sentence-embedding cosine to Graft FP32 %.4f (mean over %d"
                    + " documents); ONNX Runtime %s, %d intra-op threads (as many as Graft's)", cosines / compared,
                    compared, ai.onnxruntime.OrtEnvironment.getEnvironment().getVersion(), ort.threads());
        } catch (RuntimeException e) {
            throw new IOException("ONNX Runtime: " + e.getMessage(), e);
        }
        return new Measured("MiniLM-Reuters", "ONNX Runtime INT8 (-q)", new Workloads.Score(acc,
                String.format(Locale.ROOT, "%.2f%%", 100 * acc)), ort.bytes(), "-",
                "ONNX Runtime's dynamic INT8 MiniLM + the same FP32 Grain head; " + note,
                () -> head.call(ortFeatures(ort, latencyInput)));
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
            sb.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %.2f%% | %s | %s | %.2fx | %s | %s |"
                            + " %.2fx | %s |%n", row.model(), row.approach(), row.int8Score(), row.fp32Score(),
                    100 * row.relativeLoss(), Format.bytes(row.int8Bytes()), Format.bytes(row.fp32Bytes()),
                    row.compression(), row.int8().text(), row.fp32().text(), row.speedup(), row.blocks()));
        }
        return sb.toString();
    }
}
