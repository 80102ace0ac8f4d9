package dev.graft.engine.quant.report;

import dev.graft.engine.HookHandle;
import dev.graft.engine.Module;
import dev.graft.ops.Tensor;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Which quantized layer hurts: for every quantized module, its output against the FP32 module it replaced on the
 * same input (dequantized when the input is quantized), as PyTorch's numeric suite compares weights and outputs.
 * SQNR = 10 log10(sum ref^2 / sum (ref - q)^2); lower is worse. Rows come sorted worst first.
 */
public final class LayerErrorReport {

    /** One quantized layer's error over all calls observed. */
    public record Row(String path, String kind, double sqnrDb, double maxAbsError, long calls) {
    }

    private final List<Row> rows;

    private LayerErrorReport(List<Row> rows) {
        this.rows = List.copyOf(rows);
    }

    public List<Row> rows() {
        return rows;
    }

    /** Accumulates signal and noise energy for one layer. */
    private static final class Stats {
        double signal;
        double noise;
        double maxAbs;
        long calls;
    }

    /**
     * Runs {@code run} (which should call the quantized model on some inputs) while watching every quantized module
     * that {@code originals} maps (by path) to its FP32 original.
     */
    public static LayerErrorReport measure(Module quantizedModel, Map<String, Module> originals, Runnable run) {
        Map<String, Stats> stats = new LinkedHashMap<>();
        Map<Module, String> paths = new IdentityHashMap<>();
        quantizedModel.namedModules().forEach((p, m) -> paths.putIfAbsent(m, p));
        List<HookHandle> hooks = new ArrayList<>();
        for (Map.Entry<Module, String> e : paths.entrySet()) {
            Module original = originals.get(e.getValue());
            if (original == null) {
                continue;
            }
            Stats s = stats.computeIfAbsent(e.getValue(), k -> new Stats());
            hooks.add(e.getKey().addForwardHook((m, in, out) -> {
                if (!(out instanceof Tensor q) || q.isSymbolic() || !(in[0] instanceof Tensor x) || x.isSymbolic()) {
                    return null;
                }
                Tensor ref = original.call(x.isQuantized() ? x.dequantize() : x);
                accumulate(s, ref.toFloatArray(), (q.isQuantized() ? q.dequantize() : q).toFloatArray());
                return null;
            }));
        }
        try {
            run.run();
        } finally {
            hooks.forEach(HookHandle::remove);
        }
        List<Row> rows = new ArrayList<>();
        stats.forEach((path, s) -> {
            if (s.calls > 0) {
                double sqnr = s.noise == 0 ? Double.POSITIVE_INFINITY : 10 * Math.log10(s.signal / s.noise);
                rows.add(new Row(path, originals.get(path).getClass().getSimpleName(), sqnr, s.maxAbs, s.calls));
            }
        });
        rows.sort(Comparator.comparingDouble(Row::sqnrDb));
        return new LayerErrorReport(rows);
    }

    private static void accumulate(Stats s, float[] ref, float[] q) {
        for (int i = 0; i < ref.length; i++) {
            double d = (double) ref[i] - q[i];
            s.signal += (double) ref[i] * ref[i];
            s.noise += d * d;
            s.maxAbs = Math.max(s.maxAbs, Math.abs(d));
        }
        s.calls++;
    }

    /** The worst {@code limit} rows as a table. */
    public String describe(int limit) {
        return table(rows, limit);
    }

    /** The first {@code limit} of {@code rows} as a table, each column as wide as its widest entry. */
    static String table(List<Row> rows, int limit) {
        StringBuilder sb = new StringBuilder();
        int w = Math.max(5, rows.stream().limit(limit).mapToInt(r -> r.path().length()).max().orElse(5));
        int k = Math.max(8, rows.stream().limit(limit).mapToInt(r -> r.kind().length()).max().orElse(8));
        sb.append(String.format("%-" + w + "s  %-" + k + "s  %9s  %10s%n", "layer", "FP32 was", "SQNR dB",
                "max |err|"));
        for (Row r : rows.subList(0, Math.min(limit, rows.size()))) {
            sb.append(String.format(Locale.ROOT, "%-" + w + "s  %-" + k + "s  %9.2f  %10.4g%n", r.path(), r.kind(),
                    r.sqnrDb(), r.maxAbsError()));
        }
        return sb.toString();
    }
}
