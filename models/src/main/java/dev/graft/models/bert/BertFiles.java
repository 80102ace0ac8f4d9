package dev.graft.models.bert;

import dev.graft.engine.Module;
import dev.graft.engine.io.FormatException;
import dev.graft.engine.io.Json;
import dev.graft.engine.io.Safetensors;
import dev.graft.formats.onnx.OnnxGraph;
import dev.graft.formats.onnx.OnnxModel;
import dev.graft.formats.onnx.OnnxNode;
import dev.graft.formats.onnx.OnnxReader;
import dev.graft.formats.onnx.OnnxStateDict;
import dev.graft.formats.onnx.OnnxTensor;
import dev.graft.formats.text.BertTokenizer;
import dev.graft.ops.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Loads any BERT-architecture encoder from the files users have: an ONNX export (sentence-transformers / Optimum
 * style, as the all-MiniLM-L6-v2 and e5-small-v2 files) or a Hugging Face directory ({@code config.json} +
 * {@code model.safetensors} [+ {@code tokenizer.json}] [+ the sentence-transformers {@code modules.json}]).
 *
 * <p>The configuration comes from {@code config.json} when there is one (beside the ONNX file, or in the directory);
 * otherwise it is inferred: sizes from the weights (layers, hidden, intermediate, vocabulary, positions, token types),
 * the head count and LayerNorm epsilon from the graph's constants. Buffers the export may lack are filled as
 * Hugging Face does ({@code embeddings.position_ids} = 0..max-1). Old checkpoint names ({@code LayerNorm.gamma/beta})
 * and a {@code bert.} prefix are read too. Weights under {@code classifier.*} give a
 * {@link BertForSequenceClassification}; otherwise a {@link BertModel} (with its pooler when the file has one).
 * Every weight must be used and every parameter must be found (strict loading), so a file of another architecture is
 * an error naming the keys, never a half-loaded model.
 */
public final class BertFiles {
    private static final Pattern LAYER = Pattern.compile("^encoder\\.layer\\.(\\d+)\\.");
    private static final String POSITION_IDS = "embeddings.position_ids";

    private BertFiles() {
    }

    /** A loaded model with what the files say about using it. */
    public record Loaded(Module model, BertModel encoder, BertConfig config, BertTokenizer tokenizer,
                         BertPooling pooling, Path source) {
        /** Whether {@link #model()} is a sequence classifier (logits) rather than an encoder (hidden states). */
        public boolean isClassifier() {
            return model instanceof BertForSequenceClassification;
        }

        /** The same model with other pooling (a command-line flag overrides what the files said). */
        public Loaded withPooling(BertPooling other) {
            return new Loaded(model, encoder, config, tokenizer, other, source);
        }

        /** The tokenizer, or an error saying which file to add. */
        public BertTokenizer requireTokenizer() {
            if (tokenizer == null) {
                throw new FormatException(source, -1, "no tokenizer.json found with the model (looked for "
                        + tokenizerCandidates(source) + ")");
            }
            return tokenizer;
        }

        /** Sentence embeddings [B, H] of an encoder (the model's own call, then {@link #pooling()}). */
        public Tensor embed(BertTokenizer.Batch batch) {
            return pooling.apply(encoder.lastHiddenState(batch.inputIds(), batch.attentionMask(),
                    batch.tokenTypeIds()), batch.attentionMask());
        }
    }

    /** An ONNX file ({@code .onnx}) or a Hugging Face directory. */
    public static Loaded load(Path path) {
        if (Files.isDirectory(path)) {
            Path safetensors = path.resolve("model.safetensors");
            if (Files.isRegularFile(safetensors)) {
                return fromHuggingFaceDirectory(path);
            }
            List<Path> onnx = onnxFilesIn(path);
            if (onnx.size() == 1) {
                return fromOnnx(onnx.get(0));
            }
            throw new FormatException(path, -1, "not a BERT model directory: no model.safetensors, and "
                    + (onnx.isEmpty() ? "no .onnx file" : onnx.size() + " .onnx files (pass one)"));
        }
        if (!Files.isRegularFile(path)) {
            throw new FormatException(path, -1, "no such file or directory");
        }
        if (path.getFileName().toString().endsWith(".safetensors")) {
            return fromHuggingFaceDirectory(path.toAbsolutePath().getParent());
        }
        return fromOnnx(path);
    }

    /** An ONNX export; config.json, tokenizer and sentence-transformers files are looked for beside it. */
    public static Loaded fromOnnx(Path onnxFile) {
        Path dir = onnxFile.toAbsolutePath().getParent();
        return fromOnnx(OnnxReader.read(onnxFile), onnxFile, readConfigJson(dir), findTokenizer(onnxFile),
                BertPooling.fromSentenceTransformers(dir));
    }

