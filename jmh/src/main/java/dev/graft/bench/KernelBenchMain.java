package dev.graft.bench;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import dev.graft.kernels.Kernels;

import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * {@code ./graft bench kernels}: runs {@link KernelBench} (Graft FP32, INT8 on the Vector API, INT8 on the generated
 * kernel this JVM selects, AMX where the CPU has it, and on the AVX-512 VNNI one forced) and {@link OrtPeerBench} (ONNX Runtime's MatMul/MatMulInteger and Conv/ConvInteger) with short, fixed
 * settings (1 fork, 3 x 1 s warm-up, 4 x 1 s measurement), 1 and 2 threads for every engine, and prints one markdown
 * table: per shape and thread count, GFLOP/s or GOP/s of each, the ratios of the generated kernel to FP32, to the
 * vector INT8 kernel and to ONNX Runtime's INT8, and its 2-thread speed-up. Arguments, if any, are a regex narrowing
 * the shapes.
 */
public final class KernelBenchMain {

    private static final String[] SHAPES = {"linear:128x768x768", "linear:128x768x3072", "linear:1x768x3072",
        "linear:512x512x512", "conv3x3:1x64x56x56", "dw3x3:1x116x52x52", "minilm:128"};
    private static final String[] JVM_ARGS = {"--add-modules=jdk.incubator.vector", "-XX:+UseParallelGC",
        "--enable-native-access=ALL-UNNAMED"};

    private KernelBenchMain() {
    }

    public static void main(String[] args) throws RunnerException {
        String filter = args.length > 0 ? args[0] : ".*";
        List<String> shapes = new ArrayList<>();
        for (String s : SHAPES) {
            if (s.matches(filter)) {
                shapes.add(s);
            }
        }
        System.out.println("Kernels: " + Kernels.description());
        // One JMH run per shape, so every engine of a shape is measured back to back (the machines are noisy over
        // minutes; ratios taken close together are what this table is for).
        Map<String, Double> score = new LinkedHashMap<>();
        for (String s : shapes) {
            collect(score, new OptionsBuilder().include(KernelBench.class.getName() + ".run").param("shape", s));
            if (s.startsWith("linear") || s.startsWith("conv3x3")) {
                collect(score, new OptionsBuilder().include(OrtPeerBench.class.getName() + ".run").param("shape", s)
                        .param("impl", "ort-fp32", "ort-int8").param("threads", "1", "2"));
            }
        }
        System.out.println();
        System.out.println("| shape | threads | FP32 GFLOP/s | INT8 vector GOP/s | INT8 jit GOP/s | INT8 jit-vnni GOP/s"
                + " | ORT FP32 GFLOP/s | ORT INT8 GOP/s | jit/FP32 | jit/vector | jit/jit-vnni | jit/ORT INT8"
                + " | jit 2t/1t |");
        System.out.println("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        for (String s : shapes) {
            double gop = 2.0 * KernelBench.macs(s) / 1e9;
            for (String t : new String[] {"1", "2"}) {
                double f = score.getOrDefault(s + "|fp32|" + t, Double.NaN);
                double v = score.getOrDefault(s + "|int8|" + t, Double.NaN);
                double j = score.getOrDefault(s + "|jit|" + t, Double.NaN);
                double jv = score.getOrDefault(s + "|jit-vnni|" + t, Double.NaN);
                double of = score.getOrDefault(s + "|ort-fp32|" + t, Double.NaN);
                double oq = score.getOrDefault(s + "|ort-int8|" + t, Double.NaN);
                String scaling = t.equals("2") ? fmt(j / score.getOrDefault(s + "|jit|1", Double.NaN)) + "x" : "";
                System.out.printf(Locale.ROOT,
                        "| %s | %s | %.1f | %.1f | %.1f | %.1f | %s | %s | %.2fx | %.2fx | %.2fx | %s | %s |%n",
                        s, t, f * gop, v * gop, j * gop, jv * gop, Double.isNaN(of) ? "-" : fmt(of * gop),
                        Double.isNaN(oq) ? "-" : fmt(oq * gop), j / f, j / v, j / jv,
                        Double.isNaN(oq) ? "-" : fmt(j / oq) + "x", scaling);
            }
        }
    }

    private static void collect(Map<String, Double> score, org.openjdk.jmh.runner.options.ChainedOptionsBuilder b)
            throws RunnerException {
        Options opts = b.forks(1).warmupIterations(3).warmupTime(TimeValue.seconds(1))
                .measurementIterations(4).measurementTime(TimeValue.seconds(1))
                .jvmArgsAppend(JVM_ARGS).build();
        Collection<RunResult> results = new Runner(opts).run();
        for (RunResult r : results) {
            var p = r.getParams();
            String impl = p.getParam("precision") != null ? p.getParam("precision") : p.getParam("impl");
            score.put(p.getParam("shape") + "|" + impl + "|" + p.getParam("threads"), r.getPrimaryResult().getScore());
        }
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.2f", v);
    }
}
