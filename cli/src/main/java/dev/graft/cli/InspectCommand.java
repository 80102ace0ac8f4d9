package dev.graft.cli;

import dev.graft.GraftFile;
import dev.graft.engine.graph.GraphModule;
import dev.graft.engine.quant.report.QuantizationReport;
import dev.graft.engine.save.SavedModel;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code graft inspect FILE [--graphs]}: what a saved model holds: the glue class, the partition tree, the INT8/FP32
 * operator table per block, sizes, and (with {@code --graphs}) every block's graph.
 */
final class InspectCommand implements Command {
    @Override
    public String name() {
        return "inspect";
    }

    @Override
    public String summary() {
        return "show a saved model: partition tree, INT8/FP32 operators per block, sizes, block graphs";
    }

    @Override
    public String usage() {
        return """
                usage: ./graft inspect FILE.graft [--graphs] [--classpath DIR|JAR[:DIR|JAR...]]

                Loads a model saved by ./graft quantize --out (checking every part of the file) and prints
                  - what it is (the glue model's class, the saved info: approach, date),
                  - the partition tree: traced blocks and the modules left eager, with the reason,
                  - per block: INT8 and FP32 operators, quantize/dequantize conversions, shape specializations,
                  - the file size and the in-memory weight size.
                --graphs     also print every block's graph (one node per line, as torch.fx prints them)
                --classpath  where your own glue classes are (the Savable model classes the file names): class
                             folders or jars, separated by the platform's path separator""";
    }

    /** A tuned file's recipe; a damaged one is the file's fault, named as such. */
    static dev.graft.engine.quant.tune.Recipe recipe(Path file, Object info) {
        try {
            return dev.graft.engine.quant.tune.Recipe.fromInfo(info);
        } catch (IllegalArgumentException bad) {
            throw new dev.graft.engine.io.FormatException(file, -1, "info " + bad.getMessage(), bad);
        }
    }

    @Override
    public int run(List<String> args, PrintStream out, PrintStream err) throws Exception {
        Options o = Options.spec().switches("--graphs").values("--classpath").parse(args).atMostPositionals(1);
        Path file = Path.of(o.positional(0, "which file? (./graft quantize ... --out FILE makes one)"));
        boolean graphs = o.has("--graphs");
        GraftFile.Contents raw = GraftFile.readContents(file);
        SavedModel.Loaded loaded = UserClasses.with(o.string("--classpath", null), () -> GraftFile.read(file, raw));
        out.printf("%s: %s, %s on disk (manifest %s, tensors %s)%n", file, loaded.model().getClass().getSimpleName(),
                Format.bytes(Files.size(file)), Format.bytes(raw.manifestBytes()), Format.bytes(raw.tensorBytes()));
        for (Map.Entry<String, Object> e : loaded.info().entrySet()) {
            // graft tune writes its recipe as an object; other writers (the demo) a one-line description.
            if (e.getKey().equals("recipe") && e.getValue() instanceof Map<?, ?>) {
                out.print(recipe(file, e.getValue()).describe().indent(2));
                continue;
            }
            out.printf("  %s: %s%n", e.getKey(), e.getValue());
        }
        out.println();
        out.println("partition:");
        out.print(loaded.partition().describe().indent(2));
        Map<String, GraphModule> blocks = loaded.partition().blocks();
        QuantizationReport report = QuantizationReport.ofModel(loaded.model(), blocks);
        out.println();
        out.printf("%-44s %6s %6s %6s %6s%n", "block", "INT8", "FP32", "q/dq", "graphs");
        for (QuantizationReport.Block b : report.blocks()) {
            out.printf(Locale.ROOT, "%-44s %6d %6d %6d %6d%n", b.path().isEmpty() ? "<root>" : b.path(), b.int8Count(),
                    b.fp32Count(), b.conversions(), blocks.get(b.path()).specializations().size());
        }
        int int8 = report.blocks().stream().mapToInt(QuantizationReport.Block::int8Count).sum();
        int fp32 = report.blocks().stream().mapToInt(QuantizationReport.Block::fp32Count).sum();
        out.printf(Locale.ROOT, "%-44s %6d %6d%n", "total", int8, fp32);
        out.printf("%nweights in memory: %s (int8 weights with their scales: %s)%n", Format.bytes(report.modelBytes()),
                Format.bytes(report.int8QuantizedWeightBytes()));
        if (graphs) {
            for (Map.Entry<String, GraphModule> e : blocks.entrySet()) {
                List<GraphModule.Specialization> specs = e.getValue().specializations();
                for (int i = 0; i < specs.size(); i++) {
                    out.printf("%nblock %s, graph %d (%s, guards %s):%n", e.getKey().isEmpty() ? "<root>" : e.getKey(),
                            i, specs.get(i).signature(), specs.get(i).guards());
                    out.print(specs.get(i).graph().toString().indent(2));
                }
            }
        }
        return 0;
    }
}
