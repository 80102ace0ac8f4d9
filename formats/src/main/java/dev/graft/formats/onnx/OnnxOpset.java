package dev.graft.formats.onnx;

/** {@code OperatorSetIdProto}: an operator domain ("" is the default ONNX domain) and its version. */
public record OnnxOpset(String domain, long version) {
}
