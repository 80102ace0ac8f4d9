package dev.graft.cli;

import dev.graft.formats.text.BertTokenizer;
import dev.graft.models.bert.BertFiles;
import dev.graft.models.bert.BertModel;
import dev.graft.models.bert.BertPooling;
import dev.graft.models.bert.MiniLm;
import dev.graft.models.bert.SentencePooling;
import dev.graft.ops.Tensor;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code graft embed "sentence" ...}: sentence embeddings with all-MiniLM-L6-v2 (FP32, Graft's own BERT code and
 * weights from the ONNX file): each sentence's token count and embedding norm, then the pairwise cosine similarities.
 */
final class EmbedCommand implements Command {
    @Override
    public String name() {
        return "embed";
    }

    @Override
    public String summary() {
        return "embed sentences with all-MiniLM-L6-v2 and print their cosine similarities";
    }

    @Override
    public String usage() {
        return "usage: ./graft embed [--model PATH] [--tokenizer FILE.json] [--pooling mean|cls[-normalized]]\n"
                + "                   \"sentence\" [\"sentence\" ...]\n\n"
                + "Tokenizes the sentences (BERT WordPiece), runs Graft's FP32 BertModel, pools the token states into\n"
                + "one embedding per sentence, and prints each embedding's norm and the pairwise cosine similarities.\n"
                + "Without --model: all-MiniLM-L6-v2 from the Maven artifact " + MiniLm.MAVEN_COORDINATE + "\n"
                + "(mean pooling, L2-normalized, as its model card says). --model PATH: any BERT-family encoder, an\n"
                + "ONNX export or a Hugging Face directory (config.json + model.safetensors + tokenizer.json); the\n"
                + "pooling comes from its sentence-transformers files (modules.json), else mean-normalized, or\n"
                + "--pooling. The tokenizer is found beside the model unless --tokenizer names it.";
    }

    @Override
    public int run(List<String> args, PrintStream out, PrintStream err) {
        Options o = Options.spec().values("--model", "--tokenizer", "--pooling").parse(args);
        List<String> sentences = o.positionals();
        String modelPath = o.string("--model", null);
        Path tokenizerFile = o.inputFile("--tokenizer");
        if (sentences.isEmpty()) {
            throw new UsageException("give at least one sentence");
        }

        if (modelPath == null && o.given("--pooling")) {
            throw new UsageException("--pooling applies with --model (all-MiniLM-L6-v2 is mean-normalized)");
        }

        long t0 = System.nanoTime();
        BertModel model;
        BertTokenizer tokenizer;
        BertPooling pooling;
        String name;
        if (modelPath != null) {
            BertFiles.Loaded loaded = UserBert.load(Path.of(modelPath), o.string("--pooling", null));
            if (loaded.isClassifier()) {
                throw new UsageException(modelPath + " is a sequence classifier (classifier.* weights), not an "
                        + "encoder: embed needs an encoder");
            }
            model = loaded.encoder();
            tokenizer = tokenizerFile != null ? BertTokenizer.fromJson(tokenizerFile) : loaded.requireTokenizer();
            pooling = loaded.pooling();
            name = Path.of(modelPath).getFileName().toString();
        } else {
            model = MiniLm.load();
            tokenizer = tokenizerFile != null ? BertTokenizer.fromJson(tokenizerFile) : MiniLm.tokenizer();
            pooling = BertPooling.MEAN_NORMALIZED;
            name = "all-MiniLM-L6-v2";
        }
        long t1 = System.nanoTime();
        BertTokenizer.Batch batch = tokenizer.encodeBatch(sentences);
        Tensor hidden = model.lastHiddenState(batch.inputIds(), batch.attentionMask(), batch.tokenTypeIds());
        Tensor pooled = new BertPooling(pooling.mode(), false).apply(hidden, batch.attentionMask());
        float[] embeddings = SentencePooling.l2Normalize(pooled).toFloatArray();
        float[] rawNorms = pooled.mul(pooled).sum(-1, false).sqrt().toFloatArray();
        long t2 = System.nanoTime();

        int dim = hidden.size(2);
        int n = sentences.size();
        out.printf("%s (FP32, %d layers, hidden %d, %s pooling): loaded in %.1f s, "
                + "%d sentence%s embedded in %.0f ms%n", name,
                model.config().numHiddenLayers(), dim, pooling, (t1 - t0) / 1e9, n, n == 1 ? "" : "s",
                (t2 - t1) / 1e6);
        out.println();
        int[] lengths = batch.lengths();
        for (int i = 0; i < n; i++) {
            double norm = 0;
            for (int h = 0; h < dim; h++) {
                norm += (double) embeddings[i * dim + h] * embeddings[i * dim + h];
            }
            out.printf("[%d] %3d tokens  pooled norm %.4f  embedding norm %.4f  %s%n", i + 1, lengths[i],
                    rawNorms[i], Math.sqrt(norm), abbreviate(sentences.get(i)));
        }
        if (n > 1) {
            out.println();
            out.println("cosine similarity:");
            StringBuilder header = new StringBuilder("      ");
            for (int j = 0; j < n; j++) {
                header.append(String.format("%8s", "[" + (j + 1) + "]"));
            }
            out.println(header);
            for (int i = 0; i < n; i++) {
                StringBuilder row = new StringBuilder(String.format("%6s", "[" + (i + 1) + "]"));
                for (int j = 0; j < n; j++) {
                    double dot = 0;
                    for (int h = 0; h < dim; h++) {
                        dot += (double) embeddings[i * dim + h] * embeddings[j * dim + h];
                    }
                    row.append(String.format("%8.4f", dot));
                }
                out.println(row);
            }
        }
        return 0;
    }

    private static String abbreviate(String s) {
        String one = s.replaceAll("\\s+", " ").strip();
        return one.length() <= 60 ? '"' + one + '"' : '"' + one.substring(0, 57) + "...\"";
    }
}
