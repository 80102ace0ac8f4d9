package dev.graft.formats.onnx;

import dev.graft.engine.io.AtomicFiles;

import java.nio.file.Path;
import java.util.List;

/**
 * Writes an {@link OnnxModel} in the ONNX protobuf format: model metadata and opset imports, one graph, its nodes
 * with attributes, initializers as {@code raw_data}, and the value infos of inputs, outputs and intermediates. Enough
 * for small models built in code (one-node MatMul, MatMulInteger, Conv, ConvInteger for benchmarks), read back by
 * {@link OnnxReader} and by ONNX Runtime.
 */
public final class OnnxWriter {
    /** The IR version written by {@link #singleNodeModel}: IR 8 (ONNX 1.10+) allows opsets up to 15+. */
    public static final long IR_VERSION = 8;

    private OnnxWriter() {
    }

    public static byte[] write(OnnxModel model) {
        ProtoWriter w = new ProtoWriter();
        w.varint(1, model.irVersion());
        w.optionalString(2, model.producerName());
        w.optionalString(3, model.producerVersion());
        w.optionalString(4, model.domain());
        if (model.modelVersion() != 0) {
            w.varint(5, model.modelVersion());
        }
        w.optionalString(6, model.docString());
        w.message(7, graph(model.graph()));
        for (OnnxOpset o : model.opsets()) {
            ProtoWriter op = new ProtoWriter();
            op.optionalString(1, o.domain());
            op.varint(2, o.version());
            w.message(8, op);
        }
        return w.toByteArray();
    }

    /** Writes the model to {@code file} atomically (never a partial file); failures are FormatExceptions. */
    public static void write(OnnxModel model, Path file) {
        AtomicFiles.write(file, write(model));
    }

    /**
     * A model of one node: graph inputs, the node's constant inputs as initializers, and its outputs. The node reads
     * {@code nodeInputs} (names of graph inputs or initializers; "" for an absent optional input) and writes the
     * graph outputs.
     */
    public static OnnxModel singleNodeModel(String opType, List<OnnxAttribute> attributes, List<OnnxValueInfo> inputs,
                                            List<OnnxTensor> initializers, List<String> nodeInputs,
                                            List<OnnxValueInfo> outputs, long opsetVersion) {
        java.util.Map<String, OnnxAttribute> attrs = new java.util.LinkedHashMap<>();
        for (OnnxAttribute a : attributes) {
            attrs.put(a.name(), a);
        }
        OnnxNode node = new OnnxNode(opType.toLowerCase(java.util.Locale.ROOT) + "_0", opType, "", nodeInputs,
                outputs.stream().map(OnnxValueInfo::name).toList(), attrs);
        OnnxGraph graph = new OnnxGraph("graft_" + opType, List.of(node), initializers, inputs, outputs, List.of());
        return new OnnxModel(IR_VERSION, "graft", "0.1", "", 0, "", List.of(new OnnxOpset("", opsetVersion)), graph);
    }

    private static ProtoWriter graph(OnnxGraph g) {
        ProtoWriter w = new ProtoWriter();
        for (OnnxNode n : g.nodes()) {
            w.message(1, node(n));
        }
        w.optionalString(2, g.name());
        for (OnnxTensor t : g.initializers()) {
            w.message(5, tensor(t));
        }
        for (OnnxValueInfo v : g.inputs()) {
            w.message(11, valueInfo(v));
        }
        for (OnnxValueInfo v : g.outputs()) {
            w.message(12, valueInfo(v));
        }
        for (OnnxValueInfo v : g.valueInfos()) {
            w.message(13, valueInfo(v));
        }
        return w;
    }

    private static ProtoWriter node(OnnxNode n) {
        ProtoWriter w = new ProtoWriter();
        for (String in : n.inputs()) {
            w.string(1, in);
        }
        for (String out : n.outputs()) {
            w.string(2, out);
        }
        w.optionalString(3, n.name());
        w.string(4, n.opType());
        for (OnnxAttribute a : n.attributes().values()) {
            w.message(5, attribute(a));
        }
        w.optionalString(7, n.domain());
        return w;
    }

    private static ProtoWriter attribute(OnnxAttribute a) {
        ProtoWriter w = new ProtoWriter();
        w.string(1, a.name());
        switch (a.type()) {
            case FLOAT -> w.float32(2, a.f());
            case INT -> w.varint(3, a.i());
            case STRING -> w.bytes(4, a.s());
            case TENSOR -> w.message(5, tensor(a.t()));
            case GRAPH -> w.message(6, graph(a.g()));
            case FLOATS -> w.packedFloats(7, a.floats());
            case INTS -> w.packedVarints(8, a.ints());
            case STRINGS -> a.strings().forEach(s -> w.bytes(9, s));
            case TENSORS -> a.tensors().forEach(t -> w.message(10, tensor(t)));
            case GRAPHS -> a.graphs().forEach(g -> w.message(11, graph(g)));
            default -> throw new IllegalArgumentException("attribute '" + a.name() + "': cannot write type "
                    + a.type());
        }
        w.varint(20, a.type().code());
        return w;
    }

    private static ProtoWriter tensor(OnnxTensor t) {
        ProtoWriter w = new ProtoWriter();
        w.packedVarints(1, t.dims());
        w.varint(2, t.dataType().code());
        w.optionalString(8, t.name());
        if (t.dataType() == OnnxDataType.STRING) {
            t.strings().forEach(s -> w.bytes(6, s));
        } else {
            w.bytes(9, t.data());
        }
        return w;
    }

    private static ProtoWriter valueInfo(OnnxValueInfo v) {
        ProtoWriter tensorType = new ProtoWriter();
        if (v.elemType() != null) {
            tensorType.varint(1, v.elemType().code());
        }
        if (v.dims() != null) {
            ProtoWriter shape = new ProtoWriter();
            for (OnnxValueInfo.Dim d : v.dims()) {
                ProtoWriter dim = new ProtoWriter();
                if (d.param() != null) {
                    dim.string(2, d.param());
                } else if (d.value() >= 0) {
                    dim.varint(1, d.value());
                }
                shape.message(1, dim);
            }
            tensorType.message(2, shape);
        }
        ProtoWriter type = new ProtoWriter().message(1, tensorType);
        ProtoWriter w = new ProtoWriter();
        w.string(1, v.name());
        w.message(2, type);
        return w;
    }
}
