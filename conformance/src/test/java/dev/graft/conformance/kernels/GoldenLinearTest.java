package dev.graft.conformance.kernels;

import com.fasterxml.jackson.databind.JsonNode;
import dev.graft.kernels.DynamicQuantization;
import dev.graft.kernels.Int8Gemm;
import dev.graft.kernels.Int8Output;
import dev.graft.kernels.Kernels;
import dev.graft.kernels.PackedInt8Weights;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Golden kernel cases k_16..k_18 (static quantized linear, requantized u8 output) and k_22/k_23 (dynamic linear,
 * float output) through every INT8 GEMM available here (scalar, Vector API, generated VNNI code): bit-exact against
 * PyTorch 1.13.1's fbgemm engine.
 */
class GoldenLinearTest {

    /** Every INT8 GEMM this machine can run (scalar, Vector API, generated VNNI code), each in turn. */
    static List<Int8Gemm> gemms() {
        return Kernels.availableInt8Gemms();
    }

    static List<String> staticCases() {
        return List.of("k_16_linear_per_tensor", "k_17_linear_per_channel_fbgemm_style",
                "k_18_linear_relu_per_channel");
    }

    static List<Object[]> staticCasesTimesGemms() {
        return staticCases().stream().flatMap(c -> gemms().stream().map(g -> new Object[] {c, g})).toList();
    }

    static List<Object[]> dynamicCasesTimesGemms() {
        return List.of("k_22_dynamic_linear_reduce_range", "k_23_dynamic_linear_no_reduce_range").stream()
                .flatMap(c -> gemms().stream().map(g -> new Object[] {c, g})).toList();
    }

    @ParameterizedTest(name = "{0} via {1}")
    @MethodSource("staticCasesTimesGemms")
    void quantizedLinearMatchesFbgemm(String name, Int8Gemm gemm) throws IOException {
        JsonNode g = Golden.load(name);
        JsonNode in = g.get("inputs");
        JsonNode params = g.get("params");
        JsonNode x = in.get("x");
        JsonNode w = in.get("w");
        int m = Golden.dim(x, 0);
        int k = Golden.dim(x, 1);
        int n = Golden.dim(w, 0);
        PackedInt8Weights packed = PackedInt8Weights.pack(Golden.bytes(w), 0, n, k, Golden.scales(w),
                Golden.zeroPoints(w), gemm);
        byte[] out = new byte[m * n];
        gemm.gemm(m, Golden.bytes(x), 0, k, x.get("zero_point").asInt(), packed, new Int8Output.Requantize(
                (float) x.get("scale").asDouble(), Golden.floats(in.get("bias")),
                (float) params.get("output_scale").asDouble(), params.get("output_zero_point").asInt(),
                params.get("relu_fused").asBoolean(), out, 0, n));
        int[] expected = Golden.ints(g.get("expected_by_engine").get("fbgemm").get("y_int"));
        assertArrayEquals(expected, Golden.unsigned(out), name);
    }

    @ParameterizedTest(name = "{0} via {1}")
    @MethodSource("dynamicCasesTimesGemms")
    void dynamicLinearMatchesFbgemm(String name, Int8Gemm gemm) throws IOException {
        JsonNode g = Golden.load(name);
        JsonNode in = g.get("inputs");
        JsonNode params = g.get("params");
        JsonNode w = in.get("w");
        int m = Golden.dim(in.get("x_float"), 0);
        int k = Golden.dim(in.get("x_float"), 1);
        int n = Golden.dim(w, 0);
        PackedInt8Weights packed = PackedInt8Weights.pack(Golden.bytes(w), 0, n, k, Golden.scales(w),
                Golden.zeroPoints(w), gemm);
        float[] y = new float[m * n];
        DynamicQuantization.Params p = DynamicQuantization.linear(m, Golden.floats(in.get("x_float")), 0, packed,
                Golden.floats(in.get("bias")), params.get("reduce_range").asBoolean(), y, 0, gemm);
        assertEquals(params.get("activation_scale_expected").asDouble(), p.scale(), 0.0);
        assertEquals(params.get("activation_zero_point_expected").asInt(), p.zeroPoint());
        float[] expected = Golden.floats(g.get("expected_by_engine").get("fbgemm").get("y"));
        for (int i = 0; i < expected.length; i++) {
            assertEquals(Float.floatToIntBits(expected[i]), Float.floatToIntBits(y[i]),
                    name + " element " + i + ": expected " + expected[i] + ", got " + y[i]);
        }
    }

    @ParameterizedTest(name = "qp_12 case {index}", allowZeroInvocations = true)   // none when ../shared is absent
    @MethodSource("chooseCases")
    void chooseParamsMatchesPytorch(JsonNode c) {
        DynamicQuantization.Params p = DynamicQuantization.chooseParams((float) c.get("min").asDouble(),
                (float) c.get("max").asDouble(), c.get("reduce_range").asBoolean());
        assertEquals(c.get("scale_double").asDouble(), p.scale(), 0.0, c.get("label").asText());
        assertEquals(c.get("zero_point").asInt(), p.zeroPoint(), c.get("label").asText());
    }

    static List<JsonNode> chooseCases() throws IOException {
        JsonNode g = new com.fasterxml.jackson.databind.ObjectMapper().readTree(
                dev.graft.conformance.SharedData.golden("qp_12_choose_qparams_dynamic.json").toFile());
        List<JsonNode> out = new java.util.ArrayList<>();
        g.get("cases").forEach(out::add);
        return out;
    }
}
