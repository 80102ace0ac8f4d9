/** Shared helpers of the conformance tests: where the vendored golden vectors and the data sets are found. */
module dev.graft.conformance {
    requires transitive dev.graft.models;
    requires transitive dev.graft.api;
    requires dev.graft.cli;      // DemoData: the data sets fetched as the demo fetches them
    requires com.fasterxml.jackson.databind;
    exports dev.graft.conformance;
}
