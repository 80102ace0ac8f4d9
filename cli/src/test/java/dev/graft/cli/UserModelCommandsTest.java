package dev.graft.cli;

import dev.graft.Graft;
import dev.graft.engine.Module;
import dev.graft.engine.io.Safetensors;
import dev.graft.models.bert.BertModel;
import dev.graft.models.bert.MiniLm;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The commands on a user's own files, as the README's "Quantize your own model" runs them: a Hugging Face directory
 * (MiniLM's weights under their Hugging Face names, written here) quantized, embedded and evaluated; a saved model
 * whose glue class is the user's, inspected with --classpath.
 */
class UserModelCommandsTest {
    @TempDir
    Path dir;

    private record Run(int code, String out, String err) {
    }

    private static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = new Main().run(List.of(args), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** MiniLM as sentence-transformers saves it: config.json, model.safetensors (no position_ids), tokenizer. */
    static Path huggingFaceDirectory(Path dir) throws IOException {
        BertModel minilm = MiniLm.load();
        Map<String, Tensor> weights = new LinkedHashMap<>(minilm.stateDict());
        weights.remove("embeddings.position_ids");
        Path model = Files.createDirectories(dir.resolve("my-minilm"));
        Safetensors.write(model.resolve("model.safetensors"), weights);
        Files.writeString(model.resolve("config.json"), """
                {"model_type": "bert", "hidden_act": "gelu", "vocab_size": 30522, "hidden_size": 384,
                 "num_hidden_layers": 6, "num_attention_heads": 12, "intermediate_size": 1536,
                 "max_position_embeddings": 512, "type_vocab_size": 2, "layer_norm_eps": 1e-12}
                """);
        try (InputStream in = MiniLm.class.getClassLoader().getResourceAsStream(MiniLm.TOKENIZER_RESOURCE)) {
            Files.write(model.resolve("tokenizer.json"), in.readAllBytes());
        }
        return model;
    }

    /** 40 texts, one per line: 30 calibrate, 10 are held out. */
    static Path texts(Path dir) throws IOException {
        String[] subjects = {"Wheat exports", "The central bank", "Corn futures", "A small bakery", "Soybean crops",
                "The shipping company", "Our neighbours", "The football team", "Rice prices", "The city council"};
        String[] predicates = {"rose sharply after the storm", "announced a new plan on Tuesday",
                "were delayed by heavy rain in the ports", "surprised everyone at the meeting"};
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 40; i++) {
            sb.append(subjects[i % subjects.length]).append(' ').append(predicates[i % predicates.length])
                    .append(i % 3 == 0 ? ", analysts said." : ".").append('\n');
        }
        Path file = dir.resolve("texts.txt");
        Files.writeString(file, sb);
        return file;
    }

    static double number(String text, String regex) {
        Matcher m = Pattern.compile(regex).matcher(text);
        assertTrue(m.find(), regex + " in\n" + text);
        return Double.parseDouble(m.group(1));
    }

    @Test
    void aHuggingFaceDirectoryQuantizesEmbedsAndEvaluatesFromTheCommandLine() throws IOException {
        Path model = huggingFaceDirectory(dir);
        Path texts = texts(dir);
        Path saved = dir.resolve("my-minilm.graft");
        Run q = run("quantize", model.toString(), "--approach", "dynamic", "--calib", texts.toString(),
                "--out", saved.toString());
        assertEquals(0, q.code(), q.err());
        System.out.print(q.out());
        assertTrue(q.out().contains("BERT-family encoder, 6 layers, hidden 384, 12 heads"), q.out());
        double mean = number(q.out(), "INT8 vs FP32 on held-out texts: sentence embeddings: cosine to FP32 mean "
                + "([0-9.]+)");
        double worst = number(q.out(), "worst ([0-9.]+) over 10 held-out texts");
        // Every Linear INT8, activations per token (docs/RESULTS.md, bring your own model).
        assertTrue(mean >= 0.995 && worst >= 0.99, q.out());
        assertTrue(Files.size(saved) > 0);
        Run keep = run("quantize", model.toString(), "--approach", "dynamic", "--calib", texts.toString(),
                "--keep-fp32", "2");
        assertEquals(0, keep.code(), keep.err());
        assertTrue(keep.out().contains("kept FP32"), keep.out());

        Run embed = run("embed", "--model", model.toString(), "Wheat exports fell.", "Grain shipments declined.");
        Run reference = run("embed", "Wheat exports fell.", "Grain shipments declined.");
        assertEquals(0, embed.code(), embed.err());
        assertTrue(embed.out().contains("mean-normalized pooling"), embed.out());
        assertEquals(reference.out().lines().filter(l -> l.contains("tokens")).toList(),
                embed.out().lines().filter(l -> l.contains("tokens")).toList(), "the same numbers as the built-in");

        Run bench = run("bench", model.toString(), "--runs", "1");
        assertEquals(0, bench.code(), bench.err());
        assertTrue(bench.out().matches("(?s).*\\n\\s+1\\s+[0-9.]+.*\\n\\s+32\\s+[0-9.]+.*"), bench.out());

        Run eval = run("eval", saved.toString(), "--data", texts.toString(), "--reference", model.toString());
        assertEquals(0, eval.code(), eval.err());
        assertTrue(number(eval.out(), "saved model vs FP32 on 40 texts: sentence embeddings: cosine to FP32 mean "
                + "([0-9.]+)") >= 0.99, eval.out());
    }

    @Test
    void theE5OnnxExportQuantizesFromTheCommandLine() throws IOException {
        Path model = Files.createDirectories(dir.resolve("e5"));
        for (String name : List.of("e5-small-v2.onnx", "e5-small-v2-tokenizer.json")) {
            try (InputStream in = getClass().getClassLoader().getResourceAsStream(name)) {
                assertTrue(in != null, name + " on the test class path (dev.langchain4j:langchain4j-embeddings-"
                        + "e5-small-v2:1.17.0-beta27)");
                Files.copy(in, model.resolve(name));
            }
        }
        Run q = run("quantize", model.resolve("e5-small-v2.onnx").toString(), "--approach", "dynamic", "--calib",
                texts(dir).toString());
        assertEquals(0, q.code(), q.err());
        System.out.print(q.out());
        assertTrue(q.out().contains("BERT-family encoder, 12 layers, hidden 384, 12 heads, FFN 1536"), q.out());
        double mean = number(q.out(), "cosine to FP32 mean ([0-9.]+)");
        double worst = number(q.out(), "worst ([0-9.]+) over");
        assertTrue(mean >= 0.995 && worst >= 0.99, q.out());
    }

    @Test
    void aClassifierCheckpointReportsTopOneAgreement() throws IOException {
        dev.graft.engine.Init.manualSeed(3);
        dev.graft.models.bert.BertConfig small = dev.graft.models.bert.BertConfig.builder().hiddenSize(32)
                .numHiddenLayers(2).numAttentionHeads(4).intermediateSize(64).numLabels(3).build();
        dev.graft.models.bert.BertForSequenceClassification classifier =
                new dev.graft.models.bert.BertForSequenceClassification(small, false);
        Map<String, Tensor> weights = new LinkedHashMap<>(classifier.stateDict());
        weights.remove("bert.embeddings.position_ids");
        Path model = Files.createDirectories(dir.resolve("classifier"));
        Safetensors.write(model.resolve("model.safetensors"), weights);
        Files.writeString(model.resolve("config.json"), """
                {"model_type": "bert", "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
                 "intermediate_size": 64, "id2label": {"0": "a", "1": "b", "2": "c"}}
                """);
        try (InputStream in = MiniLm.class.getClassLoader().getResourceAsStream(MiniLm.TOKENIZER_RESOURCE)) {
            Files.write(model.resolve("tokenizer.json"), in.readAllBytes());
        }
        Run q = run("quantize", model.toString(), "--approach", "dynamic", "--calib", texts(dir).toString());
        assertEquals(0, q.code(), q.err());
        assertTrue(q.out().contains("BERT-family classifier (3 labels), 2 layers"), q.out());
        assertTrue(number(q.out(), "top-1 agreement \\d+/10 \\(([0-9.]+)%\\)") >= 70, q.out());
    }

    @Test
    void staticQuantizationOfAUserFileNeedsCalibrationTextsAndPrintsTheAgreement() throws IOException {
        Path model = huggingFaceDirectory(dir);
        Run missing = run("quantize", model.toString(), "--approach", "static");
        assertEquals(2, missing.code(), missing.out());
        assertTrue(missing.err().contains("--calib"), missing.err());
        Run q = run("quantize", model.toString(), "--approach", "static", "--calib", texts(dir).toString());
        assertEquals(0, q.code(), q.err());
        System.out.print(q.out());
        assertTrue(number(q.out(), "cosine to FP32 mean ([0-9.]+)") >= 0.95, q.out());
        assertTrue(q.out().contains("kept FP32 by the configuration"), "LayerNorms are listed:\n" + q.out());
    }

    @Test
    void inspectFindsTheUsersGlueClassWithClasspath() throws Exception {
        Path src = Files.createDirectories(dir.resolve("src/userglue"));
        Files.writeString(src.resolve("Glue.java"), """
                package userglue;

                import dev.graft.engine.Module;
                import dev.graft.engine.Submodule;
                import dev.graft.engine.nn.Linear;
                import dev.graft.engine.save.Savable;
                import dev.graft.engine.save.SavedConfig;
                import dev.graft.ops.Tensor;
                import java.util.Map;

                public final class Glue extends Module implements Savable {
                    private final Submodule fc = submodule("fc", new Linear(8, 4, true, new java.util.Random(1)));

                    @Override
                    protected Tensor forward(Tensor... in) {
                        return in[0].abs().max().item() > 1e6f ? in[0] : fc.call(in[0]);
                    }

                    @Override
                    public Map<String, Object> saveConfig() {
                        return Map.of();
                    }

                    public static Glue fromConfig(SavedConfig c) {
                        return new Glue();
                    }
                }
                """);
        Path classes = Files.createDirectories(dir.resolve("classes"));
        // The user's class is compiled here, so it is on no class path the command knows.
        String cp = System.getProperty("java.class.path") + File.pathSeparator
                + System.getProperty("jdk.module.path", "");
        Process javac = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "javac").toString(),
                "-cp", cp, "-d", classes.toString(), src.resolve("Glue.java").toString())
                .redirectErrorStream(true).start();
        String javacOut = new String(javac.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, javac.waitFor(), javacOut);
        Module glue;
        try (URLClassLoader loader = new URLClassLoader(new URL[] {classes.toUri().toURL()},
                getClass().getClassLoader())) {
            glue = (Module) loader.loadClass("userglue.Glue").getConstructor().newInstance();
        }
        Path file = dir.resolve("glue.graft");
        Graft.quantize(glue, new Object[] {Tensor.randn(new Random(1), 2, 8)}, Graft.Config.dynamic()).save(file);

        Run without = run("inspect", file.toString());
        assertEquals(1, without.code(), without.out());
        assertTrue(without.err().contains("userglue.Glue") && without.err().contains("--classpath"), without.err());
        Run with = run("inspect", file.toString(), "--classpath", classes.toString());
        assertEquals(0, with.code(), with.err());
        assertTrue(with.out().contains("Glue") && with.out().contains("fc"), with.out());
    }
}
