package dev.graft.formats.onnx;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code GraphProto}: nodes in file order (topological in a valid model), initializers, graph inputs and outputs
 * and the value infos of intermediate values.
 */
public record OnnxGraph(String name, List<OnnxNode> nodes, List<OnnxTensor> initializers, List<OnnxValueInfo> inputs,
                        List<OnnxValueInfo> outputs, List<OnnxValueInfo> valueInfos) {
    public OnnxGraph {
        nodes = List.copyOf(nodes);
        initializers = List.copyOf(initializers);
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
        valueInfos = List.copyOf(valueInfos);
    }

    /** Initializers by name, in file order. */
    public Map<String, OnnxTensor> initializerMap() {
        Map<String, OnnxTensor> m = new LinkedHashMap<>();
        for (OnnxTensor t : initializers) {
            m.put(t.name(), t);
        }
        return m;
    }

    /** The initializer of this name, or null. */
    public OnnxTensor initializer(String initializerName) {
        for (OnnxTensor t : initializers) {
            if (t.name().equals(initializerName)) {
                return t;
            }
        }
        return null;
    }

    /** The nodes that read the value {@code valueName}, in file order. */
    public List<OnnxNode> consumers(String valueName) {
        return nodes.stream().filter(n -> n.inputs().contains(valueName)).toList();
    }

    /** The node of this name, or null. */
    public OnnxNode node(String nodeName) {
        for (OnnxNode n : nodes) {
            if (n.name().equals(nodeName)) {
                return n;
            }
        }
        return null;
    }
}
