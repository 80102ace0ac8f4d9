package dev.graft.formats.onnx;

import dev.graft.engine.io.FormatException;
import dev.graft.ops.Tensor;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns the initializers of an ONNX file exported from PyTorch back into a PyTorch-style state dict.
 *
 * <p>The exporter keeps the module names of biases, norms and embeddings
 * ({@code encoder.layer.0.attention.self.query.bias}) but stores each Linear weight transposed ([in, out]) under an
 * anonymous name ({@code onnx::MatMul_787}). The name of the MatMul node that reads such a weight
 * ({@code /encoder/layer.0/attention/self/query/MatMul}) is the module's path, so the weight becomes
 * {@code encoder.layer.0.attention.self.query.weight}, transposed back to [out, in].
 */
public final class OnnxStateDict {
    private static final String ANONYMOUS_PREFIX = "onnx::";

    private OnnxStateDict() {
    }

    /** The state dict of {@code graph}; {@code file} only names the source in errors (may be null). */
    public static Map<String, Tensor> fromGraph(OnnxGraph graph, Path file) {
        Map<String, Tensor> state = new LinkedHashMap<>();
        for (OnnxTensor init : graph.initializers()) {
            String key;
            Tensor value;
            if (init.name().startsWith(ANONYMOUS_PREFIX)) {
                key = matMulWeightName(graph, init, file);
                if (init.dims().length != 2) {
                    throw new FormatException(file, -1, "initializer '" + init.name() + "' read by MatMul as "
                            + key + " has " + init.dims().length + " dimensions; a Linear weight has 2");
                }
                value = tensor(init, file).t().contiguous();
            } else {
                key = init.name();
                value = tensor(init, file);
            }
            if (state.putIfAbsent(key, value) != null) {
                throw new FormatException(file, -1, "two initializers map to the state-dict key '" + key + "'");
            }
        }
        return state;
    }

    /** The initializer as a Graft tensor; STRING (and other non-numeric) initializers are refused by name. */
    private static Tensor tensor(OnnxTensor init, Path file) {
        try {
            return init.toTensor();
        } catch (UnsupportedOperationException | ArithmeticException | dev.graft.ops.TensorException e) {
            throw new FormatException(file, -1, "initializer '" + init.name() + "' (" + init.dataType() + ", dims "
                    + java.util.Arrays.toString(init.dims()) + ") cannot be a weight: " + e.getMessage(), e);
        }
    }

    /** {@code /encoder/layer.0/attention/self/query/MatMul} reading {@code onnx::MatMul_787} -> path + ".weight". */
    private static String matMulWeightName(OnnxGraph graph, OnnxTensor init, Path file) {
        List<OnnxNode> readers = graph.consumers(init.name());
        if (readers.size() != 1) {
            throw new FormatException(file, -1, "anonymous initializer '" + init.name() + "' is read by "
                    + readers.size() + " nodes; expected exactly one MatMul");
        }
        OnnxNode node = readers.get(0);
        String name = node.name();
        if (!node.opType().equals("MatMul") || node.inputs().indexOf(init.name()) != 1 || !name.startsWith("/")
                || !name.endsWith("/MatMul")) {
            throw new FormatException(file, -1, "anonymous initializer '" + init.name() + "' is read by "
                    + node + "; only the weight input of a MatMul named /<module path>/MatMul can be named");
        }
        String path = name.length() <= "/MatMul".length() ? ""
                : name.substring(1, name.length() - "/MatMul".length()).replace('/', '.');
        if (path.isEmpty()) {
            throw new FormatException(file, -1, "MatMul node '" + name + "' names no module path");
        }
        return path + ".weight";
    }
}
