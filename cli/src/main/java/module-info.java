/** The {@code graft} command. */
module dev.graft.cli {
    requires dev.graft.models;
    requires dev.graft.api;
    requires java.desktop;
    requires java.logging;
    requires java.management;
    requires com.microsoft.onnxruntime;
    exports dev.graft.cli;
}
