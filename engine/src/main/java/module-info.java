/**
 * The engine: modules and standard layers, the graph IR and its interpreter, the tracer and the fine-grained
 * partitioner, observers and the quantization passes, autograd and training, and saving (the manifest of a
 * quantized model, plus the dependency-free file formats it is written in). Needs nothing but ops and kernels.
 */
module dev.graft.engine {
    requires transitive dev.graft.ops;
    exports dev.graft.engine;
    exports dev.graft.engine.nn;
    exports dev.graft.engine.graph;
    exports dev.graft.engine.fuse;
    exports dev.graft.engine.trace;
    exports dev.graft.engine.quant;
    exports dev.graft.engine.quant.nn;
    exports dev.graft.engine.quant.observe;
    exports dev.graft.engine.quant.qat;
    exports dev.graft.engine.quant.passes;
    exports dev.graft.engine.quant.report;
    exports dev.graft.engine.quant.tune;
    exports dev.graft.engine.autograd;
    exports dev.graft.engine.train;
    exports dev.graft.engine.save;
    exports dev.graft.engine.io;
}
