package dev.graft.formats.onnx;

import dev.graft.engine.io.FormatException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads an ONNX model ({@code ModelProto}) straight from the protobuf wire format, without a protobuf library.
 *
 * <p>Everything is bounds-checked: a truncated or corrupted file gives a {@link FormatException} with the byte offset
 * and the field ("TensorProto.raw_data length 1200 exceeds remaining 800 bytes"). Tensor data stays a view of the
 * input bytes. Graphs nested in attributes (the bodies of {@code If}/{@code Loop}) are read up to a depth of
 * {@value #MAX_GRAPH_DEPTH}. Unknown fields are skipped, as protobuf requires.
 */
public final class OnnxReader {
    /** Deepest nesting of graphs inside node attributes that is read. */
    public static final int MAX_GRAPH_DEPTH = 16;
    /** Largest element count of one tensor (Graft tensors are indexed by int). */
    static final long MAX_ELEMENTS = Integer.MAX_VALUE - 8;
    static final int MAX_DIMS = 64;

    private OnnxReader() {
    }

    public static OnnxModel read(Path file) {
        long size;
        byte[] bytes;
        try {
            size = Files.size(file);
            if (size > Integer.MAX_VALUE - 8) {
                throw new FormatException(file, -1, "ONNX file of " + size
                        + " bytes is larger than 2 GB; external-data models are not supported");
            }
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new FormatException(file, -1, "cannot read ONNX file: " + e.getMessage(), e);
        }
        return read(ByteBuffer.wrap(bytes), file);
    }

    public static OnnxModel read(byte[] bytes) {
        return read(ByteBuffer.wrap(bytes), null);
    }

    /** Reads from {@code buffer}'s position to its limit; {@code file} (may be null) names the source in errors. */
    public static OnnxModel read(ByteBuffer buffer, Path file) {
        ProtoReader in = new ProtoReader(buffer.duplicate().order(ByteOrder.LITTLE_ENDIAN), file);
        if (!in.hasMore()) {
            throw in.error(0, "empty file: an ONNX ModelProto needs at least a graph");
        }
        return readModel(in);
    }

    // ---------------------------------------------------------------- ModelProto

    private static OnnxModel readModel(ProtoReader in) {
        long irVersion = 0;
        long modelVersion = 0;
        String producerName = "";
        String producerVersion = "";
        String domain = "";
        String doc = "";
        List<OnnxOpset> opsets = new ArrayList<>();
        OnnxGraph graph = null;
        while (in.hasMore()) {
            int tag = in.readTag("ModelProto");
            switch (ProtoReader.fieldOf(tag)) {
                case 1 -> irVersion = varint(in, tag, "ModelProto.ir_version");
                case 2 -> producerName = string(in, tag, "ModelProto.producer_name");
                case 3 -> producerVersion = string(in, tag, "ModelProto.producer_version");
                case 4 -> domain = string(in, tag, "ModelProto.domain");
                case 5 -> modelVersion = varint(in, tag, "ModelProto.model_version");
                case 6 -> doc = string(in, tag, "ModelProto.doc_string");
                case 7 -> graph = readGraph(message(in, tag, "ModelProto.graph"), 0);
                case 8 -> opsets.add(readOpset(message(in, tag, "ModelProto.opset_import")));
                default -> in.skip(tag, "ModelProto");
            }
        }
        if (graph == null) {
            throw in.error(in.position(), "ModelProto.graph is missing (not an ONNX model?)");
        }
        if (opsets.isEmpty()) {
            // Required since IR version 3; without it a model cut short after its graph would pass as whole.
            throw in.error(in.position(), "ModelProto.opset_import is missing (truncated file?)");
        }
        return new OnnxModel(irVersion, producerName, producerVersion, domain, modelVersion, doc, opsets, graph);
    }

    private static OnnxOpset readOpset(ProtoReader in) {
        String domain = "";
        long version = 0;
        while (in.hasMore()) {
            int tag = in.readTag("OperatorSetIdProto");
            switch (ProtoReader.fieldOf(tag)) {
                case 1 -> domain = string(in, tag, "OperatorSetIdProto.domain");
                case 2 -> version = varint(in, tag, "OperatorSetIdProto.version");
                default -> in.skip(tag, "OperatorSetIdProto");
            }
        }
        return new OnnxOpset(domain, version);
    }

    // ---------------------------------------------------------------- GraphProto

    private static OnnxGraph readGraph(ProtoReader in, int depth) {
        if (depth > MAX_GRAPH_DEPTH) {
            throw in.error(in.position(), "GraphProto nested deeper than " + MAX_GRAPH_DEPTH + " levels");
        }
        String name = "";
        List<OnnxNode> nodes = new ArrayList<>();
        List<OnnxTensor> initializers = new ArrayList<>();
        List<OnnxValueInfo> inputs = new ArrayList<>();
        List<OnnxValueInfo> outputs = new ArrayList<>();
        List<OnnxValueInfo> valueInfos = new ArrayList<>();
        while (in.hasMore()) {
            int tag = in.readTag("GraphProto");
            switch (ProtoReader.fieldOf(tag)) {
                case 1 -> nodes.add(readNode(message(in, tag, "GraphProto.node"), depth));
                case 2 -> name = string(in, tag, "GraphProto.name");
                case 5 -> initializers.add(readTensor(message(in, tag, "GraphProto.initializer")));
                case 11 -> inputs.add(readValueInfo(message(in, tag, "GraphProto.input")));
                case 12 -> outputs.add(readValueInfo(message(in, tag, "GraphProto.output")));
                case 13 -> valueInfos.add(readValueInfo(message(in, tag, "GraphProto.value_info")));
                default -> in.skip(tag, "GraphProto");
            }
        }
        return new OnnxGraph(name, nodes, initializers, inputs, outputs, valueInfos);
    }

    private static OnnxNode readNode(ProtoReader in, int depth) {
        List<String> inputs = new ArrayList<>();
        List<String> outputs = new ArrayList<>();
        String name = "";
        String opType = "";
        String domain = "";
        Map<String, OnnxAttribute> attributes = new LinkedHashMap<>();
        int start = in.position();
        while (in.hasMore()) {
            int tag = in.readTag("NodeProto");
            switch (ProtoReader.fieldOf(tag)) {
                case 1 -> inputs.add(string(in, tag, "NodeProto.input"));
                case 2 -> outputs.add(string(in, tag, "NodeProto.output"));
                case 3 -> name = string(in, tag, "NodeProto.name");
                case 4 -> opType = string(in, tag, "NodeProto.op_type");
                case 5 -> {
                    int at = in.position();
                    OnnxAttribute a = readAttribute(message(in, tag, "NodeProto.attribute"), depth);
                    if (attributes.putIfAbsent(a.name(), a) != null) {
                        throw in.error(at, "NodeProto.attribute '" + a.name() + "' appears twice");
                    }
                }
                case 7 -> domain = string(in, tag, "NodeProto.domain");
                default -> in.skip(tag, "NodeProto");
            }
        }
        if (opType.isEmpty()) {
            throw in.error(start, "NodeProto.op_type is missing (node '" + name + "')");
        }
        return new OnnxNode(name, opType, domain, inputs, outputs, attributes);
    }

    private static OnnxAttribute readAttribute(ProtoReader in, int depth) {
        int start = in.position();
        String name = null;
        long typeCode = 0;
        float f = 0;
        long i = 0;
        byte[] s = null;
        OnnxTensor t = null;
        OnnxGraph g = null;
        ProtoReader.ByteSink floats = new ProtoReader.ByteSink();
        ProtoReader.LongList ints = new ProtoReader.LongList();
        List<byte[]> strings = new ArrayList<>();
        List<OnnxTensor> tensors = new ArrayList<>();
        List<OnnxGraph> graphs = new ArrayList<>();
        while (in.hasMore()) {
            int tag = in.readTag("AttributeProto");
            switch (ProtoReader.fieldOf(tag)) {
                case 1 -> name = string(in, tag, "AttributeProto.name");
                case 20 -> typeCode = varint(in, tag, "AttributeProto.type");
                case 2 -> {
                    in.expectWire(tag, ProtoReader.FIXED32, "AttributeProto.f");
                    f = in.readFloat("AttributeProto.f");
                }
                case 3 -> i = varint(in, tag, "AttributeProto.i");
                case 4 -> s = bytes(in, tag, "AttributeProto.s");
                case 5 -> t = readTensor(message(in, tag, "AttributeProto.t"));
                case 6 -> g = readGraph(message(in, tag, "AttributeProto.g"), depth + 1);
                case 7 -> in.readFixed32s(tag, "AttributeProto.floats", floats);
                case 8 -> in.readVarints(tag, "AttributeProto.ints", ints);
                case 9 -> strings.add(bytes(in, tag, "AttributeProto.strings"));
                case 10 -> tensors.add(readTensor(message(in, tag, "AttributeProto.tensors")));
                case 11 -> graphs.add(readGraph(message(in, tag, "AttributeProto.graphs"), depth + 1));
                default -> in.skip(tag, "AttributeProto");
            }
        }
        if (name == null) {
            throw in.error(start, "AttributeProto.name is missing");
        }
        OnnxAttribute.Type type = OnnxAttribute.Type.fromCode(typeCode);
        if (type == null) {
            throw in.error(start, "AttributeProto.type " + typeCode + " of attribute '" + name + "' is unknown");
        }
        float[] fl = new float[floats.size() / 4];
        ByteBuffer.wrap(floats.toArray()).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(fl);
        return new OnnxAttribute(name, type, f, i, s, t, g, fl, ints.toArray(), strings, tensors, graphs);
    }

    // ---------------------------------------------------------------- TensorProto

    private static OnnxTensor readTensor(ProtoReader in) {
        int start = in.position();
        ProtoReader.LongList dims = new ProtoReader.LongList();
        long typeCode = 0;
        String name = "";
        ByteBuffer raw = null;
        ProtoReader.ByteSink floatData = new ProtoReader.ByteSink();
        ProtoReader.ByteSink doubleData = new ProtoReader.ByteSink();
        ProtoReader.LongList int32Data = new ProtoReader.LongList();
        ProtoReader.LongList int64Data = new ProtoReader.LongList();
        ProtoReader.LongList uint64Data = new ProtoReader.LongList();
        List<byte[]> strings = new ArrayList<>();
        long location = 0;
        while (in.hasMore()) {
            int tag = in.readTag("TensorProto");
            switch (ProtoReader.fieldOf(tag)) {
                case 1 -> {
                    in.readVarints(tag, "TensorProto.dims", dims);
                    if (dims.size() > MAX_DIMS) {
                        throw in.error(in.position(), "TensorProto.dims: more than " + MAX_DIMS + " dimensions");
                    }
                }
                case 2 -> typeCode = varint(in, tag, "TensorProto.data_type");
                case 4 -> in.readFixed32s(tag, "TensorProto.float_data", floatData);
                case 5 -> in.readVarints(tag, "TensorProto.int32_data", int32Data);
                case 6 -> strings.add(bytes(in, tag, "TensorProto.string_data"));
                case 7 -> in.readVarints(tag, "TensorProto.int64_data", int64Data);
                case 8 -> name = string(in, tag, "TensorProto.name");
                case 9 -> {
                    in.expectWire(tag, ProtoReader.LENGTH_DELIMITED, "TensorProto.raw_data");
                    raw = in.readBytes("TensorProto.raw_data");
                }
                case 10 -> in.readFixed64s(tag, "TensorProto.double_data", doubleData);
                case 11 -> in.readVarints(tag, "TensorProto.uint64_data", uint64Data);
                case 14 -> location = varint(in, tag, "TensorProto.data_location");
                default -> in.skip(tag, "TensorProto");
            }
        }
        String what = "TensorProto '" + name + "'";
        OnnxDataType type = OnnxDataType.fromCode(typeCode);
        if (type == null) {
            throw in.error(start, what + ": data_type " + typeCode + " is not supported");
        }
        if (location == 1) {
            throw in.error(start, what + ": data_location EXTERNAL (external data files) is not supported");
        }
        long[] shape = dims.toArray();
        long count = 1;
        for (long d : shape) {
            if (d < 0 || d > Integer.MAX_VALUE) {
                throw in.error(start, what + ": dimension " + d + " out of range in dims "
                        + java.util.Arrays.toString(shape));
            }
            count *= d;
            if (count > MAX_ELEMENTS) {
                throw in.error(start, what + ": dims " + java.util.Arrays.toString(shape) + " hold more than "
                        + MAX_ELEMENTS + " elements");
            }
        }
        if (type == OnnxDataType.STRING) {
            if (strings.size() != count) {
                throw in.error(start, what + ": " + strings.size() + " string_data entries for " + count + " elements");
            }
            return new OnnxTensor(name, type, shape, null, strings);
        }
        ByteBuffer data = raw != null ? raw : typedData(in, start, what, type, count, floatData, doubleData,
                int32Data, int64Data, uint64Data);
        long expected = count * type.byteSize();
        if (data.remaining() != expected) {
            throw in.error(start, what + ": " + (raw != null ? "raw_data" : "typed data") + " holds "
                    + data.remaining() + " bytes but dims " + java.util.Arrays.toString(shape) + " of " + type
                    + " need " + expected);
        }
        return new OnnxTensor(name, type, shape, data, null);
    }

    /** Lays a tensor's typed field out as {@code raw_data} bytes (little-endian, the type's own width). */
    private static ByteBuffer typedData(ProtoReader in, int start, String what, OnnxDataType type, long count,
                                        ProtoReader.ByteSink floatData, ProtoReader.ByteSink doubleData,
                                        ProtoReader.LongList int32Data, ProtoReader.LongList int64Data,
                                        ProtoReader.LongList uint64Data) {
        switch (type) {
            case FLOAT, COMPLEX64 -> {
                return ByteBuffer.wrap(floatData.toArray());
            }
            case DOUBLE, COMPLEX128 -> {
                return ByteBuffer.wrap(doubleData.toArray());
            }
            default -> {
            }
        }
        ProtoReader.LongList source = switch (type) {
            case INT64 -> int64Data;
            case UINT32, UINT64 -> uint64Data;
            default -> int32Data;
        };
        if (source.size() != count) {
            throw in.error(start, what + ": typed data holds " + source.size() + " values but dims need " + count);
        }
        long[] v = source.toArray();
        ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(count * type.byteSize())).order(ByteOrder.LITTLE_ENDIAN);
        for (long x : v) {
            switch (type.byteSize()) {
                case 1 -> b.put((byte) x);
                case 2 -> b.putShort((short) x);
                case 4 -> b.putInt((int) x);
                default -> b.putLong(x);
            }
        }
        return b.flip();
    }

    // ---------------------------------------------------------------- ValueInfoProto and TypeProto

    private static OnnxValueInfo readValueInfo(ProtoReader in) {
        String name = "";
        OnnxDataType elem = null;
        List<OnnxValueInfo.Dim> dims = null;
        while (in.hasMore()) {
            int tag = in.readTag("ValueInfoProto");
            switch (ProtoReader.fieldOf(tag)) {
                case 1 -> name = string(in, tag, "ValueInfoProto.name");
                case 2 -> {
                    ProtoReader type = message(in, tag, "ValueInfoProto.type");
                    while (type.hasMore()) {
                        int t = type.readTag("TypeProto");
                        if (ProtoReader.fieldOf(t) == 1) {
                            ProtoReader tensor = message(type, t, "TypeProto.tensor_type");
                            while (tensor.hasMore()) {
                                int tt = tensor.readTag("TypeProto.Tensor");
                                switch (ProtoReader.fieldOf(tt)) {
                                    case 1 -> elem = OnnxDataType.fromCode(varint(tensor, tt,
                                            "TypeProto.Tensor.elem_type"));
                                    case 2 -> dims = readShape(message(tensor, tt, "TypeProto.Tensor.shape"));
                                    default -> tensor.skip(tt, "TypeProto.Tensor");
                                }
                            }
                        } else {
                            type.skip(t, "TypeProto");
                        }
                    }
                }
                default -> in.skip(tag, "ValueInfoProto");
            }
        }
        return new OnnxValueInfo(name, elem, dims);
    }

    private static List<OnnxValueInfo.Dim> readShape(ProtoReader in) {
        List<OnnxValueInfo.Dim> dims = new ArrayList<>();
        while (in.hasMore()) {
            int tag = in.readTag("TensorShapeProto");
            if (ProtoReader.fieldOf(tag) != 1) {
                in.skip(tag, "TensorShapeProto");
                continue;
            }
            ProtoReader d = message(in, tag, "TensorShapeProto.dim");
            long value = -1;
            String param = null;
            while (d.hasMore()) {
                int t = d.readTag("TensorShapeProto.Dimension");
                switch (ProtoReader.fieldOf(t)) {
                    case 1 -> value = varint(d, t, "TensorShapeProto.Dimension.dim_value");
                    case 2 -> param = string(d, t, "TensorShapeProto.Dimension.dim_param");
                    default -> d.skip(t, "TensorShapeProto.Dimension");
                }
            }
            dims.add(new OnnxValueInfo.Dim(param != null ? -1 : value, param));
        }
        return dims;
    }

    // ---------------------------------------------------------------- typed field helpers

    private static long varint(ProtoReader in, int tag, String field) {
        in.expectWire(tag, ProtoReader.VARINT, field);
        return in.readVarint(field);
    }

    private static String string(ProtoReader in, int tag, String field) {
        in.expectWire(tag, ProtoReader.LENGTH_DELIMITED, field);
        return in.readString(field);
    }

    private static byte[] bytes(ProtoReader in, int tag, String field) {
        in.expectWire(tag, ProtoReader.LENGTH_DELIMITED, field);
        ByteBuffer b = in.readBytes(field);
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }

    private static ProtoReader message(ProtoReader in, int tag, String field) {
        in.expectWire(tag, ProtoReader.LENGTH_DELIMITED, field);
        return in.readMessage(field);
    }
}
