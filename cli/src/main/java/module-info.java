/** The {@code graft} command. */
module dev.graft.cli {
    requires dev.graft.formats;
    requires java.desktop;
    requires com.microsoft.onnxruntime;
    exports dev.graft.cli;
}
