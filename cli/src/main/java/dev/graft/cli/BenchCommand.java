package dev.graft.cli;

import dev.graft.engine.quant.Approach;
import dev.graft.engine.quant.QConfig;
import dev.graft.engine.quant.QConfigMapping;
import dev.graft.engine.quant.passes.DynamicQuantizer;
import dev.graft.engine.quant.passes.StaticQuantizer;
import dev.graft.engine.quant.report.QuantizationReport;
import dev.graft.engine.trace.Partition;
import dev.graft.engine.trace.Partitioner;
import dev.graft.formats.text.BertTokenizer;
import dev.graft.models.QuantizedModel;
import dev.graft.models.bert.BertForSequenceClassification;
import dev.graft.models.bert.MiniLm;
import dev.graft.models.mnist.MnistCnn;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code graft bench minilm|cnn|nanodet [--approach dynamic|static] [--runs N]}: whole-model latency, FP32 beside
 * INT8 in one run. Both copies are built from the same weights, warmed up together, then timed alternately (one
 * FP32 call, one INT8 call) so that JIT compilation, GC and frequency changes hit both alike.
 *
 * <p>The models' early exits are turned off for the benchmark: an exit taken by one precision and not by the other
 * would time different amounts of work. ({@code ./graft bench kernels}, the JMH kernel table, is handled by the
 * {@code graft} script before the CLI starts.)
 */
final class BenchCommand implements Command {
    private static final int DEFAULT_RUNS = 15;

    @Override
    public String name() {
        return "bench";
    }

    @Override
    public String summary() {
        return "latency of a reference model at batch 1 and 32, FP32 vs INT8 side by side (bench kernels: JMH)";
    }

    @Override
    public String usage() {
        return """
                usage: ./graft bench minilm|cnn|nanodet [--approach dynamic|static] [--runs N] [--calib N]
                       ./graft bench reuters [--approach dynamic|static|qat] [--runs N]
                       ./graft bench FILE.graft [--runs N]   (a saved model against its FP32 model)
                       ./graft bench PATH [--runs N]   (your BERT-family .onnx or HF directory: FP32 vs dynamic INT8)
                       ./graft bench minilm --peer ort [--runs N] [--engines E,E..] [--profile SIZE]
                       ./graft bench kernels [shape-regex]     (the JMH kernel table; see docs/BENCHMARKS.md)

                Builds an FP32 and an INT8 copy of the reference model (default: dynamic INT8 for minilm, static
                for cnn and nanodet), warms both up, then times them alternately and prints, per batch size, the
                best and median milliseconds per call of each and the INT8 speedup (FP32 / INT8, from the medians).
                  minilm   batch 1: one sentence; batch 32: the 4 built-in sentences repeated (padded to 32 tokens)
                  cnn      batch 1: one drawn digit; batch 32: 32 drawn digits (1, 7, 0, 4 repeated)
                  nanodet  batch 1 only (the detector's decode and NMS take one image)
                Early exits are turned off in both copies so they run the same layers.
                --runs N   timed calls per model and batch size (default 15)
                --calib N  calibration samples for static (default 32; see ./graft quantize --help)

                --peer ort: MiniLM's encoder in five engines on the same tokens, the same thread count for all
                (-Dgraft.threads=N, default: every processor): graft-fp32 (Graft.optimize), graft-dyn
                (Graft.Config.dynamic(): per-token activations), graft-static (the default transformer recipe),
                ort-fp32, ort-int8 (ONNX Runtime's -q model); on request graft-dyn-tensor (per-tensor activations,
                fbgemm's form); sizes 1x20 (one sentence),
                1x128 and 32x128 (Reuters Grain test documents), rounds alternating, medians (min) and ratios.
                --engines  a subset, comma-separated; --profile 1x20|1x128|32x128  wall time per operator
                --cpu-time with -Dgraft.threads=1: the calling thread's CPU time instead of wall clock (steady
                           on a loaded machine: with one thread it is each engine's whole work)""";
    }

