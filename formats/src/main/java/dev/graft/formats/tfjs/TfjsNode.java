package dev.graft.formats.tfjs;

import java.util.List;
import java.util.Map;

/**
 * A node of a TensorFlow.js graph model: its unique name, the TensorFlow op type ({@code Conv2D}, {@code Const},
 * ...), its inputs as written in the file ({@code "name"}, {@code "name:1"} for a second output, {@code "^name"}
 * for a control dependency) and its attributes.
 */
public record TfjsNode(String name, String op, List<String> inputs, Map<String, TfjsAttr> attrs) {

    public TfjsNode {
        inputs = List.copyOf(inputs);
        attrs = Map.copyOf(attrs);
    }

    /** The attribute, or null. */
    public TfjsAttr attr(String key) {
        return attrs.get(key);
    }

    /** The data inputs (control dependencies {@code ^name} left out). */
    public List<String> dataInputs() {
        return inputs.stream().filter(in -> !in.startsWith("^")).toList();
    }
}
