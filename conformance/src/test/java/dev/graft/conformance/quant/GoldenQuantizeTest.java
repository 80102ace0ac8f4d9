package dev.graft.conformance.quant;

import com.fasterxml.jackson.databind.JsonNode;
import dev.graft.engine.quant.QDType;
import dev.graft.engine.quant.QScheme;
import dev.graft.engine.quant.QuantizationParams;
import dev.graft.engine.quant.qat.FakeQuantize;
import dev.graft.ops.QuantOps;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;

import java.io.IOException;

import static dev.graft.conformance.quant.QuantGolden.assertFloatsExact;
import static dev.graft.conformance.quant.QuantGolden.floats;
import static dev.graft.conformance.quant.QuantGolden.ints;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** q_13, q_14 (quantize through observer parameters) and fq_15 (fake-quant forward and STE mask), exactly. */
class GoldenQuantizeTest {

    @Test
    void perTensorQuantizeMatchesPytorch() throws IOException {
        JsonNode g = QuantGolden.load("q_13_quantize_per_tensor_rounding");
        int checked = 0;
        for (JsonNode c : g.get("cases")) {
            String label = c.get("label").asText();
            float scale = (float) c.get("scale").asDouble();
            int zp = c.get("zero_point").asInt();
            Tensor x = QuantGolden.tensor(c.get("input"));
            int[] expected = ints(c.get("expected"));
            float[] dequantized = floats(c.get("dequantized"));
            String dtype = c.get("dtype").asText();
            if (dtype.equals("qint32")) {
                // No qint32 observer dtype: check the shared scalar rounding with the int32 range instead.
                float[] v = x.toFloatArray();
                for (int i = 0; i < v.length; i++) {
                    int q = QuantOps.quantize(v[i], scale, zp, Integer.MIN_VALUE, Integer.MAX_VALUE);
                    assertEquals(expected[i], q, label + " element " + i);
                    assertEquals(Float.floatToIntBits(dequantized[i]),
                            Float.floatToIntBits(QuantOps.dequantize(q, scale, zp)), label + " dequantized " + i);
                }
            } else {
                QDType qd = dtype.equals("quint8") ? QDType.QUINT8 : QDType.QINT8;
                QuantizationParams p = new QuantizationParams(new float[] {scale}, new int[] {zp}, qd.min(), qd.max(),
                        qd, QScheme.PER_TENSOR_AFFINE, -1);
                Tensor q = p.quantize(x);
                assertArrayEquals(expected, toInts(q.toLongArray()), label);
                assertFloatsExact(dequantized, q.dequantize().toFloatArray(), label + " dequantized");
                assertFloatsExact(dequantized, p.fakeQuantize(x).toFloatArray(), label + " fake-quantized");
            }
            checked++;
        }
        assertEquals(g.get("cases").size(), checked);
        assertTrue(checked > 0, "the file holds cases");
    }

    @Test
    void perChannelQuantizeMatchesPytorch() throws IOException {
        JsonNode g = QuantGolden.load("q_14_quantize_per_channel");
        JsonNode in = g.get("inputs");
        QuantizationParams p = new QuantizationParams(floats(in.get("scales")), ints(in.get("zero_points")), -128, 127,
                QDType.QINT8, QScheme.PER_CHANNEL_SYMMETRIC, in.get("axis").asInt());
        Tensor w = QuantGolden.tensor(in.get("w"));
        Tensor q = p.quantize(w);
        assertArrayEquals(ints(g.get("expected").get("q").get("data")), toInts(q.toLongArray()));
        float[] dequantized = floats(g.get("expected").get("dequantized"));
        assertFloatsExact(dequantized, q.dequantize().toFloatArray(), "dequantized");
        assertFloatsExact(dequantized, p.fakeQuantize(w).toFloatArray(), "fake-quantized");
    }

    @Test
    void fakeQuantizeMatchesPytorch() throws IOException {
        JsonNode g = QuantGolden.load("fq_15_fake_quantize");
        int checked = 0;
        for (JsonNode c : g.get("cases")) {
            String op = c.get("op").asText();
            int qmin = c.get("quant_min").asInt();
            int qmax = c.get("quant_max").asInt();
            QDType dtype = qmin < 0 ? QDType.QINT8 : QDType.QUINT8;
            QuantizationParams p = c.has("scales")
                    ? new QuantizationParams(floats(c.get("scales")), ints(c.get("zero_points")), qmin, qmax, dtype,
                            QScheme.PER_CHANNEL_AFFINE, c.get("axis").asInt())
                    : new QuantizationParams(new float[] {(float) c.get("scale").asDouble()},
                            new int[] {c.get("zero_point").asInt()}, qmin, qmax, dtype, QScheme.PER_TENSOR_AFFINE, -1);
            Tensor x = QuantGolden.tensor(c.get("input"));
            float[] forward = floats(c.has("expected") ? c.get("expected") : c.get("expected_forward"));
            assertFloatsExact(forward, FakeQuantize.fakeQuantize(x, p).toFloatArray(), op + " forward");
            if (c.has("expected_grad_of_sum")) {
                Tensor ones = Tensor.ones(x.shape());
                assertFloatsExact(floats(c.get("expected_grad_of_sum")),
                        FakeQuantize.fakeQuantizeBackward(x, ones, p).toFloatArray(), op + " STE gradient");
            }
            checked++;
        }
        assertEquals(g.get("cases").size(), checked);
        assertTrue(checked > 0, "the file holds cases");
    }

    /**
     * fq_15 through the differentiable op: the forward of {@link FakeQuantize#fakeQuantize} is recorded by autograd,
     * and {@code backward(sum(fq(x)))} leaves PyTorch's STE gradient in {@code x.grad}; the module's forward
     * (observer off, the golden parameters) gives the same values.
     */
    @Test
    void fakeQuantizeThroughAutogradMatchesPytorch() throws IOException {
        dev.graft.engine.autograd.Autograd.install();
        JsonNode g = QuantGolden.load("fq_15_fake_quantize");
        int checked = 0;
        for (JsonNode c : g.get("cases")) {
            String op = c.get("op").asText();
            int qmin = c.get("quant_min").asInt();
            int qmax = c.get("quant_max").asInt();
            QDType dtype = qmin < 0 ? QDType.QINT8 : QDType.QUINT8;
            QuantizationParams p = c.has("scales")
                    ? new QuantizationParams(floats(c.get("scales")), ints(c.get("zero_points")), qmin, qmax, dtype,
                            QScheme.PER_CHANNEL_AFFINE, c.get("axis").asInt())
                    : new QuantizationParams(new float[] {(float) c.get("scale").asDouble()},
                            new int[] {c.get("zero_point").asInt()}, qmin, qmax, dtype, QScheme.PER_TENSOR_AFFINE, -1);
            Tensor x = QuantGolden.tensor(c.get("input")).contiguous();
            x.setRequiresGrad(true);
            Tensor y = FakeQuantize.fakeQuantize(x, p);
            assertFloatsExact(floats(c.has("expected") ? c.get("expected") : c.get("expected_forward")),
                    y.toFloatArray(), op + " forward");
            if (c.has("expected_grad_of_sum")) {
                dev.graft.engine.autograd.Autograd.backward(y.sum());
                assertFloatsExact(floats(c.get("expected_grad_of_sum")), x.grad().toFloatArray(),
                        op + " STE gradient through autograd");
                checked++;
            }
        }
        assertEquals(true, checked >= 1, "cases with a gradient: " + checked);
    }

    private static int[] toInts(long[] values) {
        int[] out = new int[values.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (int) values[i];
        }
        return out;
    }
}
