package dev.graft.cli;

import dev.graft.engine.io.AtomicFiles;
import dev.graft.engine.trace.Partition;
import dev.graft.engine.trace.PartitionNode;
import dev.graft.engine.trace.PartitionPicture;
import dev.graft.engine.trace.Partitioner;
import dev.graft.ops.Tensor;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/** {@code graft partition minilm|cnn|nanodet [--svg FILE | --html FILE]}: fine-grained tracing, shown. */
final class PartitionCommand implements Command {
    @Override
    public String name() {
        return "partition";
    }

    @Override
    public String summary() {
        return "trace a reference model into its largest traceable blocks and draw the partition";
    }

    @Override
    public String usage() {
        return """
                usage: ./graft partition minilm|cnn|nanodet [--svg FILE | --html FILE]

                Runs the model once on built-in example inputs, then traces it fine-grained: the whole model
                first, and where tracing meets data-dependent control flow, each child in turn. Prints the
                partition tree (traced blocks with their op counts; eager modules with the reason and the source
                line), checks that the reassembled model gives bit-identical outputs, and optionally draws the
                partition as an SVG picture or an HTML page.""";
    }

    @Override
    public int run(List<String> args, PrintStream out, PrintStream err) throws IOException {
        Options o = Options.spec().values("--svg", "--html").parse(args).atMostPositionals(1);
        String model = o.choice(0, "model", ReferenceModels.NAMES);
        Path svg = o.outputFile("--svg");
        Path html = o.outputFile("--html");
        ReferenceModels.Example ex = ReferenceModels.load(model);
        out.println(ex.description());
        Object before = ex.model().callAny(ex.inputs());

        long t0 = System.nanoTime();
        Partition p = Partitioner.partition(ex.model(), ex.inputs());
        double ms = (System.nanoTime() - t0) / 1e6;
        Object after = p.model().callAny(ex.inputs());
        out.printf("%npartition (%.0f ms):%n", ms);
        out.print(p.describe());
        out.printf("%n%d traced block(s), %d eager module(s) with control flow, %d not reached%n",
                p.withStatus(PartitionNode.Status.TRACED).size(),
                p.withStatus(PartitionNode.Status.EAGER_CONTROL_FLOW).size(),
                p.withStatus(PartitionNode.Status.NOT_REACHED).size());
        out.println("reassembled model vs original on the example: "
                + (bitIdentical(before, after) ? "bit-identical" : "DIFFERENT"));
        String title = "Fine-grained partition: " + ex.description();
        if (svg != null) {
            writeAtomically(svg, PartitionPicture.svg(title, p));
            out.println("wrote " + svg);
        }
        if (html != null) {
            writeAtomically(html, PartitionPicture.html(title, p));
            out.println("wrote " + html);
        }
        return bitIdentical(before, after) ? 0 : 1;
    }

    /** Tensors compared bit for bit (arrays element-wise); other results (detections) by equals. */
    static boolean bitIdentical(Object a, Object b) {
        if (a instanceof Tensor x && b instanceof Tensor y) {
            if (!Arrays.equals(x.shape(), y.shape()) || x.dtype() != y.dtype()) {
                return false;
            }
            float[] u = x.toFloatArray();
            float[] v = y.toFloatArray();
            for (int i = 0; i < u.length; i++) {
                if (Float.floatToRawIntBits(u[i]) != Float.floatToRawIntBits(v[i])) {
                    return false;
                }
            }
            return true;
        }
        if (a instanceof Tensor[] xs && b instanceof Tensor[] ys) {
            if (xs.length != ys.length) {
                return false;
            }
            for (int i = 0; i < xs.length; i++) {
                if (!bitIdentical(xs[i], ys[i])) {
                    return false;
                }
            }
            return true;
        }
        return Objects.equals(a, b);
    }

    /** Writes via a temporary file in the same folder and an atomic rename: never a partial file. */
    static void writeAtomically(Path target, String content) {
        AtomicFiles.write(target, content.getBytes(StandardCharsets.UTF_8));
    }
}