    @Override
    public int run(List<String> args, PrintStream out, PrintStream err) throws Exception {
        Options o = Options.spec().values("--approach", "--runs", "--calib", "--peer", "--engines", "--profile")
                .switches("--cpu-time").parse(args).atMostPositionals(1);
        String model = o.positional(0, "which model? one of " + ReferenceModels.NAMES + ", reuters, or a .graft file"
                + " (or kernels)");
        int runs = o.integer("--runs", 1, 100_000, DEFAULT_RUNS);
        if (model.equals("minilm") && o.given("--peer")) {   // five engines against ONNX Runtime: PeerBench
            onlyFlags(o, "bench minilm --peer", "--runs");
            return PeerBench.run(o, runs, out);
        }
        for (String flag : List.of("--peer", "--engines", "--profile", "--cpu-time")) {
            if (o.given(flag) || (flag.equals("--cpu-time") && o.has(flag))) {
                throw new UsageException(flag + " applies to bench minilm --peer ort only");
            }
        }
        if (UserBert.isModelPath(model)) {   // your own BERT-family model: .onnx file or Hugging Face directory
            onlyFlags(o, "a model file", "--runs");
            return UserBert.bench(java.nio.file.Path.of(model), runs, out);
        }
        if (model.endsWith(".graft") || java.nio.file.Files.isRegularFile(java.nio.file.Path.of(model))) {
            onlyFlags(o, "a saved model", "--runs");
            return benchFile(java.nio.file.Path.of(model), runs, out);
        }
        if (model.equals("reuters")) {
            onlyFlags(o, "reuters", "--runs", "--approach");
            Approach approach = o.given("--approach") ? approach(o.string("--approach", null)) : null;
            return benchWorkload(model, approach, runs, out, err);
        }
        if (!ReferenceModels.NAMES.contains(model)) {
            throw new UsageException("unknown model '" + model + "' (choose one of " + ReferenceModels.NAMES
                    + ", reuters, a .graft file, or kernels for the JMH table)");
        }
        Approach approach = o.given("--approach") ? approach(o.string("--approach", null))
                : model.equals("minilm") ? Approach.DYNAMIC : Approach.STATIC;
        int calib = o.integer("--calib", 1, 1_000_000, 32);
        if (approach != Approach.DYNAMIC && approach != Approach.STATIC) {
            throw new UsageException("--approach must be dynamic or static, got " + approach.label());
        }

        ReferenceModels.Example fp32 = withoutEarlyExit(ReferenceModels.load(model));
        ReferenceModels.Example int8 = withoutEarlyExit(ReferenceModels.load(model));
        out.println(int8.description());
        out.println("early exit turned off in both copies, so both run every layer");
        long t0 = System.nanoTime();
        QuantizationReport report = quantize(int8, approach, calib, out);
        out.printf("%s INT8: %d INT8 / %d FP32 operators in the traced blocks, weights %.1fx smaller (%.1f s to"
                + " quantize)%n", approach, report.blocks().stream().mapToInt(QuantizationReport.Block::int8Count).sum(),
                report.blocks().stream().mapToInt(QuantizationReport.Block::fp32Count).sum(),
                report.weightCompression(), (System.nanoTime() - t0) / 1e9);

        Map<Integer, Object[]> inputs = inputs(fp32);
        // FP32 as an FP32 user runs it at its fastest: traced, with the inference rewrites INT8 blocks get too.
        dev.graft.Graft.optimize(fp32.model(), List.<Object[]>of(inputs.values().iterator().next()));
        if (model.equals("nanodet")) {
            out.println("nanodet: batch 1 only (the detector's decode and NMS take one image)");
        }
        out.printf("%d processors, %d kernel threads (graft.threads), %s %s; %d timed calls each after warm-up, FP32"
                + " and INT8 alternating%n%n", Runtime.getRuntime().availableProcessors(),
                dev.graft.kernels.Parallel.shared().threads(), System.getProperty("java.vm.name"), Runtime.version(),
                runs);
        out.printf("%5s  %9s  %11s  %9s  %11s  %7s%n", "batch", "FP32 best", "FP32 median", "INT8 best",
                "INT8 median", "speedup");
        for (Map.Entry<Integer, Object[]> e : inputs.entrySet()) {
            Object[] x = e.getValue();
            double[][] ms = timeSideBySide(() -> fp32.model().callAny(x), () -> int8.model().callAny(x), runs);
            double fp32Median = median(ms[0]);
            double int8Median = median(ms[1]);
            out.printf("%5d  %9.2f  %11.2f  %9.2f  %11.2f  %6.2fx%n", e.getKey(), min(ms[0]), fp32Median,
                    min(ms[1]), int8Median, fp32Median / int8Median);
        }
        out.printf("%nms per call (wall clock); speedup = FP32 median / INT8 median, above 1 means INT8 is faster."
                + " INT8 GEMM: %s (./graft kernels); kernel and model tables: docs/BENCHMARKS.md.%n",
                dev.graft.kernels.Kernels.int8Gemm().name());
        return 0;
    }

