/** Model and data files. Jackson is used only in this module. */
module dev.graft.formats {
    requires transitive dev.graft.engine;
    requires com.fasterxml.jackson.databind;
    exports dev.graft.formats;
}