    /**
     * An ONNX model already read (from the class path, say).
     *
     * @param configJson a parsed Hugging Face config.json, or null to infer the configuration from the graph
     * @param tokenizer  may be null
     */
    public static Loaded fromOnnx(OnnxModel onnx, Path source, Map<String, Object> configJson,
                                  BertTokenizer tokenizer, BertPooling pooling) {
        OnnxGraph graph = onnx.graph();
        Map<String, Tensor> state = canonicalNames(OnnxStateDict.fromGraph(graph, source));
        BertConfig config = configJson != null ? fromJson(configJson, source, state)
                : inferConfig(graph, state, source);
        return build(config, state, tokenizer, pooling, source);
    }

    /** A Hugging Face directory: {@code config.json} and {@code model.safetensors} required, the rest optional. */
    public static Loaded fromHuggingFaceDirectory(Path dir) {
        Map<String, Object> json = readConfigJson(dir);
        if (json == null) {
            throw new FormatException(dir.resolve("config.json"), -1, "missing: a Hugging Face model directory needs "
                    + "config.json beside model.safetensors");
        }
        Path weights = dir.resolve("model.safetensors");
        Map<String, Tensor> state = canonicalNames(Safetensors.read(weights));
        BertConfig config = fromJson(json, dir.resolve("config.json"), state);
        Path tokenizerFile = dir.resolve("tokenizer.json");
        BertTokenizer tokenizer = Files.isRegularFile(tokenizerFile) ? BertTokenizer.fromJson(tokenizerFile) : null;
        return build(config, state, tokenizer, BertPooling.fromSentenceTransformers(dir), weights);
    }

    private static Loaded build(BertConfig config, Map<String, Tensor> state, BertTokenizer tokenizer,
                                BertPooling pooling, Path source) {
        boolean classifier = state.containsKey("classifier.weight");
        String prefix = classifier ? "bert." : "";
        state = fillPositionIds(state, prefix, config);
        Module model;
        BertModel encoder;
        if (classifier) {
            int labels = state.get("classifier.weight").size(0);
            BertForSequenceClassification c = new BertForSequenceClassification(config.withNumLabels(labels), false);
            model = c;
            encoder = (BertModel) c.module("bert");
        } else {
            encoder = new BertModel(config, state.containsKey("pooler.dense.weight"), false);
            model = encoder;
        }
        try {
            model.loadStateDict(state);
        } catch (RuntimeException e) {
            throw new FormatException(source, -1, "weights do not fit a BERT model of " + describe(config) + ": "
                    + e.getMessage(), e);
        }
        model.eval();
        return new Loaded(model, encoder, config, tokenizer, pooling == null ? BertPooling.MEAN_NORMALIZED : pooling,
                source);
    }

    /** "12 layers, hidden 384, 12 heads, FFN 1536" for messages. */
    public static String describe(BertConfig c) {
        return c.numHiddenLayers() + " layers, hidden " + c.hiddenSize() + ", " + c.numAttentionHeads() + " heads, FFN "
                + c.intermediateSize();
    }

    // ---------------------------------------------------------------- names and buffers

