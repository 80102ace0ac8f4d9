package dev.graft.conformance.quant;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.graft.conformance.SharedData;
import dev.graft.engine.quant.nn.DynamicQuantizedLinear;
import dev.graft.engine.quant.nn.QuantizedConv2d;
import dev.graft.engine.quant.nn.QuantizedLinear;
import dev.graft.ops.DType;
import dev.graft.ops.Dispatch;
import dev.graft.ops.QParams;
import dev.graft.ops.QuantizedOps;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Golden cases k_16..k_23 through the quantized modules and ops (not the kernels directly): PyTorch 1.13.1 fbgemm's
 * integers (and, for dynamic linear, float bits) exactly. The weights are given to the modules twice: as PyTorch's
 * quantized integers, and as the float weights plus PyTorch's weight qparams through {@code fromFloat}, which must
 * quantize them to the same integers.
 */
class QuantizedModulesGoldenTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    static List<String> linearCases() {
        return List.of("k_16_linear_per_tensor", "k_17_linear_per_channel_fbgemm_style", "k_18_linear_relu_per_channel");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("linearCases")
    void quantizedLinear(String name) throws IOException {
        JsonNode g = load(name);
        JsonNode in = g.get("inputs");
        JsonNode params = g.get("params");
        Tensor w = quantized(in.get("w"));
        Tensor bias = floats(in.get("bias"));
        float so = (float) params.get("output_scale").asDouble();
        int zo = params.get("output_zero_point").asInt();
        boolean relu = params.get("relu_fused").asBoolean();
        int[] expected = ints(g.get("expected_by_engine").get("fbgemm").get("y_int"));
        Tensor x = quantized(in.get("x"));
        assertArrayEquals(expected, unsigned(new QuantizedLinear(w, bias, so, zo, relu).call(x)), name);

        dev.graft.engine.nn.Linear linear = new dev.graft.engine.nn.Linear(w.size(1), w.size(0), true,
                new java.util.Random(0));
        linear.loadStateDict(java.util.Map.of("weight", floats(in.get("w_float")), "bias", bias));
        QuantizedLinear converted = QuantizedLinear.fromFloat(linear, scales(in.get("w")), zeroPoints(in.get("w")),
                so, zo, relu);
        assertArrayEquals(w.toByteArray(), converted.weight().toByteArray(), name + ": weight quantization");
        assertArrayEquals(expected, unsigned(converted.call(x)), name + " via fromFloat");
    }

