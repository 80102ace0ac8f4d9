package dev.graft.cli;

import dev.graft.formats.text.BertTokenizer;
import dev.graft.models.bert.BertModel;
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
        return "usage: ./graft embed [--model FILE.onnx] [--tokenizer FILE.json] \"sentence\" [\"sentence\" ...]\n\n"
                + "Tokenizes the sentences (BERT WordPiece), runs Graft's FP32 BertModel with the all-MiniLM-L6-v2\n"
                + "weights, mean-pools and L2-normalizes the token states (the model card's sentence embedding), and\n"
                + "prints each embedding's norm and the pairwise cosine similarities. The model and tokenizer come\n"
                + "from the Maven artifact " + MiniLm.MAVEN_COORDINATE + " on the class path, or from the files given.";
    }

    @Override
    public int run(List<String> args, PrintStream out, PrintStream err) {
        Options o = Options.spec().values("--model", "--tokenizer").parse(args);
        List<String> sentences = o.positionals();
        Path modelFile = o.inputFile("--model");
        Path tokenizerFile = o.inputFile("--tokenizer");
        if (sentences.isEmpty()) {
            throw new UsageException("give at least one sentence");
        }

        long t0 = System.nanoTime();
        BertModel model = modelFile != null ? MiniLm.load(modelFile) : MiniLm.load();
        BertTokenizer tokenizer = tokenizerFile != null ? BertTokenizer.fromJson(tokenizerFile) : MiniLm.tokenizer();
        long t1 = System.nanoTime();
        BertTokenizer.Batch batch = tokenizer.encodeBatch(sentences);
        Tensor hidden = model.lastHiddenState(batch.inputIds(), batch.attentionMask(), batch.tokenTypeIds());
        Tensor pooled = SentencePooling.meanPool(hidden, batch.attentionMask());
        float[] embeddings = SentencePooling.l2Normalize(pooled).toFloatArray();
        float[] rawNorms = pooled.mul(pooled).sum(-1, false).sqrt().toFloatArray();
        long t2 = System.nanoTime();

        int dim = hidden.size(2);
        int n = sentences.size();
        out.printf("all-MiniLM-L6-v2 (FP32, %d layers, hidden %d): loaded in %.1f s, "
                + "%d sentence%s embedded in %.0f ms%n",
                model.config().numHiddenLayers(), dim, (t1 - t0) / 1e9, n, n == 1 ? "" : "s", (t2 - t1) / 1e6);
        out.println();
        int[] lengths = batch.lengths();
        for (int i = 0; i < n; i++) {
            double norm = 0;
            for (int h = 0; h < dim; h++) {
                norm += (double) embeddings[i * dim + h] * embeddings[i * dim + h];
            }
            out.printf("[%d] %3d tokens  mean-pooled norm %.4f  embedding norm %.4f  %s%n", i + 1, lengths[i],
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
