/**
 * The embedding API: {@link dev.graft.Graft} quantizes a model with its Java control flow, and saves and loads it as
 * one {@code .graft} file ({@link dev.graft.GraftFile}). It needs nothing beyond Graft's core modules, so an
 * application that embeds it brings in neither Jackson nor java.desktop.
 */
module dev.graft.api {
    requires transitive dev.graft.engine;
    exports dev.graft;
}
