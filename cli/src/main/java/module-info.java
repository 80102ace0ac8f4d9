/** The {@code graft} command. */
module dev.graft.cli {
    requires dev.graft.formats;
    requires java.desktop;
    exports dev.graft.cli;
}
