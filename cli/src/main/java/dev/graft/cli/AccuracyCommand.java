package dev.graft.cli;

import dev.graft.engine.Module;
import dev.graft.engine.quant.Approach;
import dev.graft.models.QuantizedModel;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code graft accuracy [mnist|reuters|all]}: the accuracy part of the results table, FP32 against every INT8 form
 * of the workload on its full test set, with relative loss {@code (acc_fp32 - acc) / acc_fp32}. The recipes are the
 * demo's ({@link Workloads}): MiniLM-Reuters dynamic, static and QAT (head); MNIST CNN static and QAT.
 */
final class AccuracyCommand implements Command {

    @Override
    public String name() {
        return "accuracy";
    }

    @Override
    public String summary() {
        return "accuracy table: FP32 vs dynamic / static / QAT INT8 on MNIST and Reuters Grain";
    }

    @Override
    public String usage() {
        return """
                usage: ./graft accuracy [mnist|reuters|all] [--qat-samples N] [--qat-epochs N] [--calib N]

                  mnist            MNIST CNN: FP32, static PTQ, QAT (10,000 test images)
                  reuters          MiniLM + Reuters Grain head: FP32, dynamic, static, QAT (604 test documents)
                  all              both (the default)
                  --qat-samples N  training samples the QAT fine-tune sees (default: MNIST 10,000 images, Reuters
                                   all 1,554 documents)
                  --qat-epochs N   QAT epochs for the Reuters head (default 10; MNIST runs one pass)
                  --calib N        calibration documents for Reuters static (default 64)
                The recipes are those of ./graft demo (docs/RESULTS.md). Data come from ../shared/data, or are fetched
                once into ~/.cache/graft/data.""";
    }

    @Override
    public int run(List<String> args, PrintStream out, PrintStream err) throws Exception {
        Options o = Options.spec().values("--qat-samples", "--qat-epochs", "--calib").parse(args).atMostPositionals(1);
        String what = o.positionals().isEmpty() ? "all" : o.choice(0, "data set", List.of("mnist", "reuters", "all"));
        int qatSamples = o.integer("--qat-samples", 1, 10_000_000, -1);
        int qatEpochs = o.integer("--qat-epochs", 1, 10_000, -1);
        int calib = o.integer("--calib", 1, 1_000_000, -1);
        Workloads.Budget budget = new Workloads.Budget(calib, qatSamples, qatEpochs);
        Progress progress = Progress.on(err);
        List<String> rows = new ArrayList<>();
        for (String name : what.equals("all") ? List.of("cnn", "reuters") : List.of(what.equals("mnist") ? "cnn" : what)) {
            measure(Workloads.get(name), budget, progress, out, rows);
        }
        out.println();
        out.println("| model | variant | test accuracy | relative loss |");
        out.println("| --- | --- | ---: | ---: |");
        rows.forEach(out::println);
        return 0;
    }

    private static void measure(Workloads.Workload w, Workloads.Budget budget, Progress progress, PrintStream out,
                                List<String> rows) throws Exception {
        long t0 = System.nanoTime();
        Module fp32 = w.fp32();
        Workloads.Score reference = w.score(fp32, fp32, progress);
        progress.finishLine();
        report(out, rows, w.title(), "FP32", reference, reference, t0);
        for (Approach approach : w.approaches()) {
            t0 = System.nanoTime();
            QuantizedModel q = w.quantize(approach, budget, progress);
            Workloads.Score score = w.score(q.model(), fp32, progress);
            progress.finishLine();
            report(out, rows, w.title(), approach.label() + ": " + q.recipe(), score, reference, t0);
        }
    }

    private static void report(PrintStream out, List<String> rows, String model, String variant, Workloads.Score s,
                               Workloads.Score fp32, long startNanos) {
        double loss = 100 * (fp32.value() - s.value()) / fp32.value();
        out.printf(Locale.ROOT, "%s, %s: %s (relative loss %.2f%%), %.1f s%n", model, variant, s.text(), loss,
                (System.nanoTime() - startNanos) / 1e9);
        rows.add(String.format(Locale.ROOT, "| %s | %s | %s | %s |", model, variant, s.text(),
                variant.equals("FP32") ? "-" : String.format(Locale.ROOT, "%.2f%%", loss)));
    }
}