    /** A saved model against the FP32 model of its workload, batch 1 and 32, alternating. */
    private static int benchFile(java.nio.file.Path file, int runs, PrintStream out) throws Exception {
        dev.graft.engine.save.SavedModel.Loaded loaded = dev.graft.GraftFile.read(file);
        Workloads.Workload w = Workloads.of(loaded.model());
        out.printf("%s (%s, %s) against the FP32 %s%n", file, w.title(), loaded.info().getOrDefault("approach", "?"),
                w.title());
        benchPair(w, w.fp32(), loaded.model(), runs, out);
        return 0;
    }

    /** A workload's FP32 and INT8 models at batch 1 and 32, alternating. */
    private static void benchPair(Workloads.Workload w, dev.graft.engine.Module fp32, dev.graft.engine.Module int8,
                                  int runs, PrintStream out) throws java.io.IOException {
        out.printf("%d processors, %d kernel threads (graft.threads), %s %s; %d timed calls each after warm-up, FP32"
                + " and INT8 alternating%n%n", Runtime.getRuntime().availableProcessors(),
                dev.graft.kernels.Parallel.shared().threads(), System.getProperty("java.vm.name"), Runtime.version(),
                runs);
        out.printf("%5s  %9s  %11s  %9s  %11s  %7s%n", "batch", "FP32 best", "FP32 median", "INT8 best",
                "INT8 median", "speedup");
        for (int batch : new int[] {1, 32}) {
            Object[] x = w.latencyInput(batch);
            if (x == null) {
                out.printf("%5d  (the model takes one sample per call)%n", batch);
                continue;
            }
            double[][] ms = timeSideBySide(() -> fp32.callAny(x), () -> int8.callAny(x), runs);
            out.printf("%5d  %9.2f  %11.2f  %9.2f  %11.2f  %6.2fx%n", batch, min(ms[0]), median(ms[0]), min(ms[1]),
                    median(ms[1]), median(ms[0]) / median(ms[1]));
        }
        out.printf("%nms per call (wall clock); speedup = FP32 median / INT8 median.%n");
    }

    /** {@code bench reuters}: the MiniLM-Reuters workload, quantized now. */
    private static int benchWorkload(String name, Approach approach, int runs, PrintStream out, PrintStream err)
            throws Exception {
        Workloads.Workload w = Workloads.get(name);
        Approach a = approach == null ? w.approaches().get(0) : approach;
        Progress progress = Progress.on(err);
        QuantizedModel q = w.quantize(a, Workloads.Budget.full(), progress);
        progress.finishLine();
        out.printf("%s, %s INT8 (%s) against FP32%n", w.title(), a, q.recipe());
        benchPair(w, w.fp32(), q.model(), runs, out);
        return 0;
    }

    /** Turns the model's early exit off (MiniLM's entropy exit, the CNN's confidence exit); NanoDet has none. */
    private static ReferenceModels.Example withoutEarlyExit(ReferenceModels.Example ex) {
        if (ex.model() instanceof BertForSequenceClassification bert) {
            bert.setEarlyExitThreshold(Float.NaN);
        } else if (ex.model() instanceof MnistCnn cnn) {
            cnn.setExitThreshold(2f);
        }
        return ex;
    }