    /**
     * Hugging Face names as Graft's modules use them: a {@code bert.} prefix dropped unless a classifier head needs
     * it, the old {@code gamma}/{@code beta} LayerNorm names read as {@code weight}/{@code bias}.
     */
    static Map<String, Tensor> canonicalNames(Map<String, Tensor> state) {
        boolean classifier = state.containsKey("classifier.weight");
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : state.entrySet()) {
            String key = e.getKey();
            if (!classifier && key.startsWith("bert.")) {
                key = key.substring("bert.".length());
            }
            if (key.endsWith("LayerNorm.gamma")) {
                key = key.substring(0, key.length() - "gamma".length()) + "weight";
            } else if (key.endsWith("LayerNorm.beta")) {
                key = key.substring(0, key.length() - "beta".length()) + "bias";
            }
            out.put(key, e.getValue());
        }
        return out;
    }

    /** Adds {@code position_ids} = [[0, 1, ..., max-1]] when the file has none, as the Hugging Face model builds it. */
    private static Map<String, Tensor> fillPositionIds(Map<String, Tensor> state, String prefix, BertConfig config) {
        if (state.containsKey(prefix + POSITION_IDS)) {
            return state;
        }
        Map<String, Tensor> out = new LinkedHashMap<>(state);
        out.put(prefix + POSITION_IDS, Tensor.arange(config.maxPositionEmbeddings()).unsqueeze(0).contiguous());
        return out;
    }

    // ---------------------------------------------------------------- configuration

    private static BertConfig fromJson(Map<String, Object> json, Path source, Map<String, Tensor> state) {
        BertConfig config;
        try {
            config = BertConfig.fromHuggingFace(json, source.toString());
        } catch (IllegalArgumentException e) {
            throw new FormatException(source, -1, e.getMessage(), e);
        }
        // The file's own shapes must agree with what config.json says, or loading would fail later, less clearly.
        Sizes w = Sizes.of(state, source);
        if (w.vocab() != config.vocabSize() || w.hidden() != config.hiddenSize()
                || w.layers() != config.numHiddenLayers() || w.intermediate() != config.intermediateSize()
                || w.positions() != config.maxPositionEmbeddings() || w.types() != config.typeVocabSize()) {
            throw new FormatException(source, -1, "config.json says " + config.numHiddenLayers() + " layers, hidden "
                    + config.hiddenSize() + ", FFN " + config.intermediateSize() + ", vocabulary " + config.vocabSize()
                    + ", positions " + config.maxPositionEmbeddings() + ", token types " + config.typeVocabSize()
                    + "; the weights have " + w);
        }
        return config;
    }

    /** The sizes that weight shapes tell (everything but the head count and epsilon). */
    record Sizes(int vocab, int hidden, int layers, int intermediate, int positions, int types) {
        static Sizes of(Map<String, Tensor> state, Path file) {
            String prefix = state.containsKey("classifier.weight") ? "bert." : "";
            int[] words = shapeOf(state, prefix + "embeddings.word_embeddings.weight", file);
            int[] positions = shapeOf(state, prefix + "embeddings.position_embeddings.weight", file);
            int[] types = shapeOf(state, prefix + "embeddings.token_type_embeddings.weight", file);
            int[] intermediate = shapeOf(state, prefix + "encoder.layer.0.intermediate.dense.weight", file);
            TreeSet<Integer> layers = new TreeSet<>();
            for (String key : state.keySet()) {
                Matcher m = LAYER.matcher(key.startsWith(prefix) ? key.substring(prefix.length()) : key);
                if (m.find()) {
                    layers.add(Integer.parseInt(m.group(1)));
                }
            }
            if (layers.isEmpty() || layers.first() != 0 || layers.last() != layers.size() - 1) {
                throw new FormatException(file, -1, "encoder layers are not numbered 0..n-1: " + layers);
            }
            return new Sizes(words[0], words[1], layers.size(), intermediate[0], positions[0], types[0]);
        }

        BertConfig.Builder builder() {
            return BertConfig.builder().vocabSize(vocab).hiddenSize(hidden).numHiddenLayers(layers)
                    .intermediateSize(intermediate).maxPositionEmbeddings(positions).typeVocabSize(types);
        }

        @Override
        public String toString() {
            return layers + " layers, hidden " + hidden + ", FFN " + intermediate + ", vocabulary " + vocab
                    + ", positions " + positions + ", token types " + types;
        }
    }

    /**
     * The configuration of an ONNX export without config.json: sizes from the weights; the head count from the
     * attention's score scaling (scores divided by sqrt(head size), or multiplied by its inverse); LayerNorm's epsilon
     * from the constant added to the variance (or a fused LayerNormalization's attribute).
     */
    static BertConfig inferConfig(OnnxGraph graph, Map<String, Tensor> state, Path file) {
        Sizes sizes = Sizes.of(state, file);
        BertConfig.Builder b = sizes.builder();
        int hidden = sizes.hidden();
        Map<String, OnnxTensor> constants = constants(graph);
        int headSize = headSize(graph, constants, file);
        if (headSize <= 0 || hidden % headSize != 0) {
            throw new FormatException(file, -1, "the attention scale gives head size " + headSize
                    + ", which does not divide hidden size " + hidden + "; put the model's config.json beside it");
        }
        b.numAttentionHeads(hidden / headSize);
        Float eps = layerNormEps(graph, constants);
        if (eps != null) {
            b.layerNormEps(eps);
        }
        return b.build();
    }

    private static int headSize(OnnxGraph graph, Map<String, OnnxTensor> constants, Path file) {
        for (OnnxNode n : graph.nodes()) {
            boolean div = n.opType().equals("Div");
            if (!(div || n.opType().equals("Mul")) || !isFirstSelfAttention(n.name()) || n.inputs().size() != 2) {
                continue;
            }
            Float c = scalar(constants, graph, n.inputs().get(1));
            if (c != null && c > 0) {
                double sqrt = div ? c : 1.0 / c;
                return (int) Math.round(sqrt * sqrt);
            }
        }
        throw new FormatException(file, -1, "cannot find the attention score scaling of the first layer (a Div or "
                + "Mul by a scalar in /encoder/layer.0/attention/self); put the model's config.json beside it");
    }

    private static boolean isFirstSelfAttention(String nodeName) {
        return nodeName.contains("/encoder/layer.0/attention/self/") && !nodeName.contains("/query/")
                && !nodeName.contains("/key/") && !nodeName.contains("/value/");
    }

    private static Float layerNormEps(OnnxGraph graph, Map<String, OnnxTensor> constants) {
        for (OnnxNode n : graph.nodes()) {
            if (n.opType().equals("LayerNormalization") && n.attribute("epsilon") != null) {
                return n.attribute("epsilon").f();
            }
            if (n.opType().equals("Add") && n.name().endsWith("/embeddings/LayerNorm/Add")) {
                for (String in : n.inputs()) {
                    Float c = scalar(constants, graph, in);
                    if (c != null) {
                        return c;
                    }
                }
            }
        }
        return null;
    }

    private static Float scalar(Map<String, OnnxTensor> constants, OnnxGraph graph, String name) {
        OnnxTensor t = constants.get(name);
        if (t == null) {
            t = graph.initializers().stream().filter(i -> i.name().equals(name)).findFirst().orElse(null);
        }
        return t != null && t.elementCount() == 1 ? t.toFloatArray()[0] : null;
    }

    private static Map<String, OnnxTensor> constants(OnnxGraph graph) {
        Map<String, OnnxTensor> out = new HashMap<>();
        for (OnnxNode n : graph.nodes()) {
            if (n.opType().equals("Constant") && n.attribute("value") != null && n.outputs().size() == 1) {
                out.put(n.outputs().get(0), n.attribute("value").t());
            }
        }
        return out;
    }

    private static int[] shapeOf(Map<String, Tensor> state, String key, Path file) {
        Tensor t = state.get(key);
        if (t == null || t.dim() != 2) {
            throw new FormatException(file, -1, "not a BERT model: weight '" + key + "' is "
                    + (t == null ? "missing" : "not 2-d"));
        }
        return t.shape();
    }

    // ---------------------------------------------------------------- the files around the weights

    /** The parsed config.json of a directory, or null when it has none. */
    @SuppressWarnings("unchecked")
    static Map<String, Object> readConfigJson(Path dir) {
        Path file = dir.resolve("config.json");
        if (!Files.isRegularFile(file)) {
            return null;
        }
        Object json = readJson(file);
        if (!(json instanceof Map<?, ?> map)) {
            throw new FormatException(file, -1, "config.json is not a JSON object");
        }
        return (Map<String, Object>) map;
    }

    static Object readJson(Path file) {
        try {
            if (Files.size(file) > 16L * 1024 * 1024) {
                throw new FormatException(file, -1, "larger than 16 MiB; not a configuration file");
            }
            return Json.parse(Files.readAllBytes(file));
        } catch (IOException e) {
            throw new FormatException(file, -1, "cannot read: " + e.getMessage(), e);
        } catch (Json.ParseException e) {
            throw new FormatException(file, -1, "not valid JSON: " + e.getMessage(), e);
        }
    }

    private static List<Path> tokenizerCandidates(Path modelFile) {
        Path abs = modelFile.toAbsolutePath();
        Path dir = Files.isDirectory(abs) ? abs : abs.getParent();
        String name = abs.getFileName().toString();
        String stem = name.endsWith(".onnx") ? name.substring(0, name.length() - ".onnx".length()) : name;
        return List.of(dir.resolve(stem + "-tokenizer.json"), dir.resolve("tokenizer.json"));
    }

    private static BertTokenizer findTokenizer(Path modelFile) {
        for (Path p : tokenizerCandidates(modelFile)) {
            if (Files.isRegularFile(p)) {
                return BertTokenizer.fromJson(p);
            }
        }
        return null;
    }

    private static List<Path> onnxFilesIn(Path dir) {
        List<Path> out = new ArrayList<>();
        try (var s = Files.list(dir)) {
            s.filter(p -> p.getFileName().toString().endsWith(".onnx") && Files.isRegularFile(p)).sorted()
                    .forEach(out::add);
        } catch (IOException e) {
            throw new FormatException(dir, -1, "cannot list: " + e.getMessage(), e);
        }
        return out;
    }
}
