package dev.graft.formats.tfjs;

import dev.graft.engine.io.FormatException;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** A TensorFlow.js graph uses op types (or op variants) that {@link TfjsGraphModule} cannot build. */
public class UnsupportedOpException extends FormatException {
    private final Map<String, List<String>> nodesByOp;

    /** @param nodesByOp each unsupported op (or op variant) with the nodes that use it */
    public UnsupportedOpException(Path file, Map<String, List<String>> nodesByOp, String supported) {
        super(file, -1, describe(nodesByOp, supported));
        this.nodesByOp = Map.copyOf(nodesByOp);
    }

    /** Each unsupported op with the names of the nodes that use it. */
    public Map<String, List<String>> nodesByOp() {
        return nodesByOp;
    }

    private static String describe(Map<String, List<String>> nodesByOp, String supported) {
        StringBuilder sb = new StringBuilder("unsupported TensorFlow.js ops: ");
        boolean first = true;
        for (Map.Entry<String, List<String>> e : nodesByOp.entrySet()) {
            if (!first) {
                sb.append("; ");
            }
            first = false;
            List<String> nodes = e.getValue();
            sb.append(e.getKey()).append(" (").append(nodes.size()).append(nodes.size() == 1 ? " node: " : " nodes: ")
                    .append(String.join(", ", nodes.subList(0, Math.min(3, nodes.size()))))
                    .append(nodes.size() > 3 ? ", ..." : "").append(')');
        }
        return sb.append(". Supported: ").append(supported).toString();
    }
}
