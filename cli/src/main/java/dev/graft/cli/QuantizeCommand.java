package dev.graft.cli;

import dev.graft.engine.quant.QConfig;
import dev.graft.engine.quant.QConfigMapping;
import dev.graft.engine.quant.convert.DynamicQuantizer;
import dev.graft.engine.quant.convert.LayerErrorReport;
import dev.graft.engine.quant.convert.QuantizationReport;
import dev.graft.engine.quant.convert.StaticQuantizer;
import dev.graft.formats.models.MiniLm;
import dev.graft.engine.trace.Partition;
import dev.graft.engine.trace.Partitioner;

import java.io.PrintStream;
import java.util.List;

/**
 * {@code graft quantize minilm|cnn|nanodet --approach dynamic|static [--calib N]}: partitions the model, quantizes the
 * traced blocks, and prints the partition, the INT8/FP32 operator table with sizes, and the worst layers.
 */
final class QuantizeCommand implements Command {
    @Override
    public String name() {
        return "quantize";
    }

    @Override
    public String summary() {
        return "quantize a reference model's traced blocks to INT8 and report operators, sizes and worst layers";
    }

    @Override
    public String usage() {
        return """
                usage: ./graft quantize minilm|cnn|nanodet --approach dynamic|static [--calib N] [--keep-fp32 N]
                                        [--reduce-range]

                Partitions the model on its built-in example inputs, quantizes every traced block, then prints
                  - the partition tree,
                  - INT8 vs FP32 operators per block, and the FP32 and INT8 sizes with the compression ratio,
                  - the layers with the lowest SQNR against their FP32 originals (worst first).
                dynamic: Linear layers get int8 per-channel weights and quantize their input per call; embeddings
                         get int8 rows.
                static:  observers are inserted, the whole model runs over calibration data (control flow
                         included), and the blocks convert to INT8 operators with fixed qparams. MiniLM uses its
                         measured configuration (MiniLm.staticMapping), the others PyTorch's x86 defaults without
                         reduce_range.
                --calib N       calibration samples (static; default 32): Reuters sentences, MNIST images or photos
                                from ../shared/data when present, else the built-in examples
                --keep-fp32 N   leave the N worst layers (by SQNR on the example inputs) in FP32 (dynamic)
                --reduce-range  7-bit activations as PyTorch's fbgemm default (dynamic; Graft's kernels do not need it)""";
    }

    @Override
    public int run(List<String> args, PrintStream out, PrintStream err) throws Exception {
        if (args.isEmpty()) {
            throw new UsageException("which model? one of " + ReferenceModels.NAMES);
        }
        String model = args.get(0);
        String approach = null;
        int keepFp32 = 0;
        int calib = 32;
        boolean reduceRange = false;
        for (int i = 1; i < args.size(); i++) {
            switch (args.get(i)) {
                case "--approach" -> approach = value(args, ++i, "--approach");
                case "--keep-fp32" -> keepFp32 = parseCount(value(args, ++i, "--keep-fp32"));
                case "--calib" -> calib = parseCount(value(args, ++i, "--calib"));
                case "--reduce-range" -> reduceRange = true;
                default -> throw new UsageException("unexpected argument '" + args.get(i) + "'");
            }
        }
        if (approach == null) {
            throw new UsageException("--approach is required (dynamic or static)");
        }
        if (!approach.equals("dynamic") && !approach.equals("static")) {
            throw new UsageException("--approach must be dynamic or static (qat comes with training), got " + approach);
        }
        ReferenceModels.Example ex = ReferenceModels.load(model);
        out.println(ex.description());
        Partition p = Partitioner.partition(ex.model(), ex.inputs());
        out.println();
        out.print(p.describe());
        if (approach.equals("static")) {
            return runStatic(ex, p, calib, out, err);
        }
        QuantizationReport report = DynamicQuantizer.quantize(p, new QConfigMapping().global(QConfig.dynamicDefault()),
                reduceRange);
        LayerErrorReport errors = LayerErrorReport.measure(p.model(), report.originals(),
                () -> p.model().callAny(ex.inputs()));
        if (keepFp32 > 0) {
            List<String> worst = errors.rows().stream().limit(keepFp32).map(LayerErrorReport.Row::path).toList();
            out.printf("%nkeeping FP32 (lowest SQNR): %s%n", worst);
            report = DynamicQuantizer.keepFp32(p, report, worst);
            QuantizationReport now = report;
            errors = LayerErrorReport.measure(p.model(), now.originals(), () -> p.model().callAny(ex.inputs()));
        }
        out.printf("%ndynamic INT8 (activations %s):%n", reduceRange ? "7-bit, reduce_range" : "8-bit");
        out.print(report.describe());
        out.printf("%nworst layers (SQNR of each INT8 layer against its FP32 original, on the example inputs):%n");
        out.print(errors.rows().isEmpty() ? "  (no INT8 layers)\n" : errors.describe(8));
        return 0;
    }

    private static int runStatic(ReferenceModels.Example ex, Partition p, int calib, PrintStream out, PrintStream err)
            throws java.io.IOException {
        QConfigMapping mapping = ex.name().equals("minilm") ? MiniLm.staticMapping("bert")
                : StaticQuantizer.defaultMapping();
        StaticQuantizer.Prepared prepared = StaticQuantizer.prepare(p, mapping);
        CalibrationData.Batches data = CalibrationData.load(ex, Math.max(calib, 1));
        out.printf("%ncalibrating on %s...%n", data.source());
        boolean terminal = System.console() != null;
        StaticQuantizer.calibrate(prepared, data.batches(), (done, total, message) -> {
            if (terminal) {
                err.printf("\r  calibration batch %d/%d", done, total);   // redrawn in place
            } else {
                err.printf("  calibration batch %d/%d%n", done, total);   // plain lines for logs and pipes
            }
        });
        if (terminal) {
            err.println();
        }
        QuantizationReport report = StaticQuantizer.convert(prepared);
        LayerErrorReport errors = LayerErrorReport.measure(p.model(), report.originals(),
                () -> p.model().callAny(ex.inputs()));
        out.printf("%nstatic INT8:%n");
        out.print(report.describe());
        out.printf("%nworst layers (SQNR of each INT8 layer against its FP32 original, on the example inputs):%n");
        out.print(errors.rows().isEmpty() ? "  (no INT8 layers)\n" : errors.describe(8));
        return 0;
    }

    private static String value(List<String> args, int i, String flag) {
        if (i >= args.size()) {
            throw new UsageException(flag + " needs a value");
        }
        return args.get(i);
    }

    private static int parseCount(String s) {
        try {
            int n = Integer.parseInt(s);
            if (n < 0) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new UsageException("--keep-fp32 takes a count >= 0, got '" + s + "'");
        }
    }
}
