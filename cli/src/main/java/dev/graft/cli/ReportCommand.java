package dev.graft.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code graft report [--out FILE] [--models DIR]}: measures the results table (as {@code graft demo} does) and
 * writes it as one self-contained HTML page with the partition pictures, the worst layers and NanoDet's detections
 * in FP32 and INT8.
 */
final class ReportCommand implements Command {
    @Override
    public String name() {
        return "report";
    }

    @Override
    public String summary() {
        return "measure the results table and write it as one HTML page with pictures";
    }

    @Override
    public String usage() {
        return """
                usage: ./graft report [--out FILE.html] [--models DIR]

                Runs every workload in FP32 and INT8 (MiniLM-Reuters dynamic/static/QAT and ONNX Runtime's INT8
                MiniLM, MNIST CNN static/QAT, NanoDet static), then writes one self-contained page: the table, the
                three partition pictures, the worst layers per model, and NanoDet's detections FP32 vs INT8.
                A few minutes on two cores. scripts/check-report FILE opens it in headless Chromium.
                --out FILE     the page (default demo-out/report.html)
                --models DIR   where the measured models are saved as .graft files (default demo-out)""";
    }

    @Override
    public int run(List<String> args, PrintStream out, PrintStream err) throws Exception {
        Options o = Options.spec().values("--out", "--models").parse(args).atMostPositionals(0);
        Path models = o.outputDir("--models", Path.of("demo-out"));
        Path page = o.given("--out") ? o.outputFile("--out") : Path.of("demo-out", "report.html");
        ResultsTable.Result r = ResultsTable.run(models, out, Progress.on(err));
        out.println();
        out.print(ResultsTable.markdown(r));
        write(page, r);
        out.println("\nwrote " + page.toAbsolutePath());
        return 0;
    }

    /** Writes the page atomically. */
    static void write(Path page, ResultsTable.Result r) {
        PartitionCommand.writeAtomically(page, ReportPage.html(r));
    }
}
