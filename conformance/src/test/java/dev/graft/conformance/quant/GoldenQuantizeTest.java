package dev.graft.conformance.quant;

import com.fasterxml.jackson.databind.JsonNode;
import dev.graft.engine.quant.QDType;
import dev.graft.engine.quant.QScheme;
import dev.graft.engine.quant.QuantSpec;
import dev.graft.ops.QParams;
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
                QuantSpec spec = QuantSpec.ofRange(qd, QScheme.PER_TENSOR_AFFINE, false, qd.min(), qd.max());
                QParams p = new QParams.PerTensor(scale, zp);
                Tensor q = spec.quantize(x, p);
                assertArrayEquals(expected, toInts(q.toLongArray()), label);
                assertFloatsExact(dequantized, q.dequantize().toFloatArray(), label + " dequantized");
                assertFloatsExact(dequantized, spec.fakeQuantize(x, p).toFloatArray(), label + " fake-quantized");
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
        QuantSpec spec = QuantSpec.ofRange(QDType.QINT8, QScheme.PER_CHANNEL_SYMMETRIC, false, -128, 127);
        QParams p = new QParams.PerChannel(floats(in.get("scales")), ints(in.get("zero_points")),
                in.get("axis").asInt());
        Tensor w = QuantGolden.tensor(in.get("w"));
        Tensor q = spec.quantize(w, p);
        assertArrayEquals(ints(g.get("expected").get("q").get("data")), toInts(q.toLongArray()));
        float[] dequantized = floats(g.get("expected").get("dequantized"));
        assertFloatsExact(dequantized, q.dequantize().toFloatArray(), "dequantized");
        assertFloatsExact(dequantized, spec.fakeQuantize(w, p).toFloatArray(), "fake-quantized");
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
            QuantSpec spec = QuantSpec.ofRange(dtype, c.has("scales") ? QScheme.PER_CHANNEL_AFFINE
                    : QScheme.PER_TENSOR_AFFINE, false, qmin, qmax);
            QParams p = c.has("scales")
                    ? new QParams.PerChannel(floats(c.get("scales")), ints(c.get("zero_points")), c.get("axis").asInt())
                    : new QParams.PerTensor((float) c.get("scale").asDouble(), c.get("zero_point").asInt());
            Tensor x = QuantGolden.tensor(c.get("input"));
            float[] forward = floats(c.has("expected") ? c.get("expected") : c.get("expected_forward"));
            assertFloatsExact(forward, spec.fakeQuantize(x, p).toFloatArray(), op + " forward");
            if (c.has("expected_grad_of_sum")) {
                Tensor ones = Tensor.ones(x.shape());
                assertFloatsExact(floats(c.get("expected_grad_of_sum")),
                        spec.fakeQuantizeBackward(x, ones, p).toFloatArray(), op + " STE gradient");
            }
            checked++;
        }
        assertEquals(g.get("cases").size(), checked);
        assertTrue(checked > 0, "the file holds cases");
    }

    /**
     * fq_15 through the differentiable op: the forward of {@link QuantSpec#fakeQuantize} is recorded by autograd,
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
            QuantSpec spec = QuantSpec.ofRange(dtype, c.has("scales") ? QScheme.PER_CHANNEL_AFFINE
                    : QScheme.PER_TENSOR_AFFINE, false, qmin, qmax);
            QParams p = c.has("scales")
                    ? new QParams.PerChannel(floats(c.get("scales")), ints(c.get("zero_points")), c.get("axis").asInt())
                    : new QParams.PerTensor((float) c.get("scale").asDouble(), c.get("zero_point").asInt());
            Tensor x = QuantGolden.tensor(c.get("input")).contiguous();
            x.setRequiresGrad(true);
            Tensor y = spec.fakeQuantize(x, p);
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
