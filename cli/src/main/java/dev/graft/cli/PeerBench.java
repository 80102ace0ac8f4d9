package dev.graft.cli;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.graft.Graft;
import dev.graft.engine.ProgressListener;
import dev.graft.engine.autograd.Autograd;
import dev.graft.engine.graph.Interpreter;
import dev.graft.engine.quant.tune.Recipe;
import dev.graft.engine.quant.tune.TransformerDefaults;
import dev.graft.engine.trace.Partition;
import dev.graft.engine.trace.Partitioner;
import dev.graft.engine.trace.TraceConfig;
import dev.graft.formats.data.ArffReader;
import dev.graft.formats.text.BertTokenizer;
import dev.graft.kernels.Kernels;
import dev.graft.models.bert.BertModel;
import dev.graft.models.bert.MiniLm;
import dev.graft.ops.Tensor;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code graft bench minilm --peer ort}: all-MiniLM-L6-v2's encoder in five engines on the same tokens: Graft FP32,
 * Graft dynamic INT8, Graft static INT8 (the default transformer recipe), ONNX Runtime FP32 (the model's ONNX file)
 * and ONNX Runtime INT8 (its {@code -q} twin, quantized by ONNX Runtime's dynamic quantizer). Both engines get the
 * same number of threads (Graft's pool size; ONNX Runtime's intra-op threads, one inter-op thread, sequential
 * execution, all graph optimizations).
 *
 * <p>Three sizes: one real sentence (batch 1, ~20 tokens), batch 1 x 128 tokens and batch 32 x 128 tokens (the
 * first Reuters Grain test documents with at least 126 word pieces, truncated to 128). Every mask is all ones, so
 * no engine can skip padding. After a warm-up of every engine, each round calls every engine once, the starting
 * engine rotating from round to round; the table gives medians and minimums, and each Graft engine's largest
 * difference from ONNX Runtime FP32 on the last hidden state as a sanity check.
 *
 * <p>{@code --profile SIZE} instead prints where one engine's time goes: wall time per operator of its traced
 * blocks (an {@link Interpreter} listener), summed over the calls and divided per call.
 */
final class PeerBench {
    static final List<String> ENGINES = List.of("graft-fp32", "graft-dyn", "graft-static", "ort-fp32", "ort-int8");
    /** Engines that run only when asked for ({@code --engines}): dynamic INT8 with per-tensor activations. */
    static final List<String> OPTIONAL = List.of("graft-dyn-tensor");
    static final List<String> SIZES = List.of("1x20", "1x128", "32x128");
    private static final String SENTENCE =
            "Grain shipments to the Soviet Union were delayed by bad weather in the Black Sea ports.";
    private static final int CALIBRATION_SENTENCES = 32;

    private PeerBench() {
    }

    /** One engine: the last hidden state [B, S, H] for ids, mask, token types. */
    private interface Engine {
        Tensor run(Object[] inputs);
    }

    static int run(Options o, int runs, PrintStream out) throws Exception {
        String peer = o.string("--peer", "ort");
        if (!peer.equals("ort")) {
            throw new UsageException("--peer: the only peer is ort (ONNX Runtime), got '" + peer + "'");
        }
        List<String> engines = o.given("--engines") ? List.of(o.string("--engines", null).split(",")) : ENGINES;
        for (String e : engines) {
            if (!ENGINES.contains(e) && !OPTIONAL.contains(e)) {
                throw new UsageException("--engines: unknown engine '" + e + "' (choose from " + ENGINES + " and "
                        + OPTIONAL + ")");
            }
        }
        String profile = o.given("--profile") ? o.string("--profile", null) : null;
        boolean cpuTime = o.has("--cpu-time");
        if (cpuTime && Graft.threads() != 1) {
            throw new UsageException("--cpu-time measures the calling thread's CPU time, which is all of both engines'"
                    + " work only with one thread: run with -Dgraft.threads=1");
        }
        if (profile != null && !SIZES.contains(profile)) {
            throw new UsageException("--profile: unknown size '" + profile + "' (choose from " + SIZES + ")");
        }
        if (!MiniLm.available()) {
            throw new UsageException("MiniLM is not on the class path (" + MiniLm.MAVEN_COORDINATE + ")");
        }
        int threads = Graft.threads();
        BertTokenizer tokenizer = MiniLm.tokenizer();
        Map<String, Object[]> inputs = inputs(tokenizer);
        List<Object[]> calibration = calibration(tokenizer);

        Map<String, Engine> built = new LinkedHashMap<>();
        List<AutoCloseable> closeLater = new ArrayList<>();
        for (String e : engines) {
            built.put(e, switch (e) {
                case "graft-fp32" -> {   // traced too: FP32 blocks get the same fusion passes as INT8 ones
                    BertModel m = MiniLm.load();
                    Graft.optimize(m, List.<Object[]>of(inputs.get("1x20")));
                    yield graft(m);
                }
                case "graft-dyn", "graft-dyn-tensor" -> {   // Graft's default (per-token activations), or fbgemm's
                    BertModel m = MiniLm.load();
                    Graft.quantize(m, List.<Object[]>of(inputs.get("1x20")), e.equals("graft-dyn")
                            ? Graft.Config.dynamic() : Graft.Config.dynamicPerTensor());
                    yield graft(m);
                }
                case "graft-static" -> {
                    BertModel m = MiniLm.load();
                    Partition p = Partitioner.partitionWithExamples(m, calibration, TraceConfig.defaults());
                    Recipe recipe = TransformerDefaults.recipe(p);
                    recipe.apply(p, calibration, null, ProgressListener.NONE);
                    m.eval();
                    yield graft(m);
                }
                case "ort-fp32", "ort-int8" -> {
                    OrtEngine ort = new OrtEngine(e.equals("ort-fp32") ? MiniLm.MODEL_RESOURCE
                            : OrtMiniLm.RESOURCE, threads);
                    closeLater.add(ort);
                    yield ort::run;
                }
                default -> throw new IllegalStateException(e);
            });
        }
        try {
            out.printf("all-MiniLM-L6-v2 encoder (6 layers, hidden 384), last hidden state; %d threads for every"
                    + " engine (Graft's pool, ONNX Runtime intra-op; set with -Dgraft.threads=N); %d processors%n",
                    threads, Runtime.getRuntime().availableProcessors());
            out.printf("Graft: INT8 GEMM %s; static = the default transformer recipe calibrated on %d Reuters"
                    + " Grain training sentences%n", Kernels.int8Gemm().name(),
                    calibration.stream().mapToInt(b -> ((Tensor) b[0]).shape()[0]).sum());
            if (profile != null) {
                return profile(built, profile, inputs.get(profile), Math.max(runs, 3), cpuTime, out);
            }
            return table(built, inputs, runs, cpuTime, out);
        } finally {
            for (AutoCloseable c : closeLater) {
                c.close();
            }
        }
    }

    private static Engine graft(BertModel model) {
        model.eval();
        return x -> {
            try (var ignored = Autograd.noGrad()) {
                return model.lastHiddenState((Tensor) x[0], (Tensor) x[1], (Tensor) x[2]);
            }
        };
    }

    private static int table(Map<String, Engine> engines, Map<String, Object[]> inputs, int runs, boolean cpuTime,
                             PrintStream out) {
        List<String> names = new ArrayList<>(engines.keySet());
        java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
        out.printf("%d rounds per size after warm-up; each round calls every engine once, the first engine rotating;"
                + " ms per call, median (min)%s%n%n", runs, cpuTime ? ", CPU time of the calling thread (one thread:"
                + " the engines' whole work, whatever else runs on the machine)" : ", wall clock");
        StringBuilder header = new StringBuilder(String.format("%-8s", "size"));
        names.forEach(n -> header.append(String.format("  %17s", n)));
        out.println(header);
        Map<String, Map<String, Double>> medians = new LinkedHashMap<>();
        Map<String, String> diffs = new LinkedHashMap<>();
        for (Map.Entry<String, Object[]> size : inputs.entrySet()) {
            Object[] x = size.getValue();
            Map<String, Tensor> last = new LinkedHashMap<>();
            long warmUntil = System.nanoTime() + 3_000_000_000L;
            for (int i = 0; i < 3 || (System.nanoTime() < warmUntil && i < 100); i++) {
                for (String n : names) {
                    last.put(n, engines.get(n).run(x));
                }
            }
            double[][] ms = new double[names.size()][runs];
            for (int r = 0; r < runs; r++) {
                for (int k = 0; k < names.size(); k++) {
                    int e = (k + r) % names.size();
                    long t0 = cpuTime ? mx.getCurrentThreadCpuTime() : System.nanoTime();
                    engines.get(names.get(e)).run(x);
                    ms[e][r] = ((cpuTime ? mx.getCurrentThreadCpuTime() : System.nanoTime()) - t0) / 1e6;
                }
            }
            StringBuilder row = new StringBuilder(String.format("%-8s", size.getKey()));
            Map<String, Double> m = new LinkedHashMap<>();
            for (int e = 0; e < names.size(); e++) {
                double median = BenchCommand.median(ms[e]);
                m.put(names.get(e), median);
                row.append(String.format("  %17s", String.format("%.2f (%.2f)", median, BenchCommand.min(ms[e]))));
            }
            medians.put(size.getKey(), m);
            out.println(row);
            Tensor reference = last.get("ort-fp32");
            if (reference != null) {
                StringBuilder d = new StringBuilder();
                for (String n : names) {
                    if (n.startsWith("graft")) {
                        d.append(String.format("%s %.2g  ", n, maxAbsDiff(last.get(n), reference)));
                    }
                }
                diffs.put(size.getKey(), d.toString().strip());
            }
        }
        out.println();
        ratio(out, medians, "graft-fp32", "ort-fp32", "Graft FP32 / ONNX Runtime FP32 time");
        ratio(out, medians, "graft-dyn", "ort-int8", "Graft dynamic INT8 / ONNX Runtime INT8 time");
        ratio(out, medians, "graft-static", "ort-int8", "Graft static INT8 / ONNX Runtime INT8 time");
        ratio(out, medians, "graft-fp32", "graft-dyn", "Graft dynamic INT8 speedup over Graft FP32");
        ratio(out, medians, "graft-fp32", "graft-static", "Graft static INT8 speedup over Graft FP32");
        diffs.forEach((size, d) -> out.printf("max |difference| from ONNX Runtime FP32 at %s: %s%n", size, d));
        return 0;
    }

    private static void ratio(PrintStream out, Map<String, Map<String, Double>> medians, String a, String b,
                              String what) {
        StringBuilder s = new StringBuilder();
        for (Map.Entry<String, Map<String, Double>> e : medians.entrySet()) {
            Double x = e.getValue().get(a);
            Double y = e.getValue().get(b);
            if (x != null && y != null) {
                s.append(String.format("  %s %.2fx", e.getKey(), x / y));
            }
        }
        if (!s.isEmpty()) {
            out.printf("%-46s%s%n", what + ":", s);
        }
    }

    /** Per-operator wall time of every Graft engine at one size (ONNX Runtime engines are only timed whole). */
    private static int profile(Map<String, Engine> engines, String size, Object[] x, int calls, boolean cpuTime,
                               PrintStream out) {
        java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
        java.util.function.LongSupplier clock = cpuTime ? mx::getCurrentThreadCpuTime : System::nanoTime;
        out.printf("%nwhere the time goes at %s: %s per call of each operator of the traced blocks, %d calls"
                + " (outside the blocks: glue code between them)%n", size, cpuTime ? "CPU time" : "wall time", calls);
        for (Map.Entry<String, Engine> e : engines.entrySet()) {
            Engine engine = e.getValue();
            for (int i = 0; i < 3; i++) {
                engine.run(x);
            }
            Map<String, long[]> byOp = new TreeMap<>();
            long total;
            long t0 = clock.getAsLong();
            try (var ignored = Interpreter.listen(new Interpreter.NodeTimer() {
                @Override
                public void node(String what, long nanos) {
                    long[] c = byOp.computeIfAbsent(what, k -> new long[2]);
                    c[0] += nanos;
                    c[1]++;
                }

                @Override
                public long now() {
                    return clock.getAsLong();
                }
            })) {
                for (int i = 0; i < calls; i++) {
                    engine.run(x);
                }
            }
            total = clock.getAsLong() - t0;
            long inBlocks = byOp.values().stream().mapToLong(c -> c[0]).sum();
            out.printf("%n%s: %.2f ms per call%s%n", e.getKey(), total / 1e6 / calls,
                    byOp.isEmpty() ? " (no traced blocks: eager or another engine)" : "");
            byOp.entrySet().stream().sorted((p, q) -> Long.compare(q.getValue()[0], p.getValue()[0]))
                    .forEach(op -> out.printf("  %-44s %9.3f ms %5.1f%%  %6d nodes%n", op.getKey(),
                            op.getValue()[0] / 1e6 / calls, 100.0 * op.getValue()[0] / total,
                            op.getValue()[1] / calls));
            if (!byOp.isEmpty()) {
                out.printf("  %-44s %9.3f ms %5.1f%%%n", "(outside the operators)", (total - inBlocks) / 1e6 / calls,
                        100.0 * (total - inBlocks) / total);
            }
        }
        return 0;
    }

    static double maxAbsDiff(Tensor a, Tensor b) {
        float[] x = a.contiguous().toFloatArray();
        float[] y = b.contiguous().toFloatArray();
        double d = 0;
        for (int i = 0; i < x.length; i++) {
            d = Math.max(d, Math.abs(x[i] - y[i]));
        }
        return d;
    }

    /** The three sizes' inputs: one sentence, then Reuters Grain test documents of at least 128 tokens. */
    private static Map<String, Object[]> inputs(BertTokenizer tokenizer) throws IOException {
        Map<String, Object[]> out = new LinkedHashMap<>();
        out.put("1x20", encode(tokenizer, List.of(SENTENCE), 0));
        BertTokenizer t128 = tokenizer.withMaxLength(128);
        List<String> longDocs = new ArrayList<>();
        for (String text : reutersTexts("test")) {
            if (t128.encode(text).length == 128) {
                longDocs.add(text);
            }
            if (longDocs.size() == 32) {
                break;
            }
        }
        if (longDocs.size() < 32) {
            throw new IOException("the Reuters Grain test set has only " + longDocs.size() + " documents of 128"
                    + " tokens (32 needed)");
        }
        out.put("1x128", encode(t128, longDocs.subList(0, 1), 128));
        out.put("32x128", encode(t128, longDocs, 128));
        return out;
    }

    private static List<Object[]> calibration(BertTokenizer tokenizer) throws IOException {
        List<String> sentences = new ArrayList<>();
        for (String text : reutersTexts("train")) {
            String s = dev.graft.formats.data.ReutersText.firstSentence(text);
            if (!s.isBlank() && !sentences.contains(s)) {
                sentences.add(s);
            }
            if (sentences.size() == CALIBRATION_SENTENCES) {
                break;
            }
        }
        List<Object[]> batches = new ArrayList<>();
        for (int i = 0; i < sentences.size(); i += 16) {
            batches.add(encode(tokenizer, sentences.subList(i, Math.min(i + 16, sentences.size())), 0));
        }
        return batches;
    }

    private static List<String> reutersTexts(String split) throws IOException {
        Path dir = DataSources.reuters();
        Path file = dir.resolve("ReutersGrain-" + split + ".arff.gz");
        if (!Files.isRegularFile(file)) {
            file = dir.resolve("ReutersGrain-" + split + ".arff");
        }
        return ArffReader.read(file).strings("Text");
    }

    private static Object[] encode(BertTokenizer tokenizer, List<String> texts, int padTo) {
        BertTokenizer.Batch b = tokenizer.encodeBatch(texts, padTo);
        return new Object[] {b.inputIds(), b.attentionMask(), b.tokenTypeIds()};
    }

    /** An ONNX Runtime session of a MiniLM ONNX file from the class path, at a given intra-op thread count. */
    private static final class OrtEngine implements AutoCloseable {
        private final OrtEnvironment env = OrtEnvironment.getEnvironment();
        private final OrtSession session;

        OrtEngine(String resource, int threads) throws IOException, OrtException {
            byte[] onnx;
            try (InputStream in = MiniLm.class.getClassLoader().getResourceAsStream(resource)) {
                if (in == null) {
                    throw new IOException(resource + " is not on the class path");
                }
                onnx = in.readAllBytes();
            }
            try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
                options.setIntraOpNumThreads(threads);
                options.setInterOpNumThreads(1);
                options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
                options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
                session = env.createSession(onnx, options);
            }
        }

        Tensor run(Object[] x) {
            Tensor ids = (Tensor) x[0];
            int[] shape = ids.shape();
            long[] dims = {shape[0], shape[1]};
            Map<String, OnnxTensor> in = new HashMap<>();
            try {
                in.put("input_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(ids.toLongArray()), dims));
                in.put("attention_mask", OnnxTensor.createTensor(env,
                        LongBuffer.wrap(((Tensor) x[1]).toLongArray()), dims));
                in.put("token_type_ids", OnnxTensor.createTensor(env,
                        LongBuffer.wrap(((Tensor) x[2]).toLongArray()), dims));
                try (OrtSession.Result r = session.run(in)) {
                    OnnxTensor h = (OnnxTensor) r.get("last_hidden_state").orElseThrow();
                    long[] s = h.getInfo().getShape();
                    float[] flat = new float[(int) (s[0] * s[1] * s[2])];
                    h.getFloatBuffer().get(flat);
                    return Tensor.wrap(flat, (int) s[0], (int) s[1], (int) s[2]);
                }
            } catch (OrtException e) {
                throw new IllegalStateException("ONNX Runtime failed: " + e.getMessage(), e);
            } finally {
                in.values().forEach(OnnxTensor::close);
            }
        }

        @Override
        public void close() throws OrtException {
            session.close();
        }
    }
}
