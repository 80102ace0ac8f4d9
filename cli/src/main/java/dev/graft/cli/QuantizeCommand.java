package dev.graft.cli;

import dev.graft.GraftFile;
import dev.graft.engine.quant.Approach;
import dev.graft.engine.quant.QConfig;
import dev.graft.engine.quant.QConfigMapping;
import dev.graft.engine.quant.passes.DynamicQuantizer;
import dev.graft.engine.quant.passes.StaticQuantizer;
import dev.graft.engine.quant.report.LayerErrorReport;
import dev.graft.engine.quant.report.QuantizationReport;
import dev.graft.engine.trace.Partition;
import dev.graft.engine.trace.Partitioner;
import dev.graft.models.QuantizedModel;
import dev.graft.models.bert.MiniLm;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code graft quantize reuters|cnn|nanodet|minilm --approach dynamic|static|qat [--calib N] [--out FILE]}: partitions
 * the model, quantizes the traced blocks, prints the partition, the INT8/FP32 operator table with sizes and the
 * worst layers, and saves the quantized model when asked.
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
                usage: ./graft quantize reuters|cnn|nanodet|minilm --approach dynamic|static|qat [--calib N]
                                        [--out FILE] [--keep-fp32 N] [--reduce-range]
                       ./graft quantize PATH --approach dynamic|static [--calib FILE|DIR] [--out FILE]
                                        [--keep-fp32 N] [--pooling mean|cls[-normalized]]

                PATH: your own BERT-family model: an ONNX export (tokenizer.json or NAME-tokenizer.json beside it)
                or a Hugging Face directory (config.json, model.safetensors, tokenizer.json; sentence-transformers'
                modules.json for the pooling). --calib FILE|DIR: texts, one per line (a .txt file or a folder of
                them); the last quarter is held out and the command ends with the INT8 model's agreement with FP32
                on it (embedding cosine for encoders, top-1 agreement for classifiers; mean and worst). Dynamic
                without --calib uses built-in sentences. --keep-fp32 N (dynamic) keeps the N layers of lowest SQNR.

                Partitions the model, quantizes every traced block, then prints
                  - the partition tree,
                  - INT8 vs FP32 operators per block, and the FP32 and INT8 sizes with the compression ratio,
                  - the layers with the lowest SQNR against their FP32 originals (worst first).
                models:
                  reuters  MiniLM-L6 + mean pooling + the Reuters Grain head (dynamic, static, qat)
                  cnn      the MNIST CNN (static, qat)
                  nanodet  NanoDet-g on the sample photos (static)
                  minilm   MiniLM as a classifier with early-exit heads, on built-in sentences (dynamic, static)
                approaches:
                  dynamic  Linear layers get int8 per-channel weights and quantize their input per call; embeddings
                           get int8 rows.
                  static   observers are inserted, the whole model runs over calibration data (control flow
                           included), and the blocks convert to INT8 operators with fixed qparams.
                  qat      static preparation with fake quantization, a short fine-tune, then convert (cnn: the whole
                           CNN on MNIST; reuters: the head, on the static INT8 encoder's features).
                --out FILE      save the quantized model (a .graft file: ./graft inspect|eval|bench FILE)
                --calib N       calibration samples, at least 1 (static and qat; defaults: reuters 64 documents,
                                minilm 32 sentences, cnn 512 images, nanodet its calibration photos)
                --keep-fp32 N   (minilm, dynamic) leave the N worst layers by SQNR in FP32
                --reduce-range  (minilm, dynamic) 7-bit activations as PyTorch's fbgemm default
                Data come from ../shared/data, or are fetched once into ~/.cache/graft/data.""";
    }

    /** The models quantize knows: the three workloads with datasets, and MiniLM with its example sentences. */
    static final List<String> MODELS = List.of("reuters", "cnn", "nanodet", "minilm");

    @Override
    public int run(List<String> args, PrintStream out, PrintStream err) throws Exception {
        Options o = Options.spec().switches("--reduce-range")
                .values("--approach", "--keep-fp32", "--calib", "--out", "--pooling").parse(args).atMostPositionals(1);
        String first = o.positional(0, "which model? one of " + MODELS + ", or the path of your own BERT-family "
                + "model (an .onnx file or a Hugging Face directory)");
        if (!MODELS.contains(first) && Files.exists(Path.of(first))) {
            Approach userApproach = approach(o.required("--approach", "dynamic or static"));
            String calibFlag = o.string("--calib", null);
            return UserBert.quantize(Path.of(first), userApproach, calibFlag == null ? null : Path.of(calibFlag),
                    o.integer("--keep-fp32", 0, 10_000, 0), o.string("--pooling", null), o.outputFile("--out"), out,
                    err);
        }
        if (o.given("--pooling")) {
            throw new UsageException("--pooling applies to your own model files (quantize PATH)");
        }
        String model = o.choice(0, "model", MODELS);
        String approachLabel = o.required("--approach", "dynamic, static or qat");
        int keepFp32 = o.integer("--keep-fp32", 0, 10_000, 0);
        int calib = o.integer("--calib", 1, 1_000_000, -1);
        boolean reduceRange = o.has("--reduce-range");
        Path outFile = o.outputFile("--out");
        Approach approach = approach(approachLabel);
        if (!model.equals("minilm")) {
            return runWorkload(Workloads.get(model), approach, calib, outFile, out, err);
        }
        if (approach == Approach.QAT) {
            throw new UsageException("minilm (the early-exit classifier) has no training data for QAT; use reuters");
        }
        ReferenceModels.Example ex = ReferenceModels.load(model);
        out.println(ex.description());
        Partition p = Partitioner.partition(ex.model(), ex.inputs());
        out.println();
        out.print(p.describe());
        if (approach == Approach.STATIC) {
            runStatic(ex, p, calib < 0 ? 32 : calib, out, err);
            save(outFile, p, approach, out);
            return 0;
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
        save(outFile, p, approach, out);
        return 0;
    }

    private static Approach approach(String label) {
        Approach approach = Approach.ofLabel(label);
        if (approach == null || approach == Approach.FP32) {
            throw new UsageException("--approach must be dynamic, static or qat, got '" + label + "'");
        }
        return approach;
    }

    private static int runWorkload(Workloads.Workload w, Approach approach, int calib, Path outFile, PrintStream out,
                                   PrintStream err) throws Exception {
        w.requireApproach(approach);
        out.println(w.title() + ", " + approach + " INT8");
        Progress progress = Progress.on(err);
        long t0 = System.nanoTime();
        QuantizedModel q = w.quantize(approach, new Workloads.Budget(calib, -1, -1), progress);
        progress.finishLine();
        out.println();
        out.print(q.partition().describe());
        out.printf("%n%s (%.1f s):%n", q.recipe(), (System.nanoTime() - t0) / 1e9);
        out.print(q.report().describe());
        if (!q.report().originals().isEmpty()) {
            Object[] example = w.example();
            LayerErrorReport errors = LayerErrorReport.measure(q.model(), q.report().originals(),
                    () -> q.model().callAny(example));
            out.printf("%nworst layers (SQNR of each INT8 layer against its FP32 original, on the example inputs):%n");
            out.print(errors.rows().isEmpty() ? "  (no INT8 layers)\n" : errors.describe(8));
        }
        save(outFile, q.partition(), approach, out);
        return 0;
    }

    /** Writes the model when {@code --out} was given, and says where and how big. */
    static void save(Path outFile, Partition p, Approach approach, PrintStream out) throws java.io.IOException {
        if (outFile == null) {
            return;
        }
        GraftFile.write(outFile, p, java.util.Map.of("approach", approach.label(), "graft", "0.1.0",
                "saved_at", java.time.Instant.now().toString()));
        out.printf("%nsaved %s (%s): ./graft inspect|eval|bench %s%n", outFile,
                Format.bytes(java.nio.file.Files.size(outFile)), outFile);
    }

    private static void runStatic(ReferenceModels.Example ex, Partition p, int calib, PrintStream out, PrintStream err)
            throws java.io.IOException {
        QConfigMapping mapping = ex.name().equals("minilm") ? MiniLm.staticMapping("bert")
                : StaticQuantizer.defaultMapping();
        StaticQuantizer.Prepared prepared = StaticQuantizer.prepare(p, mapping);
        CalibrationData.Batches data = CalibrationData.load(ex, Math.max(calib, 1));
        out.printf("%ncalibrating on %s...%n", data.source());
        Progress progress = Progress.on(err);
        StaticQuantizer.calibrate(prepared, data.batches(), progress);
        progress.finishLine();
        QuantizationReport report = StaticQuantizer.convert(prepared);
        LayerErrorReport errors = LayerErrorReport.measure(p.model(), report.originals(),
                () -> p.model().callAny(ex.inputs()));
        out.printf("%nstatic INT8:%n");
        out.print(report.describe());
        out.printf("%nworst layers (SQNR of each INT8 layer against its FP32 original, on the example inputs):%n");
        out.print(errors.rows().isEmpty() ? "  (no INT8 layers)\n" : errors.describe(8));
    }
}