    private static QuantizationReport quantize(ReferenceModels.Example ex, Approach approach, int calib,
            PrintStream out) throws java.io.IOException {
        Partition p = Partitioner.partition(ex.model(), ex.inputs());
        if (approach == Approach.DYNAMIC) {
            return DynamicQuantizer.quantize(p, new QConfigMapping().global(QConfig.dynamicDefault()), false);
        }
        QConfigMapping mapping = ex.name().equals("minilm") ? MiniLm.staticMapping("bert")
                : StaticQuantizer.defaultMapping();
        StaticQuantizer.Prepared prepared = StaticQuantizer.prepare(p, mapping);
        CalibrationData.Batches data = CalibrationData.load(ex, calib);
        out.printf("calibrating on %s%n", data.source());
        StaticQuantizer.calibrate(prepared, data.batches(), (done, total, message) -> { });
        return StaticQuantizer.convert(prepared);
    }

    /** Batch size -> the model's call arguments. */
    private static Map<Integer, Object[]> inputs(ReferenceModels.Example ex) {
        Map<Integer, Object[]> out = new LinkedHashMap<>();
        switch (ex.name()) {
            case "minilm" -> {
                BertTokenizer tokenizer = MiniLm.tokenizer();
                for (int batch : new int[] {1, 32}) {
                    List<String> sentences = new ArrayList<>();
                    for (int i = 0; i < batch; i++) {
                        sentences.add(ReferenceModels.SENTENCES.get(i % ReferenceModels.SENTENCES.size()));
                    }
                    BertTokenizer.Batch b = tokenizer.encodeBatch(sentences, 32);
                    out.put(batch, new Object[] {b.inputIds(), b.attentionMask(), b.tokenTypeIds()});
                }
            }
            case "cnn" -> {
                char[] digits = "1704".repeat(8).toCharArray();   // the digits DrawnDigits can draw
                out.put(1, new Object[] {DrawnDigits.batch(new char[] {'7'})});
                out.put(32, new Object[] {DrawnDigits.batch(digits)});
            }
            default -> out.put(1, ex.inputs());
        }
        return out;
    }

    /**
     * Milliseconds of {@code runs} calls of each, alternating, after a warm-up of both (at least 5 calls each and
     * about two seconds, the JIT compiles the INT8 paths later than the FP32 ones).
     */
    static double[][] timeSideBySide(Runnable a, Runnable b, int runs) {
        long warmUntil = System.nanoTime() + 2_000_000_000L;
        for (int i = 0; i < 5 || (System.nanoTime() < warmUntil && i < 200); i++) {
            a.run();
            b.run();
        }
        double[][] ms = new double[2][runs];
        for (int i = 0; i < runs; i++) {
            long t0 = System.nanoTime();
            a.run();
            long t1 = System.nanoTime();
            b.run();
            long t2 = System.nanoTime();
            ms[0][i] = (t1 - t0) / 1e6;
            ms[1][i] = (t2 - t1) / 1e6;
        }
        return ms;
    }

    static double min(double[] v) {
        return Arrays.stream(v).min().orElse(Double.NaN);
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    /** Refuses the flags that {@code what} does not use (the model decides which of bench's flags apply). */
    private static void onlyFlags(Options o, String what, String... allowed) {
        for (String flag : List.of("--approach", "--runs", "--calib")) {
            if (o.given(flag) && !List.of(allowed).contains(flag)) {
                throw new UsageException(flag + " does not apply to " + what);
            }
        }
    }

    /** The approach a flag names; unknown labels are a usage error. */
    private static Approach approach(String label) {
        Approach a = Approach.ofLabel(label);
        if (a == null || a == Approach.FP32) {
            throw new UsageException("--approach must be dynamic, static or qat, got " + label);
        }
        return a;
    }
}
