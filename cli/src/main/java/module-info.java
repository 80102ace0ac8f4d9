/** The {@code graft} command. */
module dev.graft.cli {
    requires dev.graft.formats;
    exports dev.graft.cli;
}
