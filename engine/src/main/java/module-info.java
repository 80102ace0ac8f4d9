/** Modules and standard layers; later the tracer, graph IR, partitioner, quantization passes and training. */
module dev.graft.engine {
    requires transitive dev.graft.ops;
    exports dev.graft.engine;
    exports dev.graft.engine.nn;
    exports dev.graft.models.nanodet;
    exports dev.graft.models.mnist;
    exports dev.graft.models.bert;
    exports dev.graft.engine.graph;
    exports dev.graft.engine.trace;
    exports dev.graft.engine.quant;
    exports dev.graft.engine.quant.nn;
    exports dev.graft.engine.quant.convert;
    exports dev.graft.engine.autograd;
    exports dev.graft.engine.train;
    exports dev.graft.engine.save;
}
