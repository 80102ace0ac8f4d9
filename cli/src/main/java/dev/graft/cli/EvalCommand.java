package dev.graft.cli;

import dev.graft.GraftFile;
import dev.graft.engine.Module;
import dev.graft.engine.save.SavedModel;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * {@code graft eval FILE}: the saved model's score on its dataset (Reuters Grain test set, MNIST test set, or
 * detection agreement with FP32 on the photos), beside the FP32 model's, with the relative loss.
 */
final class EvalCommand implements Command {
    @Override
    public String name() {
        return "eval";
    }

    @Override
    public String summary() {
        return "accuracy of a saved model on its dataset, beside FP32";
    }

    @Override
    public String usage() {
        return """
                usage: ./graft eval FILE.graft [--no-fp32]
                       ./graft eval FILE.graft --data FILE|DIR --reference PATH [--classpath DIR|JAR]

                Loads the model and scores it on the dataset that goes with its class:
                  SentenceClassifier (MiniLM-Reuters)  accuracy on the 604 Reuters Grain test documents
                  MnistCnn                             accuracy on the 10,000 MNIST test images
                  NanoDetDetector                      F1 of its detections against FP32's at IoU 0.5, over the photos
                then scores the FP32 reference model (the weights shipped with the build) the same way and prints
                the relative loss (FP32 - INT8) / FP32.
                --no-fp32   skip the FP32 score (NanoDet needs FP32 as its reference either way)
                Your own BERT-family model quantized from PATH (./graft quantize PATH --out FILE.graft):
                --data FILE|DIR   texts, one per line (a .txt file or a folder of them); "LABEL<tab>text" lines
                                  of a classifier also give both models' accuracy
                --reference PATH  the original model (ONNX file or Hugging Face directory): the FP32 side and
                                  the tokenizer; prints the saved model's agreement with it, mean and worst
                --classpath       where the saved model's glue class is, when it is your own class
                Data come from ../shared/data, or are fetched once into ~/.cache/graft/data.""";
    }

    @Override
    public int run(List<String> args, PrintStream out, PrintStream err) throws Exception {
        Options o = Options.spec().switches("--no-fp32").values("--data", "--reference", "--classpath", "--pooling")
                .parse(args).atMostPositionals(1);
        Path file = Path.of(o.positional(0, "which file? (./graft quantize ... --out FILE makes one)"));
        boolean fp32Too = !o.has("--no-fp32");
        SavedModel.Loaded loaded = UserClasses.with(o.string("--classpath", null), () -> GraftFile.read(file));
        if (o.given("--data") || o.given("--reference")) {
            String data = o.required("--data", "(texts, one per line)");
            String reference = o.required("--reference", "(the original model: an .onnx file or a Hugging Face "
                    + "directory)");
            return UserBert.eval(file, loaded.model(), Path.of(data), Path.of(reference), o.string("--pooling", null),
                    out);
        }
        Workloads.Workload w = Workloads.of(loaded.model());
        out.printf("%s: %s (%s), %s%n", file, w.title(), loaded.info().getOrDefault("approach", "?"), w.metric());
        Progress progress = Progress.on(err);
        Module reference = fp32Too || w instanceof Workloads.NanoDet ? w.fp32() : null;
        Workloads.Score int8 = w.score(loaded.model(), reference, progress);
        progress.finishLine();
        out.printf("  saved model: %s%n", int8.text());
        if (fp32Too) {
            Workloads.Score fp32 = w.score(reference, reference, progress);
            progress.finishLine();
            out.printf("  FP32:        %s%n", fp32.text());
            out.printf(Locale.ROOT, "  relative loss: %.2f%%%n", 100 * (fp32.value() - int8.value()) / fp32.value());
        }
        return 0;
    }
}
