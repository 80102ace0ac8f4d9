/**
 * The reference models, each package holding what belongs to one model: its architecture (imperative Java with
 * control flow), its loader (bundled weights, ONNX, TensorFlow.js) and its quantization recipes.
 */
module dev.graft.models {
    requires transitive dev.graft.formats;
    requires java.desktop;
    exports dev.graft.models;
    exports dev.graft.models.bert;
    exports dev.graft.models.mnist;
    exports dev.graft.models.nanodet;
}
