package dev.graft.formats.onnx;

import dev.graft.ops.DType;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** Models written by {@link OnnxWriter} read back identically; typed tensor fields read as raw data would. */
class OnnxRoundTripTest {

    /** A Conv model with every common attribute kind and a bias, as the kernels benchmarks will write. */
    static OnnxModel convModel() {
        float[] w = new float[8 * 3 * 3 * 3];
        for (int i = 0; i < w.length; i++) {
            w[i] = (i % 7) * 0.25f - 0.5f;
        }
        return OnnxWriter.singleNodeModel("Conv",
                List.of(OnnxAttribute.ofInts("kernel_shape", 3, 3), OnnxAttribute.ofInts("pads", 1, 1, 1, 1),
                        OnnxAttribute.ofInts("strides", 1, 1), OnnxAttribute.ofInt("group", 1),
                        OnnxAttribute.ofString("auto_pad", "NOTSET")),
                List.of(OnnxValueInfo.tensor("x", OnnxDataType.FLOAT, 1, 3, 8, 8)),
                List.of(OnnxTensor.ofFloats("w", w, 8, 3, 3, 3),
                        OnnxTensor.ofFloats("b", new float[] {1, 2, 3, 4, 5, 6, 7, 8}, 8)),
                List.of("x", "w", "b"), List.of(OnnxValueInfo.tensor("y", OnnxDataType.FLOAT, 1, 8, 8, 8)), 13);
    }

    static OnnxModel matMulIntegerModel() {
        byte[] w = new byte[16 * 4];
        for (int i = 0; i < w.length; i++) {
            w[i] = (byte) (i * 7 - 100);
        }
        return OnnxWriter.singleNodeModel("MatMulInteger", List.of(),
                List.of(new OnnxValueInfo("a", OnnxDataType.UINT8,
                        List.of(OnnxValueInfo.Dim.symbolic("rows"), OnnxValueInfo.Dim.of(16)))),
                List.of(OnnxTensor.ofBytes("w", OnnxDataType.INT8, w, 16, 4),
                        OnnxTensor.ofBytes("a_zero", OnnxDataType.UINT8, new byte[] {(byte) 128}),
                        OnnxTensor.ofBytes("w_zero", OnnxDataType.INT8, new byte[] {0})),
                List.of("a", "w", "a_zero", "w_zero"),
                List.of(new OnnxValueInfo("y", OnnxDataType.INT32,
                        List.of(OnnxValueInfo.Dim.symbolic("rows"), OnnxValueInfo.Dim.of(4)))), 13);
    }

    @Test
    void convModelRoundTrips() {
        OnnxModel model = convModel();
        byte[] bytes = OnnxWriter.write(model);
        OnnxModel back = OnnxReader.read(bytes);
        assertEquals(model, back);
        assertEquals(13, back.defaultOpsetVersion());
        OnnxNode conv = back.graph().nodes().get(0);
        assertEquals("Conv", conv.opType());
        assertEquals(List.of("x", "w", "b"), conv.inputs());
        assertArrayEquals(new long[] {1, 1, 1, 1}, conv.attribute("pads").ints());
        assertEquals(1, conv.attribute("group").i());
        assertEquals("NOTSET", conv.attribute("auto_pad").string());
        Tensor w = back.graph().initializer("w").toTensor();
        assertArrayEquals(new int[] {8, 3, 3, 3}, w.shape());
        assertArrayEquals(model.graph().initializer("w").toFloatArray(), w.toFloatArray());
        assertEquals(List.of(OnnxValueInfo.Dim.of(1), OnnxValueInfo.Dim.of(3), OnnxValueInfo.Dim.of(8),
                OnnxValueInfo.Dim.of(8)), back.graph().inputs().get(0).dims());
    }

    @Test
    void matMulIntegerModelRoundTripsWithSymbolicDimsAndByteTensors() {
        OnnxModel model = matMulIntegerModel();
        OnnxModel back = OnnxReader.read(OnnxWriter.write(model));
        assertEquals(model, back);
        assertEquals("rows", back.graph().inputs().get(0).dims().get(0).param());
        Tensor w = back.graph().initializer("w").toTensor();
        assertEquals(DType.INT8, w.dtype());
        assertArrayEquals(model.graph().initializer("w").rawBytes(), w.toByteArray());
        Tensor zero = back.graph().initializer("a_zero").toTensor();
        assertEquals(DType.UINT8, zero.dtype());
        assertEquals(0, zero.dim());
        assertEquals(128f, back.graph().initializer("a_zero").toFloatArray()[0]);
    }

