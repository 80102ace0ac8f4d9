package dev.graft.formats.onnx;

import java.util.List;

/** {@code ModelProto}: the model's metadata, its operator sets and its main graph. */
public record OnnxModel(long irVersion, String producerName, String producerVersion, String domain,
                        long modelVersion, String docString, List<OnnxOpset> opsets, OnnxGraph graph) {
    public OnnxModel {
        opsets = List.copyOf(opsets);
    }

    /** The version of the default ONNX domain ("" or "ai.onnx"), or -1 when the model does not import it. */
    public long defaultOpsetVersion() {
        for (OnnxOpset o : opsets) {
            if (o.domain().isEmpty() || o.domain().equals("ai.onnx")) {
                return o.version();
            }
        }
        return -1;
    }
}
