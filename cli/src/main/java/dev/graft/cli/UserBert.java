package dev.graft.cli;

import dev.graft.Graft;
import dev.graft.engine.Module;
import dev.graft.engine.autograd.Autograd;
import dev.graft.engine.io.FormatException;
import dev.graft.engine.quant.Approach;
import dev.graft.engine.quant.report.LayerErrorReport;
import dev.graft.engine.quant.report.QuantizationReport;
import dev.graft.formats.text.BertTokenizer;
import dev.graft.models.bert.BertFiles;
import dev.graft.models.bert.BertForSequenceClassification;
import dev.graft.models.bert.BertModelOutput;
import dev.graft.models.bert.BertPooling;
import dev.graft.models.bert.BertRecipes;
import dev.graft.ops.Tensor;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * The commands on a user's own BERT-family model (an ONNX export or a Hugging Face directory, {@link BertFiles}):
 * texts from a file or folder, batches, and the INT8 model's agreement with FP32 on held-out texts (cosine of the
 * sentence embeddings for an encoder, top-1 agreement for a classifier).
 */
final class UserBert {
    static final int BATCH = 16;

    private UserBert() {
    }

    /** The model at {@code path}, with the pooling flag (null: what the files say) applied. */
    static BertFiles.Loaded load(Path path, String pooling) {
        BertFiles.Loaded loaded = BertFiles.load(path);
        if (pooling != null) {
            try {
                loaded = loaded.withPooling(BertPooling.parse(pooling));
            } catch (IllegalArgumentException e) {
                throw new UsageException("--pooling: " + e.getMessage());
            }
        }
        return loaded;
    }

    /** One line of a description: "BERT-family encoder, 12 layers, hidden 384, ... (mean-normalized pooling)". */
    static String describe(BertFiles.Loaded m) {
        return (m.isClassifier() ? "BERT-family classifier (" + m.config().numLabels() + " labels), "
                : "BERT-family encoder, ") + BertFiles.describe(m.config())
                + (m.isClassifier() ? "" : " (" + m.pooling() + " pooling)") + ", from " + m.source();
    }