    static List<String> convCases() {
        return List.of("k_19_conv2d_per_channel", "k_20_conv2d_relu_stride2_depthwise");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("convCases")
    void quantizedConv2d(String name) throws IOException {
        JsonNode g = load(name);
        JsonNode in = g.get("inputs");
        JsonNode params = g.get("params");
        int s = params.get("stride").asInt();
        int p = params.get("padding").asInt();
        int d = params.get("dilation").asInt();
        QuantizedConv2d conv = new QuantizedConv2d(quantized(in.get("w")), floats(in.get("bias")), new int[] {s},
                new int[] {p}, new int[] {d}, params.get("groups").asInt(),
                (float) params.get("output_scale").asDouble(), params.get("output_zero_point").asInt(),
                params.get("relu_fused").asBoolean());
        int[] expected = ints(g.get("expected_by_engine").get("fbgemm").get("y_int"));
        assertArrayEquals(expected, unsigned(conv.call(quantized(in.get("x")))), name);
    }

    @Test
    void quantizedAddAddReluAndRelu() throws IOException {
        JsonNode g = load("k_21_add_relu");
        JsonNode in = g.get("inputs");
        JsonNode params = g.get("params");
        Tensor a = quantized(in.get("a"));
        Tensor b = quantized(in.get("b"));
        float so = (float) params.get("output_scale").asDouble();
        int zo = params.get("output_zero_point").asInt();
        JsonNode fb = g.get("expected_by_engine").get("fbgemm");
        assertArrayEquals(ints(fb.get("add_int")), unsigned(Dispatch.apply(QuantizedOps.ADD, a, b, so, zo)));
        assertArrayEquals(ints(fb.get("add_relu_int")),
                unsigned(Dispatch.apply(QuantizedOps.ADD_RELU, a, b, so, zo)));
        assertArrayEquals(ints(fb.get("relu_a_int")), unsigned(Dispatch.apply(QuantizedOps.RELU, a)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dynamicCases")
    void dynamicLinear(String name) throws IOException {
        JsonNode g = load(name);
        JsonNode in = g.get("inputs");
        JsonNode params = g.get("params");
        DynamicQuantizedLinear q = new DynamicQuantizedLinear(quantized(in.get("w")), floats(in.get("bias")),
                params.get("reduce_range").asBoolean());
        Tensor x = floats(in.get("x_float"));
        assertEquals(params.get("activation_scale_expected").asDouble(), q.activationParams(x).scale(), 0.0);
        assertEquals(params.get("activation_zero_point_expected").asInt(), q.activationParams(x).zeroPoint());
        float[] expected = floats(g.get("expected_by_engine").get("fbgemm").get("y")).toFloatArray();
        float[] y = q.call(x).toFloatArray();
        for (int i = 0; i < expected.length; i++) {
            assertEquals(Float.floatToIntBits(expected[i]), Float.floatToIntBits(y[i]),
                    name + " element " + i + ": expected " + expected[i] + ", got " + y[i]);
        }
    }

    static List<String> dynamicCases() {
        return List.of("k_22_dynamic_linear_reduce_range", "k_23_dynamic_linear_no_reduce_range");
    }

    // ------------------------------------------------------------ minimal golden JSON reading (see golden/README.md)

    private static JsonNode load(String name) throws IOException {
        return JSON.readTree(SharedData.golden(name + ".json").toFile());
    }

    private static int[] shape(JsonNode t) {
        JsonNode s = t.get("shape");
        int[] out = new int[s.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = s.get(i).asInt();
        }
        return out;
    }

    private static Tensor floats(JsonNode t) {
        JsonNode data = t.get("data");
        float[] out = new float[data.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) data.get(i).asDouble();
        }
        return Tensor.of(out, shape(t));
    }

    private static int[] ints(JsonNode t) {
        JsonNode data = t.has("data") ? t.get("data") : t;
        int[] out = new int[data.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = data.get(i).asInt();
        }
        return out;
    }

    private static float[] scales(JsonNode q) {
        if (q.has("scales")) {
            JsonNode s = q.get("scales");
            float[] out = new float[s.size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = (float) s.get(i).asDouble();
            }
            return out;
        }
        return new float[] {(float) q.get("scale").asDouble()};
    }

    private static int[] zeroPoints(JsonNode q) {
        return q.has("zero_points") ? ints(q.get("zero_points")) : new int[] {q.get("zero_point").asInt()};
    }

    /** A quint8/qint8 golden tensor with its qparams. */
    private static Tensor quantized(JsonNode q) {
        int[] values = ints(q.get("data"));
        byte[] bytes = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            bytes[i] = (byte) values[i];
        }
        DType dtype = q.get("dtype").asText().equals("qint8") ? DType.INT8 : DType.UINT8;
        QParams qp = q.has("scales") ? new QParams.PerChannel(scales(q), zeroPoints(q), q.get("axis").asInt())
                : new QParams.PerTensor(scales(q)[0], zeroPoints(q)[0]);
        return Tensor.quantized(dtype, bytes, shape(q), qp);
    }

    private static int[] unsigned(Tensor t) {
        byte[] b = t.toByteArray();
        int[] out = new int[b.length];
        for (int i = 0; i < b.length; i++) {
            out[i] = b[i] & 0xFF;
        }
        return out;
    }
}
