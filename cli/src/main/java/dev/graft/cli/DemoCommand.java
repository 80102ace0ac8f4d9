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
 * The demo. At this stage of the project: build a small CNN from the standard layers, run it on hand-drawn digit
 * images, show every layer's output shape through forward hooks, the class probabilities, and a check of the
 * selected GEMM kernel against the scalar reference on the same data. The network's weights are PyTorch-style
 * random initialization (seeded), not trained: training arrives with the training issue, and the demo says so.
 */
final class DemoCommand implements Command {
    @Override
    public String name() {
        return "demo";
    }

    @Override
    public String summary() {
        return "a tour: tensor runtime, fine-grained tracing, INT8 MNIST CNN and MiniLM, NanoDet detections";
    }

    @Override
    public String usage() {
        return """
                usage: ./graft demo [--out DIR]

                A tour in five parts, on models and data the project brings with it (no ../shared needed):
                  1. a small CNN from the standard layers on digits drawn in code (layer shapes, a kernel check),
                  2. fine-grained tracing of MiniLM, the MNIST CNN and NanoDet: which blocks trace, why the rest
                     stays eager, and a check that the reassembled models compute the same bits (pictures in DIR),
                  3. the trained MNIST CNN on the drawn digits, FP32 and static INT8,
                  4. MiniLM sentence embeddings in FP32 and dynamic INT8: sizes, cosine to FP32, speed,
                  5. NanoDet detections on a photo, drawn into DIR/dog-boxes.png.
                DIR defaults to ./demo-out.""";
    }

    @Override
    public int run(List<String> args, PrintStream out, PrintStream err) throws Exception {
        Path outDir = Path.of("demo-out");
        for (int i = 0; i < args.size(); i++) {
            if (args.get(i).equals("--out") && i + 1 < args.size()) {
                outDir = Path.of(args.get(++i));
            } else {
                throw new UsageException("unexpected argument '" + args.get(i) + "'");
            }
        }
        long t0 = System.nanoTime();
        out.println("=== 1. The tensor runtime: a small CNN built from the standard layers ===");
        out.println();
        basics(out);
        out.println();
        out.println("=== 2. Fine-grained tracing of the three reference models ===");
        DemoModels.partitions(out, outDir);
        out.println();
        out.println("=== 3. The trained MNIST CNN on the drawn digits, FP32 and static INT8 ===");
        DemoModels.digits(out);
        out.println();
        out.println("=== 4. MiniLM (BERT family): sentence embeddings, FP32 and dynamic INT8 ===");
        DemoModels.minilm(out);
        out.println();
        out.println("=== 5. NanoDet (YOLO-style detector) on a photo ===");
        DemoModels.nanodet(out, outDir);
        out.printf("%ndemo finished in %.0f s; pictures in %s%n", (System.nanoTime() - t0) / 1e9,
                outDir.toAbsolutePath());
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
