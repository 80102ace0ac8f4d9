package dev.graft.cli;

import dev.graft.Graft;
import dev.graft.engine.Module;
import dev.graft.engine.ProgressListener;
import dev.graft.engine.autograd.Autograd;
import dev.graft.engine.quant.tune.Tuner;
import dev.graft.formats.data.ArffDataset;
import dev.graft.formats.data.ArffReader;
import dev.graft.formats.data.IdxReader;
import dev.graft.formats.data.ReutersText;
import dev.graft.formats.text.BertTokenizer;
import dev.graft.models.bert.BertFiles;
import dev.graft.models.bert.BertModel;
import dev.graft.models.bert.MiniLm;
import dev.graft.models.bert.ReutersGrain;
import dev.graft.models.bert.SentencePooling;
import dev.graft.ops.Tensor;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * {@code graft tune reuters|cnn|minilm|PATH --tolerance 1% [--budget N] [--out F]}: accuracy-aware static INT8
 * ({@link Graft#tune}): the trajectory table, the chosen recipe and its operator table; {@code --out} saves the
 * model with the recipe in the file ({@code graft inspect} prints it).
 */
final class TuneCommand implements Command {
    static final List<String> MODELS = List.of("reuters", "cnn", "minilm");
    private static final int SENTENCES = 64;
    private static final int BATCH = 16;

    @Override
    public String name() {
        return "tune";
    }

    @Override
    public String summary() {
        return "tune static INT8 until the score is within a tolerance of FP32, with as few FP32 operators as it can";
    }

    @Override
    public String usage() {
        return """
                usage: ./graft tune reuters|cnn|minilm|PATH --tolerance T [--absolute] [--budget N]
                                    [--minutes M] [--calib N] [--tokenizer FILE] [--out FILE]

                Quantizes the model to static INT8 again and again, each time with another recipe, and scores every
                trial against FP32 until the loss is within the tolerance: the default recipe (transformer patterns
                found in the traced graph, SmoothQuant), SmoothQuant alphas, activation observers, per-tensor weights,
                then operators falling back to FP32 by sensitivity; once within, it tries the FP32 operators back in
                INT8. Prints every trial (score, loss, INT8/FP32 operators, size, latency) and the chosen recipe.
                models and scores:
                  reuters     MiniLM-L6 + the Reuters Grain head: accuracy on the 604 test documents
                  cnn         the MNIST CNN: accuracy on the 10,000 test images
                  minilm      all-MiniLM-L6-v2 sentence embeddings: mean cosine to FP32 over 64 Reuters sentences
                  PATH        a BERT-family encoder: an ONNX export or a Hugging Face directory, scored as minilm;
                              its tokenizer is found beside it, else MiniLM's, unless --tokenizer FILE is given
                --tolerance T  allowed loss: '1%' relative to the FP32 score, or '0.002' (relative unless --absolute)
                --absolute     the tolerance is an absolute score difference
                --budget N     at most N trials (default 40)
                --minutes M    at most M minutes (default 60)
                --calib N      calibration samples (reuters 64 documents, cnn 512 images, minilm 32 sentences)
                --out FILE     save the tuned model with its recipe (a .graft file)""";
    }

    @Override
    public int run(List<String> args, PrintStream out, PrintStream err) throws Exception {
        Options o = Options.spec().switches("--absolute")
                .values("--tolerance", "--budget", "--minutes", "--calib", "--out", "--tokenizer")
                .parse(args).atMostPositionals(1);
        String model = o.positional(0, "a model: " + String.join(", ", MODELS) + " or an .onnx file");
        double tolerance = tolerance(o.required("--tolerance", "e.g. 1%"));
        Tuner.Criterion criterion = o.has("--absolute") ? Tuner.Criterion.absoluteLoss(tolerance)
                : Tuner.Criterion.relativeLoss(tolerance);
        Tuner.Budget budget = new Tuner.Budget(o.integer("--budget", 1, 10_000, 40),
                Duration.ofSeconds(Math.round(60 * o.number("--minutes", 0.1, 100_000, 60))));
        int calib = o.integer("--calib", 1, 100_000, -1);
        Path outFile = o.outputFile("--out");
        Path tokenizerFile = o.given("--tokenizer") ? o.inputFile("--tokenizer") : null;
        Task task = switch (model) {
            case "reuters" -> reuters(calib < 0 ? 64 : calib);
            case "cnn" -> cnn(calib < 0 ? 512 : calib);
            case "minilm" -> sentences(MiniLm::load, MiniLm.tokenizer(), "all-MiniLM-L6-v2", calib < 0 ? 32 : calib);
            default -> {
                Path file = Path.of(model);
                if (!java.nio.file.Files.exists(file)) {
                    throw new UsageException("unknown model '" + model + "' (choose one of " + MODELS
                            + ", a BERT-family .onnx file or a Hugging Face directory)");
                }
                BertFiles.Loaded loaded = BertFiles.load(file);
                if (loaded.isClassifier()) {
                    throw new UsageException(file + " holds a sequence classifier; tune scores an encoder's sentence"
                            + " embeddings (pass the encoder export)");
                }
                BertTokenizer tokenizer = tokenizerFile != null
                        ? BertTokenizer.fromJson(java.nio.file.Files.readAllBytes(tokenizerFile), tokenizerFile)
                        : loaded.tokenizer() != null ? loaded.tokenizer() : MiniLm.tokenizer();
                yield sentences(() -> loadEncoder(file), tokenizer, file.getFileName().toString(),
                        calib < 0 ? 32 : calib);
            }
        };
        out.printf("tuning %s: score = %s; %s; at most %d trials or %d min%n", task.title, task.metric, criterion,
                budget.trials(), budget.time().toMinutes());
        Progress progress = Progress.on(err);
        Graft.Tuned tuned = Graft.tune(task.model, task.calibration, task.evaluator, criterion, budget, progress);
        progress.finishLine();
        Tuner.Result r = tuned.result();
        out.println();
        out.print(r.table());
        out.println();
        out.print(r.recipe().describe());
        out.println();
        out.print(r.report().describe());
        if (outFile != null) {
            tuned.save(outFile);
            out.printf("%nsaved %s (./graft inspect %s prints its recipe)%n", outFile, outFile);
        }
        return r.met() ? 0 : 1;
    }

    /** '1%' -> 0.01; '0.002' -> 0.002. */
    static double tolerance(String text) {
        String t = text.trim();
        boolean percent = t.endsWith("%");
        try {
            double v = Double.parseDouble(percent ? t.substring(0, t.length() - 1) : t);
            if (!(v >= 0) || Double.isInfinite(v)) {
                throw new NumberFormatException();
            }
            return percent ? v / 100 : v;
        } catch (NumberFormatException e) {
            throw new UsageException("--tolerance takes a number >= 0, optionally with %, got '" + text + "'");
        }
    }

    /** What one tuning run needs: FP32 models, calibration batches, a scoring function. */
    private record Task(String title, String metric, Supplier<Module> model, List<Object[]> calibration,
                        Tuner.Evaluator evaluator) {
    }

    private static Task reuters(int calib) throws IOException {
        Workloads.Workload w = Workloads.get("reuters");
        ArffDataset train = ArffReader.read(TrainCommand.findArff(DataSources.reuters(), "Grain", "train"));
        List<String> texts = train.strings("Text");
        List<Object[]> batches = ReutersGrain.calibrationBatches(texts, Math.min(calib, texts.size()));
        return new Task("MiniLM-Reuters", w.metric(), () -> fp32(w), batches, m -> score(w, m));
    }

    private static Task cnn(int calib) throws IOException {
        Workloads.Workload w = Workloads.get("cnn");
        Path dir = DataSources.mnist();
        Tensor images = IdxReader.readImages(DataSources.mnistFile(dir, "train-images-idx3-ubyte"), calib);
        List<Object[]> batches = new ArrayList<>();
        for (int start = 0; start < images.size(0); start += 128) {
            batches.add(new Object[] {images.narrow(0, start, Math.min(128, images.size(0) - start)).contiguous()});
        }
        return new Task("MNIST CNN", w.metric(), () -> fp32(w), batches, m -> score(w, m));
    }

    private static BertModel loadEncoder(Path file) {
        BertModel m = BertFiles.load(file).encoder();
        m.eval();
        return m;
    }

    private static Module fp32(Workloads.Workload w) {
        try {
            return w.fp32();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static double score(Workloads.Workload w, Module m) {
        try {
            return w.score(m, null, ProgressListener.NONE).value();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * A sentence encoder scored by the mean cosine of its mean-pooled embeddings to the FP32 model's, over the first
     * sentences of 64 Reuters Grain test documents; calibrated on the next {@code calib}.
     */
    private static Task sentences(Supplier<BertModel> load, BertTokenizer tokenizer, String title, int calib)
            throws IOException {
        Path test = TrainCommand.findArff(DataSources.reuters(), "Grain", "test");
        List<String> all = ReutersText.firstSentences(test, SENTENCES + calib);
        if (all.size() < SENTENCES + 1) {
            throw new IOException(test + ": only " + all.size() + " distinct sentences");
        }
        List<String> eval = all.subList(0, SENTENCES);
        List<String> calibration = all.subList(SENTENCES, all.size());
        List<Object[]> evalBatches = batches(tokenizer, eval);
        float[][] reference = embed(load.get(), evalBatches);
        Tuner.Evaluator cosine = m -> {
            float[][] got = embed((BertModel) m, evalBatches);
            double sum = 0;
            for (int i = 0; i < got.length; i++) {
                sum += cosine(reference[i], got[i]);
            }
            return sum / got.length;
        };
        return new Task(title, String.format(Locale.ROOT, "mean embedding cosine to FP32 over %d Reuters sentences",
                SENTENCES), load::get, batches(tokenizer, calibration), cosine);
    }

    private static List<Object[]> batches(BertTokenizer tokenizer, List<String> texts) {
        List<Object[]> out = new ArrayList<>();
        for (int from = 0; from < texts.size(); from += BATCH) {
            BertTokenizer.Batch b = tokenizer.encodeBatch(new ArrayList<>(texts.subList(from,
                    Math.min(texts.size(), from + BATCH))));
            out.add(new Object[] {b.inputIds(), b.attentionMask(), b.tokenTypeIds()});
        }
        return out;
    }

    private static float[][] embed(BertModel model, List<Object[]> batches) {
        List<float[]> rows = new ArrayList<>();
        try (var g = Autograd.noGrad()) {
            for (Object[] b : batches) {
                Tensor mask = (Tensor) b[1];
                Tensor hidden = model.lastHiddenState((Tensor) b[0], mask, (Tensor) b[2]);
                Tensor e = SentencePooling.embeddings(hidden, mask.narrow(1, 0, hidden.size(1)));
                for (int i = 0; i < e.size(0); i++) {
                    rows.add(e.select(0, i).toFloatArray());
                }
            }
        }
        return rows.toArray(new float[0][]);
    }

    private static double cosine(float[] a, float[] b) {
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return dot / Math.sqrt(na * nb);
    }
}
