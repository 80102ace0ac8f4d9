/** Model and data files. Jackson is used only in this module. */
module dev.graft.formats {
    requires transitive dev.graft.engine;
    requires com.fasterxml.jackson.databind;
    requires java.desktop;
    exports dev.graft.formats;
    exports dev.graft.formats.tfjs;
    exports dev.graft.formats.image;
    exports dev.graft.formats.safetensors;
    exports dev.graft.formats.onnx;
    exports dev.graft.formats.data;
    exports dev.graft.formats.text;
    exports dev.graft.formats.models;
    exports dev.graft.formats.saved;
    exports dev.graft;
}
