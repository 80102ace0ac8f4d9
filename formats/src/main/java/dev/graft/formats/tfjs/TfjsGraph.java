package dev.graft.formats.tfjs;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.graft.engine.io.FormatException;
import dev.graft.engine.io.Limits;
import dev.graft.ops.Tensor;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A TensorFlow.js graph model read from {@code model.json} and its weight shards: the topology's nodes in file
 * order, every weight decoded to a tensor (float32, or int32 for integer constants such as shapes and
 * permutations), and the signature's input and output names.
 *
 * <p>Weights are stored in the order of {@code weightsManifest[].weights[]}, back to back across the group's shard
 * files; a {@code quantization} block ({@code float16}, {@code uint8}, {@code uint16}) is undone here:
 * {@code float16} by conversion, {@code uint8}/{@code uint16} as {@code min + scale * q}.
 */
public final class TfjsGraph {

    /** Opens a weight shard named by a {@code weightsManifest[].paths} entry. */
    @FunctionalInterface
    public interface ShardOpener {
        InputStream open(String path) throws IOException;
    }

    private final Path source;
    private final String format;
    private final String generatedBy;
    private final List<TfjsNode> nodes;
    private final Map<String, Tensor> weights;
    private final List<String> inputNames;
    private final List<String> outputNames;

    private TfjsGraph(Path source, String format, String generatedBy, List<TfjsNode> nodes,
                      Map<String, Tensor> weights, List<String> inputNames, List<String> outputNames) {
        this.source = source;
        this.format = format;
        this.generatedBy = generatedBy;
        this.nodes = List.copyOf(nodes);
        this.weights = Collections.unmodifiableMap(weights);
        this.inputNames = List.copyOf(inputNames);
        this.outputNames = List.copyOf(outputNames);
    }

    /** Reads {@code model.json}; shards are resolved relative to its folder. */
    public static TfjsGraph read(Path modelJson) {
        Path dir = modelJson.toAbsolutePath().getParent();
        try (InputStream in = Files.newInputStream(modelJson)) {
            return read(in, modelJson, p -> Files.newInputStream(dir.resolve(p)));
        } catch (NoSuchFileException e) {
            throw new FormatException(modelJson, -1, "file not found", e);
        } catch (IOException e) {
            throw new FormatException(modelJson, -1, "cannot read: " + e.getMessage(), e);
        }
    }

