/** Shared helpers of the conformance tests: golden-vector loading and scalar references across modules. */
module dev.graft.conformance {
    requires transitive dev.graft.formats;
    requires com.fasterxml.jackson.databind;
    exports dev.graft.conformance;
}
