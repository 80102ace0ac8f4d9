package dev.graft.conformance.kernels;

import com.fasterxml.jackson.databind.JsonNode;
import dev.graft.kernels.Int8Conv2d;
import dev.graft.kernels.Int8Gemm;
import dev.graft.kernels.Kernels;
import dev.graft.kernels.PackedConvWeights;
import dev.graft.kernels.QuantizedAdd;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Golden kernel cases k_19 (conv2d 3x3, im2row + INT8 GEMM), k_20 (depthwise stride-2 conv2d_relu, fbgemm's int16
 * pair saturation), both through every INT8 GEMM available here, and k_21 (quantized add, add_relu, relu), bit-exact
 * against PyTorch 1.13.1's fbgemm engine.
 */
class GoldenConvAddTest {

    static List<Object[]> convCases() {
        return List.of("k_19_conv2d_per_channel", "k_20_conv2d_relu_stride2_depthwise").stream()
                .flatMap(c -> Kernels.availableInt8Gemms().stream()
                        .map(g -> new Object[] {c, g}))
                .toList();
    }

    @ParameterizedTest(name = "{0} via {1}")
    @MethodSource("convCases")
    void quantizedConvMatchesFbgemm(String name, Int8Gemm gemm) throws IOException {
        JsonNode g = Golden.load(name);
        JsonNode in = g.get("inputs");
        JsonNode params = g.get("params");
        JsonNode x = in.get("x");
        JsonNode w = in.get("w");
        int groups = params.get("groups").asInt();
        Int8Conv2d.Activation act = new Int8Conv2d.Activation(Golden.bytes(x), Golden.dim(x, 0), Golden.dim(x, 1),
                Golden.dim(x, 2), Golden.dim(x, 3), (float) x.get("scale").asDouble(), x.get("zero_point").asInt());
        PackedConvWeights packed = PackedConvWeights.pack(Golden.bytes(w), Golden.dim(w, 0), Golden.dim(w, 1),
                Golden.dim(w, 2), Golden.dim(w, 3), groups, Golden.scales(w), Golden.zeroPoints(w), gemm);
        Int8Conv2d.Geometry geo = Int8Conv2d.Geometry.of(params.get("stride").asInt(), params.get("padding").asInt(),
                params.get("dilation").asInt());
        int[] expected = Golden.ints(g.get("expected_by_engine").get("fbgemm").get("y_int"));
        byte[] out = new byte[expected.length];
        Int8Conv2d.conv2d(act, packed, Golden.floats(in.get("bias")), geo,
                new Int8Conv2d.Requant((float) params.get("output_scale").asDouble(),
                        params.get("output_zero_point").asInt(), params.get("relu_fused").asBoolean()),
                out, gemm);
        assertArrayEquals(expected, Golden.unsigned(out), name);
    }

    @Test
    void depthwiseCaseTakesTheSaturatingPath() throws IOException {
        JsonNode g = Golden.load("k_20_conv2d_relu_stride2_depthwise");
        int[] fbgemm = Golden.ints(g.get("expected_by_engine").get("fbgemm").get("y_int"));
        JsonNode formula = g.get("reference_formula");
        int[] exact = Golden.ints(formula.get("fbgemm_emulation"));
        int[] saturating = Golden.ints(formula.get("fbgemm_depthwise_int16_saturation_emulation"));
        int differ = 0;
        for (int i = 0; i < exact.length; i++) {
            differ += fbgemm[i] != exact[i] ? 1 : 0;
        }
        // The file records how many of fbgemm's outputs the exact formula misses (its random seed decides which).
        JsonNode agreement = formula.get("agreement_with_emulation").get("fbgemm");
        int recorded = agreement.get("n").asInt() - agreement.get("exact").asInt();
        assertTrue(recorded > 0, "the case exercises the int16 saturation of fbgemm's depthwise path");
        assertEquals(recorded, differ, "outputs where fbgemm's saturation differs from the exact formula");
        assertArrayEquals(fbgemm, saturating, "fbgemm is the saturating emulation, bit for bit");
        assertTrue(Int8Conv2d.fbgemmDepthwisePath(8, 8, 8, 3, 3, Int8Conv2d.Geometry.of(2, 1, 1)));
    }

    @Test
    void quantizedAddMatchesFbgemm() throws IOException {
        JsonNode g = Golden.load("k_21_add_relu");
        JsonNode in = g.get("inputs");
        JsonNode params = g.get("params");
        JsonNode a = in.get("a");
        JsonNode b = in.get("b");
        byte[] av = Golden.bytes(a);
        byte[] bv = Golden.bytes(b);
        var qa = new QuantizedAdd.QParams((float) a.get("scale").asDouble(), a.get("zero_point").asInt());
        var qb = new QuantizedAdd.QParams((float) b.get("scale").asDouble(), b.get("zero_point").asInt());
        var qo = new QuantizedAdd.QParams((float) params.get("output_scale").asDouble(),
                params.get("output_zero_point").asInt());
        JsonNode fb = g.get("expected_by_engine").get("fbgemm");
        for (boolean relu : new boolean[] {false, true}) {
            byte[] out = new byte[av.length];
            byte[] ref = new byte[av.length];
            QuantizedAdd.add(av, 0, qa, bv, 0, qb, qo, relu, out, 0, av.length);
            QuantizedAdd.addReference(av, 0, qa, bv, 0, qb, qo, relu, ref, 0, av.length);
            int[] expected = Golden.ints(fb.get(relu ? "add_relu_int" : "add_int"));
            assertArrayEquals(expected, Golden.unsigned(out), "vector, relu=" + relu);
            assertArrayEquals(expected, Golden.unsigned(ref), "reference, relu=" + relu);
        }
        byte[] relu = new byte[av.length];
        QuantizedAdd.relu(av, 0, av.length, qa.zeroPoint(), relu, 0);
        assertArrayEquals(Golden.ints(fb.get("relu_a_int")), Golden.unsigned(relu));
    }
}
