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
 * {@code ./graft bench kernels}: runs {@link KernelBench} with short, fixed settings (1 fork, 3 x 1 s warm-up,
 * 4 x 1 s measurement) and prints one markdown table: per shape and thread count, FP32 GFLOP/s, INT8 GOP/s, the
 * INT8/FP32 ratio, and the 2-thread speed-up. Arguments, if any, are a regex narrowing the shapes.
 */
public final class KernelBenchMain {

    private KernelBenchMain() {
    }

    public static void main(String[] args) throws RunnerException {
        String filter = args.length > 0 ? args[0] : ".*";
        List<String> shapes = new ArrayList<>();
        for (String s : new String[] {"linear:128x768x768", "linear:128x768x3072", "linear:1x768x3072",
            "linear:512x512x512", "conv3x3:1x64x56x56", "dw3x3:1x116x52x52", "minilm:128"}) {
            if (s.matches(filter)) {
                shapes.add(s);
            }
        }
        System.out.println("Kernels: " + Kernels.description());
        // One JMH run per shape, so FP32 and INT8 of a shape are measured back to back (the machines are noisy
        // over minutes; ratios taken close together are what this table is for).
        Collection<RunResult> results = new ArrayList<>();
        for (String s : shapes) {
            Options opts = new OptionsBuilder()
                    .include(KernelBench.class.getName() + ".run")
                    .param("shape", s)
                    .forks(1).warmupIterations(3).warmupTime(TimeValue.seconds(1))
                    .measurementIterations(4).measurementTime(TimeValue.seconds(1))
                    .jvmArgsAppend("--add-modules=jdk.incubator.vector", "-XX:+UseParallelGC")
                    .build();
            results.addAll(new Runner(opts).run());
        }
        Map<String, Double> score = new LinkedHashMap<>();
        for (RunResult r : results) {
            var p = r.getParams();
            score.put(p.getParam("shape") + "|" + p.getParam("precision") + "|" + p.getParam("threads"),
                    r.getPrimaryResult().getScore());
        }
        System.out.println();
        System.out.println("| shape | threads | FP32 GFLOP/s | INT8 GOP/s | INT8/FP32 | FP32 2t/1t | INT8 2t/1t |");
        System.out.println("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        for (String s : shapes) {
            double gop = 2.0 * KernelBench.macs(s) / 1e9;
            for (String t : new String[] {"1", "2"}) {
                double f = score.getOrDefault(s + "|fp32|" + t, Double.NaN);
                double q = score.getOrDefault(s + "|int8|" + t, Double.NaN);
                String fs = t.equals("2") ? fmt(f / score.getOrDefault(s + "|fp32|1", Double.NaN)) + "x" : "";
                String qs = t.equals("2") ? fmt(q / score.getOrDefault(s + "|int8|1", Double.NaN)) + "x" : "";
                System.out.printf(Locale.ROOT, "| %s | %s | %.1f | %.1f | %.2fx | %s | %s |%n", s, t, f * gop,
                        q * gop, q / f, fs, qs);
            }
        }
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.2f", v);
    }
}
