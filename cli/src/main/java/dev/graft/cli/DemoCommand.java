package dev.graft.cli;

import dev.graft.engine.HookHandle;
import dev.graft.engine.Init;
import dev.graft.engine.Module;
import dev.graft.engine.nn.AdaptiveAvgPool2d;
import dev.graft.engine.nn.BatchNorm2d;
import dev.graft.engine.nn.Conv2d;
import dev.graft.engine.nn.Flatten;
import dev.graft.engine.nn.Linear;
import dev.graft.engine.nn.MaxPool2d;
import dev.graft.engine.nn.ReLU;
import dev.graft.engine.nn.Sequential;
import dev.graft.kernels.Kernels;
import dev.graft.kernels.ScalarFloatGemm;
import dev.graft.ops.F;
import dev.graft.ops.Tensor;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The demo a newcomer runs first: fine-grained tracing of the three reference models (pictures), then the results
 * table measured in this run (every workload FP32 against its INT8 forms, ONNX Runtime's INT8 MiniLM beside them),
 * written as Markdown and as a self-contained HTML report. Data come from ../shared/data or are fetched once into
 * ~/.cache/graft/data; the models ship with the build.
 */
final class DemoCommand implements Command {
    @Override
    public String name() {
        return "demo";
    }

    @Override
    public String summary() {
        return "the tour: fine-grained partitions of the reference models, then the results table and the report";
    }

    @Override
    public String usage() {
        return """
                usage: ./graft demo [--out DIR] [--runtime]

                  1. fine-grained tracing of MiniLM, the MNIST CNN and NanoDet: which blocks trace, why the rest
                     stays eager, and a check that the reassembled models compute the same bits (pictures in DIR),
                  2. the results table, measured now: MiniLM-Reuters (dynamic, static, QAT INT8) beside ONNX
                     Runtime's own INT8 MiniLM, the MNIST CNN (static, QAT), NanoDet (static): accuracy, sizes,
                     latency, blocks; the models are saved in DIR as .graft files,
                  3. DIR/report.html (table, partition pictures, worst layers, detections FP32 vs INT8) and
                     DIR/results.md.
                About 5 minutes on two cores (QAT fine-tunes included).
                --out DIR    where pictures, models and the report go (default ./demo-out)
                --runtime    first, a small CNN built from the standard layers (layer shapes, a kernel check)""";
    }

    @Override
    public int run(List<String> args, PrintStream out, PrintStream err) throws Exception {
        Options o = Options.spec().switches("--runtime").values("--out").parse(args).atMostPositionals(0);
        Path outDir = o.outputDir("--out", Path.of("demo-out"));
        boolean runtime = o.has("--runtime");
        long t0 = System.nanoTime();
        if (runtime) {
            out.println("=== The tensor runtime: a small CNN built from the standard layers ===");
            out.println();
            basics(out);
            out.println();
        }
        out.println("=== 1. Fine-grained tracing of the three reference models ===");
        DemoModels.partitions(out, outDir);
        out.println();
        out.println("=== 2. The results table (measured now, FP32 and INT8 side by side) ===");
        Progress progress = Progress.on(err);
        ResultsTable.Result r = ResultsTable.run(outDir, out, progress);
        String table = ResultsTable.markdown(r);
        out.println();
        out.print(table);
        out.println();
        out.println("Scores: MiniLM-Reuters and MNIST accuracy on their test sets; NanoDet F1 of INT8 detections"
                + " against FP32's (IoU 0.5). Sizes: the saved .graft files. Latency: batch 1, median ms ± half the"
                + " interquartile range, all rows of a model timed in one interleaved loop against one FP32 run, on "
                + ResultsTable.threads() + " threads (-Dgraft.threads=N). Blocks: traced blocks / modules left eager,"
                + " as listed in part 1.");
        if (r.ort() != null) {
            out.println("ONNX Runtime row: " + r.ortNote() + ".");
        }
        PartitionCommand.writeAtomically(outDir.resolve("results.md"), "# Graft results (./graft demo)\n\n"
                + "Measured on " + r.machine() + ".\n\n" + table);
        ReportCommand.write(outDir.resolve("report.html"), r);
        out.println();
        out.println("=== 3. The report ===");
        out.println("  " + outDir.resolve("report.html").toAbsolutePath() + " (table, partitions, worst layers,"
                + " detections FP32 vs INT8)");
        out.println("  " + outDir.resolve("results.md").toAbsolutePath());
        out.println("  saved models: " + outDir.toAbsolutePath() + "/*.graft (try ./graft inspect "
                + outDir.resolve("cnn-static.graft") + ")");
        out.printf("%ndemo finished in %.0f s%n", (System.nanoTime() - t0) / 1e9);
        return 0;
    }

    private static void basics(PrintStream out) {
        Init.manualSeed(42);
        Module model = new Sequential(
                new Conv2d(1, 8, 3, 1, 1), new BatchNorm2d(8), new ReLU(), new MaxPool2d(2),
                new Conv2d(8, 16, 3, 1, 1), new BatchNorm2d(16), new ReLU(), new MaxPool2d(2),
                new AdaptiveAvgPool2d(1), new Flatten(), new Linear(16, 10));
        model.eval();
        out.print(model.describe());
        out.printf("parameters: %,d%n%n", model.parameterCount());

        char[] digits = {'1', '7', '0', '4'};
        Tensor images = DrawnDigits.batch(digits);
        out.println("input: " + digits.length + " digits drawn in code, shape " + Arrays.toString(images.shape()));
        out.println(DrawnDigits.ascii(images, 0));

        List<HookHandle> hooks = new ArrayList<>();
        for (Map.Entry<String, Module> e : model.namedModules().entrySet()) {
            if (e.getKey().isEmpty()) {
                continue;
            }
            hooks.add(e.getValue().addForwardHook((m, in, output) -> {
                out.printf("  %-3s %-18s -> %s%n", e.getKey(), m.getClass().getSimpleName(),
                        Arrays.toString(((Tensor) output).shape()));
                return null;
            }));
        }
        out.println("forward, layer by layer:");
        Tensor logits = model.call(images);
        hooks.forEach(HookHandle::remove);

        Tensor probs = F.softmax(logits, 1);
        out.println();
        out.println("class probabilities (seeded random weights: this part shows the runtime; part 3 uses the trained"
                + " CNN):");
        for (int i = 0; i < digits.length; i++) {
            float[] p = probs.select(0, i).toFloatArray();
            int best = (int) probs.select(0, i).argmax(0, false).itemLong();
            out.printf("  digit '%c': argmax %d (p=%.3f), sum of p = %.6f%n", digits[i], best, p[best], sum(p));
        }

        out.println();
        checkGemm(model, images, out);
        timeForward(model, images, out);
    }

    /** Runs the last Linear's input through the selected GEMM and through the scalar reference. */
    private static void checkGemm(Module model, Tensor images, PrintStream out) {
        Sequential seq = (Sequential) model;
        Tensor features = images;
        for (int i = 0; i < seq.size() - 1; i++) {
            features = seq.get(i).call(features);
        }
        Linear head = (Linear) seq.get(seq.size() - 1);
        Tensor fast = F.linear(features, head.weight(), head.bias());
        int m = features.size(0);
        int k = head.inFeatures();
        int n = head.outFeatures();
        float[] ref = new float[m * n];
        new ScalarFloatGemm().gemm(m, n, k, features.toFloatArray(), 0, k, 1, head.weight().toFloatArray(), 0, 1, k,
                ref, 0, n, false);
        float[] bias = head.bias().toFloatArray();
        float[] got = fast.toFloatArray();
        double maxDiff = 0;
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                maxDiff = Math.max(maxDiff, Math.abs(got[i * n + j] - (ref[i * n + j] + bias[j])));
            }
        }
        out.printf("kernel check: head linear via %s vs scalar reference: max |diff| = %.2e%n",
                Kernels.floatGemm().name(), maxDiff);
    }

    private static void timeForward(Module model, Tensor images, PrintStream out) {
        for (int i = 0; i < 20; i++) {
            model.call(images);
        }
        int runs = 50;
        long t0 = System.nanoTime();
        for (int i = 0; i < runs; i++) {
            model.call(images);
        }
        double ms = (System.nanoTime() - t0) / 1e6 / runs;
        out.printf("forward time: %.3f ms per batch of %d (wall clock after warm-up; indicative only — the JMH "
                + "benchmarks are the measurement)%n", ms, images.size(0));
    }

    private static float sum(float[] a) {
        double s = 0;
        for (float v : a) {
            s += v;
        }
        return (float) s;
    }
}