    /**
     * Reads a model whose JSON comes from {@code json} (for example a class-path resource) and whose shards come
     * from {@code shards}; {@code source} names the model in error messages (may be null).
     */
    public static TfjsGraph read(InputStream json, Path source, ShardOpener shards) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(json);
        } catch (JsonProcessingException e) {
            throw new FormatException(source, e.getLocation() == null ? -1 : e.getLocation().getCharOffset(),
                    "malformed JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new FormatException(source, -1, "cannot read: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new FormatException(source, -1, "model.json must hold a JSON object");
        }
        JsonNode topology = root.path("modelTopology");
        JsonNode nodeArray = topology.path("node");
        if (!nodeArray.isArray()) {
            throw new FormatException(source, -1, "no modelTopology.node array: not a TensorFlow.js graph model"
                    + (topology.has("model_config") || topology.has("class_name") ? " (this is a layers model)" : ""));
        }
        List<TfjsNode> nodes = new ArrayList<>();
        for (JsonNode n : nodeArray) {
            nodes.add(parseNode(source, n));
        }
        Map<String, Tensor> weights = readWeights(source, root.path("weightsManifest"), shards);
        List<String> inputs = signatureNames(root.path("signature").path("inputs"));
        List<String> outputs = signatureNames(root.path("signature").path("outputs"));
        if (inputs.isEmpty()) {
            for (TfjsNode n : nodes) {
                if (n.op().equals("Placeholder")) {
                    inputs.add(n.name());
                }
            }
        }
        if (outputs.isEmpty()) {
            outputs = sinks(nodes);
        }
        return new TfjsGraph(source, root.path("format").asText(""), root.path("generatedBy").asText(""), nodes,
                weights, inputs, outputs);
    }

    // ---------------------------------------------------------------- accessors

    /** The file the model came from, or null. */
    public Path source() {
        return source;
    }

    public String format() {
        return format;
    }

    public String generatedBy() {
        return generatedBy;
    }

    /** The nodes in file order (not necessarily topological). */
    public List<TfjsNode> nodes() {
        return nodes;
    }

    /** Every weight by name, decoded: float32 or int32 tensors (bool weights become int32 0/1). */
    public Map<String, Tensor> weights() {
        return weights;
    }

    /** The graph inputs (placeholder node names, without the {@code :0} suffix). */
    public List<String> inputNames() {
        return inputNames;
    }

    /** The graph outputs in the signature's order (node references, {@code :0} suffixes removed). */
    public List<String> outputNames() {
        return outputNames;
    }

    /** How many nodes of each op type, sorted by op name. */
    public Map<String, Integer> opCounts() {
        Map<String, Integer> counts = new TreeMap<>();
        for (TfjsNode n : nodes) {
            counts.merge(n.op(), 1, Integer::sum);
        }
        return counts;
    }

    /** The most dimensions a weight may have (TensorFlow's kernels stop at 8). */
    static final int MAX_RANK = 8;

    // ---------------------------------------------------------------- topology

    private static TfjsNode parseNode(Path source, JsonNode n) {
        String name = n.path("name").asText(null);
        String op = n.path("op").asText(null);
        if (name == null || op == null) {
            throw new FormatException(source, -1, "a topology node without name or op: " + abbreviate(n));
        }
        List<String> inputs = new ArrayList<>();
        for (JsonNode in : n.path("input")) {
            inputs.add(in.asText());
        }
        Map<String, TfjsAttr> attrs = new LinkedHashMap<>();
        Iterator<Map.Entry<String, JsonNode>> it = n.path("attr").fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            attrs.put(e.getKey(), parseAttr(e.getValue(), source, "node '" + name + "' (" + op + ") attribute '"
                    + e.getKey() + "'"));
        }
        return new TfjsNode(name, op, inputs, attrs);
    }

    private static TfjsAttr parseAttr(JsonNode a, Path source, String where) {
        if (!a.isObject()) {
            throw new FormatException(source, -1, where + " must be an object, got " + abbreviate(a));
        }
        String s = a.has("s") ? decodeBase64(text(a.get("s"), source, where)) : null;
        Long i = a.has("i") ? integer(a.get("i"), source, where) : null;
        Float f = a.has("f") ? parseFloat(a.get("f"), source, where) : null;
        Boolean b = a.has("b") ? a.get("b").asBoolean() : null;
        String type = a.has("type") ? text(a.get("type"), source, where) : null;
        long[] ints = null;
        float[] floats = null;
        String[] strings = null;
        JsonNode list = a.get("list");
        if (list != null) {
            JsonNode li = list.path("i");
            JsonNode lf = list.path("f");
            JsonNode ls = list.path("s");
            if (li.isArray() || (!lf.isArray() && !ls.isArray())) {
                ints = new long[li.size()];
                for (int k = 0; k < ints.length; k++) {
                    ints[k] = integer(li.get(k), source, where);
                    if (ints[k] != (int) ints[k]) {
                        throw new FormatException(source, -1, where + ": list value " + ints[k]
                                + " is outside the int range");
                    }
                }
            }
            if (lf.isArray()) {
                floats = new float[lf.size()];
                for (int k = 0; k < floats.length; k++) {
                    floats[k] = parseFloat(lf.get(k), source, where);
                }
            }
            if (ls.isArray()) {
                strings = new String[ls.size()];
                for (int k = 0; k < strings.length; k++) {
                    strings[k] = decodeBase64(text(ls.get(k), source, where));
                }
            }
        }
        return new TfjsAttr(s, i, f, b, type, ints, floats, strings);
    }

    /** An integer written as a JSON number or as a decimal string (the converter writes int64 as strings). */
    private static long integer(JsonNode v, Path source, String where) {
        if (v.isIntegralNumber() && v.canConvertToLong()) {
            return v.longValue();
        }
        if (v.isTextual()) {
            try {
                return Long.parseLong(v.asText());
            } catch (NumberFormatException e) {
                // reported below
            }
        }
        throw new FormatException(source, -1, where + ": expected an integer, got " + abbreviate(v));
    }

    private static String text(JsonNode v, Path source, String where) {
        if (!v.isTextual()) {
            throw new FormatException(source, -1, where + ": expected a string, got " + abbreviate(v));
        }
        return v.asText();
    }

    private static float parseFloat(JsonNode v, Path source, String where) {
        if (v.isNumber()) {
            return v.floatValue();
        }
        String t = v.isTextual() ? v.asText() : "";
        return switch (t) {
            case "Infinity", "inf" -> Float.POSITIVE_INFINITY;
            case "-Infinity", "-inf" -> Float.NEGATIVE_INFINITY;
            case "NaN", "nan" -> Float.NaN;
            default -> {
                try {
                    yield Float.parseFloat(t);
                } catch (NumberFormatException e) {
                    throw new FormatException(source, -1, where + ": expected a number, got " + abbreviate(v));
                }
            }
        };
    }

    private static String decodeBase64(String text) {
        try {
            return new String(Base64.getDecoder().decode(text), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return text; // some writers store plain strings
        }
    }

    private static List<String> signatureNames(JsonNode map) {
        List<String> names = new ArrayList<>();
        Iterator<Map.Entry<String, JsonNode>> it = map.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            String name = e.getValue().path("name").asText(e.getKey());
            names.add(stripOutputIndex(name));
        }
        return names;
    }

    /** {@code "x:0"} is output 0 of node x, the same as {@code "x"}. */
    static String stripOutputIndex(String ref) {
        return ref.endsWith(":0") ? ref.substring(0, ref.length() - 2) : ref;
    }

    private static List<String> sinks(List<TfjsNode> nodes) {
        java.util.Set<String> used = new java.util.HashSet<>();
        for (TfjsNode n : nodes) {
            for (String in : n.inputs()) {
                String base = in.startsWith("^") ? in.substring(1) : in;
                int colon = base.lastIndexOf(':');
                used.add(colon >= 0 ? base.substring(0, colon) : base);
            }
        }
        List<String> out = new ArrayList<>();
        for (TfjsNode n : nodes) {
            if (!used.contains(n.name()) && !n.op().equals("Const")) {
                out.add(n.name());
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- weights

    private static Map<String, Tensor> readWeights(Path source, JsonNode manifest, ShardOpener shards) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        if (manifest.isMissingNode()) {
            return out;
        }
        if (!manifest.isArray()) {
            throw new FormatException(source, -1, "weightsManifest must be an array");
        }
        int groupIndex = 0;
        Set<String> seen = new java.util.HashSet<>();
        for (JsonNode group : manifest) {
            List<String> paths = new ArrayList<>();
            for (JsonNode p : group.path("paths")) {
                if (!p.isTextual()) {
                    throw new FormatException(source, -1, "weights group " + groupIndex + ": a shard path must be"
                            + " a string, got " + abbreviate(p));
                }
                paths.add(p.asText());
            }
            byte[] data = readShards(source, paths, shards, seen);
            ByteBuffer buf = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
            long offset = 0;
            for (JsonNode w : group.path("weights")) {
                offset = decodeWeight(source, groupIndex, w, buf, offset, out);
            }
            if (offset != data.length) {
                throw new FormatException(source, offset, "weights group " + groupIndex + " uses " + offset
                        + " bytes but its shards " + paths + " hold " + data.length);
            }
            groupIndex++;
        }
        return out;
    }

    private static byte[] readShards(Path source, List<String> paths, ShardOpener shards, Set<String> seen) {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        long max = Math.min(Limits.maxBytes(), Integer.MAX_VALUE - 64);
        for (String p : paths) {
            if (!seen.add(p)) {
                throw new FormatException(source, -1, "weight shard '" + p + "' is listed twice in the manifest");
            }
            try (InputStream in = shards.open(p)) {
                if (in == null) {
                    throw new FormatException(source, -1, "weight shard '" + p + "' not found");
                }
                byte[] bytes = in.readNBytes((int) (max - all.size()) + 1);
                if (all.size() + (long) bytes.length > max) {
                    throw new FormatException(source, -1, "weight shards hold more than " + max + " bytes"
                            + " (-Dgraft.limit.bytes raises the limit)");
                }
                all.writeBytes(bytes);
            } catch (NoSuchFileException e) {
                throw new FormatException(source, -1, "weight shard '" + p + "' not found", e);
            } catch (IOException e) {
                throw new FormatException(source, -1, "cannot read weight shard '" + p + "': " + e.getMessage(), e);
            }
        }
        return all.toByteArray();
    }

    private static long decodeWeight(Path source, int group, JsonNode w, ByteBuffer buf, long offset,
                                     Map<String, Tensor> out) {
        String name = w.path("name").asText(null);
        if (name == null) {
            throw new FormatException(source, offset, "a weight in group " + group + " has no name");
        }
        if (out.containsKey(name)) {
            throw new FormatException(source, offset, "weight '" + name + "' appears twice in the manifest");
        }
        JsonNode shapeNode = w.path("shape");
        if (!shapeNode.isArray() || shapeNode.size() > MAX_RANK) {
            throw new FormatException(source, offset, "weight '" + name + "': shape must be an array of at most "
                    + MAX_RANK + " sizes, got " + abbreviate(shapeNode));
        }
        int[] shape = new int[shapeNode.size()];
        long[] dims = new long[shape.length];
        for (int d = 0; d < shape.length; d++) {
            JsonNode dim = shapeNode.get(d);
            if (!dim.isIntegralNumber() || !dim.canConvertToInt() || dim.asInt() < 0) {
                throw new FormatException(source, offset, "weight '" + name + "' has an invalid shape "
                        + abbreviate(shapeNode));
            }
            shape[d] = dim.asInt();
            dims[d] = shape[d];
        }
        int n = Limits.elements(dims, "weight '" + name + "'", source, offset);
        String dtype = w.path("dtype").asText("float32");
        JsonNode quant = w.get("quantization");
        String storedAs = quant == null ? dtype : quant.path("dtype").asText("");
        int width = switch (storedAs) {
            case "float32", "int32" -> 4;
            case "float16", "uint16" -> 2;
            case "uint8", "bool" -> 1;
            default -> throw new FormatException(source, offset, "weight '" + name + "': unsupported "
                    + (quant == null ? "dtype" : "quantization dtype") + " '" + storedAs + "'");
        };
        long bytes = (long) n * width;
        if (offset + bytes > buf.capacity()) {
            throw new FormatException(source, offset, "weight '" + name + "' needs " + bytes + " bytes, only "
                    + (buf.capacity() - offset) + " left in the shards (truncated .bin?)");
        }
        int at = (int) offset;
        boolean integer = dtype.equals("int32") || dtype.equals("bool");
        if (!integer && !dtype.equals("float32")) {
            throw new FormatException(source, offset, "weight '" + name + "': unsupported dtype '" + dtype + "'");
        }
        float min = quant == null ? 0f : (float) quant.path("min").asDouble(0);
        float scale = quant == null ? 1f : (float) quant.path("scale").asDouble(1);
        if (integer) {
            int[] v = new int[n];
            for (int k = 0; k < n; k++) {
                v[k] = switch (storedAs) {
                    case "int32" -> buf.getInt(at + 4 * k);
                    case "bool" -> buf.get(at + k) != 0 ? 1 : 0;
                    case "uint8" -> Math.round(min + scale * (buf.get(at + k) & 0xff));
                    case "uint16" -> Math.round(min + scale * (buf.getShort(at + 2 * k) & 0xffff));
                    default -> throw new FormatException(source, offset, "weight '" + name + "': an integer weight"
                            + " cannot be stored as " + storedAs);
                };
            }
            out.put(name, Tensor.ofInts(v, shape));
        } else {
            float[] v = new float[n];
            for (int k = 0; k < n; k++) {
                v[k] = switch (storedAs) {
                    case "float32" -> buf.getFloat(at + 4 * k);
                    case "float16" -> Float.float16ToFloat(buf.getShort(at + 2 * k));
                    case "uint8" -> min + scale * (buf.get(at + k) & 0xff);
                    case "uint16" -> min + scale * (buf.getShort(at + 2 * k) & 0xffff);
                    default -> throw new FormatException(source, offset, "weight '" + name + "': a float weight"
                            + " cannot be stored as " + storedAs);
                };
            }
            out.put(name, Tensor.wrap(v, shape));
        }
        return offset + bytes;
    }

    private static String abbreviate(JsonNode n) {
        String s = n.toString();
        return s.length() > 120 ? s.substring(0, 120) + "..." : s;
    }

    @Override
    public String toString() {
        return "TfjsGraph[" + (source == null ? "<memory>" : source.getFileName()) + ", " + nodes.size() + " nodes, "
                + weights.size() + " weights, inputs " + inputNames + ", outputs " + outputNames + "]";
    }
}
