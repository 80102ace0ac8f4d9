/**
 * Other projects' model and data files: ONNX (protobuf read by hand), TensorFlow.js, IDX, ARFF, the WordPiece
 * tokenizer, images. Jackson (for JSON that others write) and java.desktop (images) are used only here and above.
 */
module dev.graft.formats {
    requires transitive dev.graft.engine;
    requires com.fasterxml.jackson.databind;
    requires transitive java.desktop;
    exports dev.graft.formats.tfjs;
    exports dev.graft.formats.image;
    exports dev.graft.formats.onnx;
    exports dev.graft.formats.data;
    exports dev.graft.formats.text;
}