    @Test
    void floatAndIntListAttributesAndTensorAttributesRoundTrip() {
        OnnxModel model = OnnxWriter.singleNodeModel("Constant",
                List.of(OnnxAttribute.ofTensor("value", OnnxTensor.ofLongs("", new long[] {3, -1, 1L << 40}, 3))),
                List.of(), List.of(), List.of(), List.of(OnnxValueInfo.tensor("c", OnnxDataType.INT64, 3)), 11);
        OnnxModel back = OnnxReader.read(OnnxWriter.write(model));
        assertEquals(model, back);
        assertArrayEquals(new long[] {3, -1, 1L << 40},
                back.graph().nodes().get(0).attribute("value").t().toLongArray());
        OnnxModel floats = OnnxWriter.singleNodeModel("LeakyRelu",
                List.of(OnnxAttribute.ofFloat("alpha", 0.125f), OnnxAttribute.ofFloats("extra", 1.5f, -2f)),
                List.of(OnnxValueInfo.tensor("x", OnnxDataType.FLOAT, 2)), List.of(), List.of("x"),
                List.of(OnnxValueInfo.tensor("y", OnnxDataType.FLOAT, 2)), 13);
        OnnxModel fb = OnnxReader.read(OnnxWriter.write(floats));
        assertEquals(0.125f, fb.graph().nodes().get(0).attribute("alpha").f());
        assertArrayEquals(new float[] {1.5f, -2f}, fb.graph().nodes().get(0).attribute("extra").floats());
    }

    /** A TensorProto with its values in a typed field (not raw_data), wrapped in a minimal model. */
    static byte[] modelWithTensor(ProtoWriter tensor) {
        ProtoWriter graph = new ProtoWriter().message(5, tensor).string(2, "g");
        ProtoWriter opset = new ProtoWriter().varint(2, 13);
        return new ProtoWriter().varint(1, 8).message(7, graph).message(8, opset).toByteArray();
    }

    static OnnxTensor onlyInitializer(byte[] model) {
        return OnnxReader.read(model).graph().initializers().get(0);
    }

    @Test
    void typedFieldsReadAsTheirValues() {
        // float_data, packed
        OnnxTensor f = onlyInitializer(modelWithTensor(new ProtoWriter().packedVarints(1, new long[] {2, 2})
                .varint(2, 1).string(8, "f").packedFloats(4, new float[] {1, -2, 3.5f, 0})));
        assertArrayEquals(new float[] {1, -2, 3.5f, 0}, f.toTensor().toFloatArray());
        assertArrayEquals(new int[] {2, 2}, f.shape());

        // int32_data holding int8 values (negative ones as 10-byte varints), unpacked dims
        OnnxTensor i8 = onlyInitializer(modelWithTensor(new ProtoWriter().varint(1, 3).varint(2, 3)
                .string(8, "i8").packedVarints(5, new long[] {-128, 0, 127})));
        assertArrayEquals(new long[] {-128, 0, 127}, i8.toLongArray());
        assertEquals(DType.INT8, i8.toTensor().dtype());

        // int32_data holding float16 bits
        short half = Float.floatToFloat16(1.5f);
        OnnxTensor f16 = onlyInitializer(modelWithTensor(new ProtoWriter().varint(1, 1).varint(2, 10)
                .string(8, "h").packedVarints(5, new long[] {half & 0xFFFF})));
        assertArrayEquals(new float[] {1.5f}, f16.toFloatArray());

        // int64_data
        OnnxTensor i64 = onlyInitializer(modelWithTensor(new ProtoWriter().varint(1, 2).varint(2, 7)
                .string(8, "l").packedVarints(7, new long[] {-5, Long.MAX_VALUE})));
        assertArrayEquals(new long[] {-5, Long.MAX_VALUE}, i64.toTensor().toLongArray());

        // double_data (fixed64, packed)
        ProtoWriter d = new ProtoWriter().varint(1, 1).varint(2, 11).string(8, "d");
        ByteBuffer bits = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putDouble(0, 2.25);
        d.bytes(10, bits.array());
        assertArrayEquals(new float[] {2.25f}, onlyInitializer(modelWithTensor(d)).toFloatArray());

        // uint64_data holding uint32
        OnnxTensor u32 = onlyInitializer(modelWithTensor(new ProtoWriter().varint(1, 1).varint(2, 12)
                .string(8, "u").packedVarints(11, new long[] {0xFFFFFFFFL})));
        assertArrayEquals(new long[] {0xFFFFFFFFL}, u32.toLongArray());

        // string_data
        OnnxTensor s = onlyInitializer(modelWithTensor(new ProtoWriter().varint(1, 2).varint(2, 8)
                .string(8, "s").string(6, "ab").string(6, "")));
        assertEquals(2, s.strings().size());
        assertNull(s.data());

        // a scalar with no dims
        OnnxTensor scalar = onlyInitializer(modelWithTensor(new ProtoWriter().varint(2, 1).string(8, "x")
                .packedFloats(4, new float[] {7})));
        assertEquals(0, scalar.toTensor().dim());
        assertEquals(7f, scalar.toTensor().item());
    }

    @Test
    void unknownFieldsAreSkipped() {
        ProtoWriter tensor = new ProtoWriter().varint(1, 1).varint(2, 1).string(8, "t").varint(99, 5)
                .float32(98, 1f).string(97, "ignored").packedFloats(4, new float[] {4});
        assertArrayEquals(new float[] {4}, onlyInitializer(modelWithTensor(tensor)).toFloatArray());
    }
}
