/** Modules and standard layers, the graph IR, the tracer and the fine-grained partitioner, the reference models. */
module dev.graft.engine {
    requires transitive dev.graft.ops;
    exports dev.graft.engine;
    exports dev.graft.engine.nn;
    exports dev.graft.engine.graph;
    exports dev.graft.engine.trace;
    exports dev.graft.models.mnist;
    exports dev.graft.models.nanodet;
}
