/** The tensor runtime: dtypes, views, broadcasting, quantized tensors and the operator set behind one dispatch point. */
module dev.graft.ops {
    requires transitive dev.graft.kernels;
    exports dev.graft.ops;
}