    /**
     * Non-empty lines of a text file, or of every {@code .txt} file of a folder (sorted by name); a line is one text.
     */
    static List<String> texts(Path fileOrDir) throws IOException {
        List<Path> files = new ArrayList<>();
        if (Files.isDirectory(fileOrDir)) {
            try (Stream<Path> s = Files.list(fileOrDir)) {
                s.filter(p -> p.getFileName().toString().endsWith(".txt") && Files.isRegularFile(p)).sorted()
                        .forEach(files::add);
            }
            if (files.isEmpty()) {
                throw new FormatException(fileOrDir, -1, "no .txt files in this folder (one text per line)");
            }
        } else {
            files.add(Options.existingFile(fileOrDir.toString()));
        }
        List<String> out = new ArrayList<>();
        for (Path f : files) {
            for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
                if (!line.isBlank()) {
                    out.add(line.strip());
                }
            }
        }
        if (out.isEmpty()) {
            throw new FormatException(fileOrDir, -1, "holds no text (one text per line)");
        }
        return out;
    }

    /** Tokenized batches of {@value #BATCH} texts, as model inputs (ids, mask, token types). */
    static List<Object[]> batches(BertTokenizer tokenizer, List<String> texts) {
        List<Object[]> out = new ArrayList<>();
        for (int from = 0; from < texts.size(); from += BATCH) {
            BertTokenizer.Batch b = tokenizer.encodeBatch(texts.subList(from, Math.min(texts.size(), from + BATCH)));
            out.add(new Object[] {b.inputIds(), b.attentionMask(), b.tokenTypeIds()});
        }
        return out;
    }

    /** Embeddings [B, H] of an encoder, or logits [B, labels] of a classifier, for one batch. */
    static Tensor outputs(BertFiles.Loaded m, Object[] batch) {
        try (var g = Autograd.noGrad()) {
            if (m.model() instanceof BertForSequenceClassification c) {
                return c.call((Tensor) batch[0], (Tensor) batch[1], (Tensor) batch[2]);
            }
            BertModelOutput out = (BertModelOutput) m.encoder().callAny(batch);
            return m.pooling().apply(out.lastHiddenState(), (Tensor) batch[1]);
        }
    }

    /** The per-text agreement of INT8 with FP32: cosine of the outputs, and (classifiers) whether top-1 agrees. */
    record Agreement(double[] cosines, int top1Agree, int texts, boolean classifier) {
        double mean() {
            return java.util.Arrays.stream(cosines).average().orElse(Double.NaN);
        }

        double worst() {
            return java.util.Arrays.stream(cosines).min().orElse(Double.NaN);
        }

        String text() {
            String cos = String.format(Locale.ROOT, "cosine to FP32 mean %.5f, worst %.5f over %d held-out texts",
                    mean(), worst(), texts);
            return classifier ? String.format(Locale.ROOT, "top-1 agreement %d/%d (%.2f%%); logits %s", top1Agree,
                    texts, 100.0 * top1Agree / texts, cos) : "sentence embeddings: " + cos;
        }
    }

    static Agreement agreement(List<Tensor> fp32, List<Tensor> int8, boolean classifier) {
        List<Double> cos = new ArrayList<>();
        int agree = 0;
        for (int b = 0; b < fp32.size(); b++) {
            float[] x = fp32.get(b).toFloatArray();
            float[] y = int8.get(b).toFloatArray();
            int rows = fp32.get(b).size(0);
            int cols = fp32.get(b).size(1);
            for (int r = 0; r < rows; r++) {
                double dot = 0;
                double nx = 0;
                double ny = 0;
                int ax = 0;
                int ay = 0;
                for (int c = 0; c < cols; c++) {
                    double u = x[r * cols + c];
                    double v = y[r * cols + c];
                    dot += u * v;
                    nx += u * u;
                    ny += v * v;
                    ax = u > x[r * cols + ax] ? c : ax;
                    ay = v > y[r * cols + ay] ? c : ay;
                }
                cos.add(dot / Math.sqrt(nx * ny));
                agree += ax == ay ? 1 : 0;
            }
        }
        return new Agreement(cos.stream().mapToDouble(Double::doubleValue).toArray(), agree, cos.size(), classifier);
    }

    /**
     * {@code graft quantize PATH}: partition on the calibration texts, quantize, print the report and the agreement
     * with FP32 on the held-out texts (the last quarter of the texts, at least 4; built-in sentences without
     * {@code --calib} for dynamic), save with {@code --out}.
     */
    static int quantize(Path path, Approach approach, Path calib, int keepFp32, String pooling, Path outFile,
                        PrintStream out, PrintStream err) throws IOException {
        if (approach == Approach.QAT) {
            throw new UsageException("--approach qat needs a training loop and labels; for a BERT file use dynamic "
                    + "or static (the Java API's Graft.prepare(..., Config.qat()) trains your own module)");
        }
        if (approach == Approach.STATIC && keepFp32 > 0) {
            throw new UsageException("--keep-fp32 applies to dynamic quantization");
        }
        if (approach == Approach.STATIC && calib == null) {
            throw new UsageException("static quantization calibrates on real texts: pass --calib FILE|DIR "
                    + "(one text per line; 64 or more)");
        }
        BertFiles.Loaded m = load(path, pooling);
        BertTokenizer tokenizer = m.requireTokenizer();
        out.println(describe(m));
        List<String> texts = calib != null ? texts(calib) : ReferenceModels.SENTENCES;
        int heldOut = Math.max(Math.min(4, texts.size()), texts.size() / 4);
        List<String> calibration = texts.size() > heldOut ? texts.subList(0, texts.size() - heldOut) : texts;
        List<String> evaluation = texts.subList(texts.size() - heldOut, texts.size());
        out.printf("texts: %d (%s), %d for calibration, %d held out for the FP32 comparison%n", texts.size(),
                calib != null ? calib : "built-in sentences", calibration.size(), evaluation.size());
        List<Object[]> calibBatches = batches(tokenizer, calibration);
        List<Object[]> evalBatches = batches(tokenizer, evaluation);
        List<Tensor> fp32 = new ArrayList<>();
        for (Object[] b : evalBatches) {
            fp32.add(outputs(m, b));
        }
        Module model = m.model();
        Graft.Quantized q;
        long t0 = System.nanoTime();
        if (approach == Approach.DYNAMIC) {
            q = Graft.quantize(model, calibBatches.subList(0, 1), Graft.Config.dynamic());
        } else {
            Progress progress = Progress.on(err);
            Graft.Prepared prepared = Graft.prepare(model, calibBatches.subList(0, 1),
                    new Graft.Config(Approach.STATIC, BertRecipes.staticMapping(model)));
            prepared.calibrate(calibBatches, progress);
            progress.finishLine();
            q = prepared.convert();
        }
        QuantizationReport report = q.report();
        if (keepFp32 > 0) {
            Object[] rank = calibBatches.get(0);
            LayerErrorReport errors = LayerErrorReport.measure(model, report.originals(), () -> model.callAny(rank));
            List<String> worst = errors.rows().stream().limit(keepFp32).map(LayerErrorReport.Row::path).toList();
            out.printf("keeping FP32 (lowest SQNR on a calibration batch): %s%n", worst);
            q = q.keepFp32(worst);
            report = q.report();
        }
        out.printf("%n%s INT8 in %.1f s:%n", approach, (System.nanoTime() - t0) / 1e9);
        out.print(report.describe());
        List<Tensor> int8 = new ArrayList<>();
        for (Object[] b : evalBatches) {
            int8.add(outputs(m, b));
        }
        out.printf("%nINT8 vs FP32 on held-out texts: %s%n", agreement(fp32, int8, m.isClassifier()).text());
        QuantizeCommand.save(outFile, q.partition(), approach, out);
        return 0;
    }

    /**
     * {@code graft eval FILE.graft --data ... --reference PATH}: the saved model against the FP32 original on the
     * texts; with labelled lines ({@code LABEL<tab>text}, LABEL the class index) also both accuracies.
     */
    static int eval(Path file, Module saved, Path data, Path reference, String pooling, PrintStream out)
            throws IOException {
        BertFiles.Loaded fp32 = load(reference, pooling);
        if ((saved instanceof BertForSequenceClassification) != fp32.isClassifier()) {
            throw new UsageException(file + " and " + reference + " are not the same kind of model (classifier vs "
                    + "encoder)");
        }
        BertFiles.Loaded int8 = new BertFiles.Loaded(saved, saved instanceof BertForSequenceClassification c
                ? (dev.graft.models.bert.BertModel) c.module("bert") : (dev.graft.models.bert.BertModel) saved,
                fp32.config(), fp32.tokenizer(), fp32.pooling(), file);
        List<String> lines = texts(data);
        List<String> texts = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        for (String line : lines) {
            int tab = line.indexOf('\t');
            Integer label = tab > 0 && line.substring(0, tab).strip().matches("\\d+")
                    ? Integer.valueOf(line.substring(0, tab).strip()) : null;
            texts.add(label != null ? line.substring(tab + 1).strip() : line);
            labels.add(label);
        }
        out.println(file + ": " + describe(int8).replace(", from " + file, "") + ", against " + reference);
        List<Object[]> batches = batches(fp32.requireTokenizer(), texts);
        List<Tensor> a = new ArrayList<>();
        List<Tensor> b = new ArrayList<>();
        for (Object[] batch : batches) {
            a.add(outputs(fp32, batch));
            b.add(outputs(int8, batch));
        }
        out.printf("saved model vs FP32 on %d texts: %s%n", texts.size(), agreement(a, b, fp32.isClassifier()).text());
        if (fp32.isClassifier() && labels.stream().allMatch(java.util.Objects::nonNull)) {
            out.printf(Locale.ROOT, "accuracy: saved model %.2f%%, FP32 %.2f%% (%d labelled texts)%n",
                    100 * accuracy(b, labels), 100 * accuracy(a, labels), texts.size());
        }
        return 0;
    }

    private static double accuracy(List<Tensor> logits, List<Integer> labels) {
        int right = 0;
        int i = 0;
        for (Tensor t : logits) {
            float[] v = t.toFloatArray();
            int cols = t.size(1);
            for (int r = 0; r < t.size(0); r++, i++) {
                int arg = 0;
                for (int c = 1; c < cols; c++) {
                    arg = v[r * cols + c] > v[r * cols + arg] ? c : arg;
                }
                right += arg == labels.get(i) ? 1 : 0;
            }
        }
        return (double) right / labels.size();
    }

    /** Whether a command-line word names a user's BERT-family model: an {@code .onnx} file or a directory. */
    static boolean isModelPath(String word) {
        Path p = Path.of(word);
        return Files.isDirectory(p) || (word.endsWith(".onnx") && Files.isRegularFile(p));
    }

    /**
     * {@code graft bench PATH}: the FP32 model and its dynamic INT8 copy (two loads of the same files) at batch 1 and
     * 32 (the built-in sentences repeated), timed alternately.
     */
    static int bench(Path path, int runs, PrintStream out) {
        BertFiles.Loaded fp32 = load(path, null);
        BertFiles.Loaded int8 = load(path, null);
        BertTokenizer tokenizer = fp32.requireTokenizer();
        List<String> thirtyTwo = new ArrayList<>();
        for (int i = 0; i < 32; i++) {
            thirtyTwo.add(ReferenceModels.SENTENCES.get(i % ReferenceModels.SENTENCES.size()));
        }
        List<Object[]> inputs = new ArrayList<>();
        for (List<String> texts : List.of(thirtyTwo.subList(0, 1), thirtyTwo)) {
            BertTokenizer.Batch b = tokenizer.encodeBatch(texts);
            inputs.add(new Object[] {b.inputIds(), b.attentionMask(), b.tokenTypeIds()});
        }
        Graft.quantize(int8.model(), inputs.get(1), Graft.Config.dynamic());
        out.println(describe(fp32) + ": FP32 against dynamic INT8");
        out.printf("%d processors, %s %s; %d timed calls each after warm-up, FP32 and INT8 alternating%n%n",
                Runtime.getRuntime().availableProcessors(), System.getProperty("java.vm.name"), Runtime.version(), runs);
        out.printf("%5s  %9s  %11s  %9s  %11s  %7s%n", "batch", "FP32 best", "FP32 median", "INT8 best",
                "INT8 median", "speedup");
        for (int i = 0; i < 2; i++) {
            Object[] x = inputs.get(i);
            int batch = ((Tensor) x[0]).size(0);
            double[][] ms = BenchCommand.timeSideBySide(() -> fp32.model().callAny(x), () -> int8.model().callAny(x),
                    runs);
            out.printf("%5d  %9.2f  %11.2f  %9.2f  %11.2f  %6.2fx%n", batch, BenchCommand.min(ms[0]),
                    BenchCommand.median(ms[0]), BenchCommand.min(ms[1]), BenchCommand.median(ms[1]),
                    BenchCommand.median(ms[0]) / BenchCommand.median(ms[1]));
        }
        out.printf("%nms per call (wall clock); speedup = FP32 median / INT8 median.%n");
        return 0;
    }
}
