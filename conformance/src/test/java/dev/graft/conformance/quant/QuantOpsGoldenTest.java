package dev.graft.conformance.quant;

import dev.graft.conformance.SharedData;
import dev.graft.engine.io.Json;
import dev.graft.ops.DType;
import dev.graft.ops.QParams;
import dev.graft.ops.QuantOps;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The ops layer's quantize and dequantize (scalar functions and quantized tensors) against PyTorch 1.13.1's own
 * answers (the vendored goldens, see their README): exact integers, exact dequantized floats.
 */
class QuantOpsGoldenTest {

    private static Object golden(String file) throws IOException {
        return Json.parse(Files.readAllBytes(SharedData.golden(file)));
    }

    private static DType dtypeOf(String torchName) {
        return switch (torchName) {
            case "quint8", "uint8" -> DType.UINT8;
            case "qint8", "int8" -> DType.INT8;
            default -> null; // qint32: no Graft tensor dtype; checked through the scalar functions
        };
    }

    @Test
    void perTensorRounding() throws IOException {
        Object root = golden("q_13_quantize_per_tensor_rounding.json");
        List<Object> cases = MiniJson.list(root, "cases");
        int checked = 0;
        int eightBit = 0;
        for (Object c : cases) {
            String label = (String) MiniJson.get(c, "label");
            Object input = MiniJson.get(c, "input");
            float[] x = MiniJson.floats(MiniJson.list(input, "data"));
            int[] shape = MiniJson.ints(MiniJson.list(input, "shape"));
            float scale = (float) MiniJson.number(c, "scale"); // kernels use float(scale)
            int zp = (int) MiniJson.number(c, "zero_point");
            long[] expected = MiniJson.longs(MiniJson.list(c, "expected"));
            float[] dequantized = MiniJson.floats(MiniJson.list(c, "dequantized"));
            DType dtype = dtypeOf((String) MiniJson.get(c, "dtype"));

            // The scalar functions, with the range of the case's dtype.
            long qmin = dtype != null ? dtype.minValue() : Integer.MIN_VALUE;
            long qmax = dtype != null ? dtype.maxValue() : Integer.MAX_VALUE;
            for (int i = 0; i < x.length; i++) {
                int q = QuantOps.quantize(x[i], scale, zp, (int) qmin, (int) qmax);
                assertEquals(expected[i], q, label + " element " + i + " (x = " + x[i] + ")");
                assertEquals(dequantized[i], QuantOps.dequantize(q, scale, zp), label + " dequantized " + i);
            }
            if (dtype == null) {
                continue;
            }
            eightBit++;
            // The tensor ops.
            Tensor q = Tensor.of(x, shape).quantize(scale, zp, dtype);
            assertEquals(dtype, q.dtype(), label);
            assertEquals(new QParams.PerTensor(scale, zp), q.qparams(), label);
            assertArrayEquals(expected, q.toLongArray(), label);
            assertArrayEquals(dequantized, q.dequantize().toFloatArray(), label);
            checked++;
        }
        assertEquals(eightBit, checked, "every 8-bit case went through the tensor ops");
        assertTrue(checked > 0 && cases.size() > checked, "the file holds 8-bit cases and a wider one");
    }

    @Test
    void perChannel() throws IOException {
        Object root = golden("q_14_quantize_per_channel.json");
        Map<String, Object> inputs = MiniJson.obj(root, "inputs");
        Object w = MiniJson.get(inputs, "w");
        float[] x = MiniJson.floats(MiniJson.list(w, "data"));
        int[] shape = MiniJson.ints(MiniJson.list(w, "shape"));
        float[] scales = MiniJson.floats(MiniJson.list(inputs, "scales"));
        int[] zps = MiniJson.ints(MiniJson.list(inputs, "zero_points"));
        int axis = (int) MiniJson.number(inputs, "axis");
        Map<String, Object> expected = MiniJson.obj(root, "expected");
        Object eq = MiniJson.get(expected, "q");
        long[] q = MiniJson.longs(MiniJson.list(eq, "data"));
        float[] dequantized = MiniJson.floats(MiniJson.list(expected, "dequantized"));
        assertEquals(DType.INT8, dtypeOf((String) MiniJson.get(eq, "dtype")));

        Tensor wt = Tensor.of(x, shape);
        Tensor qt = wt.quantizePerChannel(scales, zps, axis, DType.INT8);
        assertEquals(new QParams.PerChannel(MiniJson.floats(MiniJson.list(eq, "scales")),
                MiniJson.ints(MiniJson.list(eq, "zero_points")), (int) MiniJson.number(eq, "axis")), qt.qparams());
        assertArrayEquals(q, qt.toLongArray());
        assertArrayEquals(dequantized, qt.dequantize().toFloatArray());

        // The same weights stored transposed and quantized along axis 1 give the transposed answer.
        Tensor qTransposed = wt.t().contiguous().quantizePerChannel(scales, zps, 1, DType.INT8);
        Tensor back = qTransposed.t();
        assertEquals(qt.qparams(), back.qparams());
        assertArrayEquals(q, back.toLongArray());
        assertArrayEquals(dequantized, back.dequantize().toFloatArray());
        // ... and so does quantizing a transposed view directly.
        assertArrayEquals(q, wt.t().quantizePerChannel(scales, zps, -1, DType.INT8).t().toLongArray());
    }

    /** Typed access to the parsed golden documents (numbers read as double, then cast: exact for these files). */
    private static final class MiniJson {
        @SuppressWarnings("unchecked")
        static Map<String, Object> obj(Object o, String key) {
            return (Map<String, Object>) get(o, key);
        }

        @SuppressWarnings("unchecked")
        static List<Object> list(Object o, String key) {
            return (List<Object>) get(o, key);
        }

        @SuppressWarnings("unchecked")
        static Object get(Object o, String key) {
            Object v = ((Map<String, Object>) o).get(key);
            if (v == null) {
                throw new IllegalArgumentException("golden JSON: no key " + key);
            }
            return v;
        }

        static double number(Object o, String key) {
            return ((Number) get(o, key)).doubleValue();
        }

        static float[] floats(List<Object> l) {
            float[] f = new float[l.size()];
            for (int i = 0; i < f.length; i++) {
                f[i] = (float) ((Number) l.get(i)).doubleValue();
            }
            return f;
        }

        static long[] longs(List<Object> l) {
            long[] v = new long[l.size()];
            for (int i = 0; i < v.length; i++) {
                if (!(l.get(i) instanceof Integer || l.get(i) instanceof Long)) {
                    throw new IllegalArgumentException("golden JSON: " + l.get(i) + " is not an integer");
                }
                v[i] = ((Number) l.get(i)).longValue();
            }
            return v;
        }

        static int[] ints(List<Object> l) {
            long[] v = longs(l);
            int[] out = new int[v.length];
            for (int i = 0; i < v.length; i++) {
                out[i] = Math.toIntExact(v[i]);
            }
            return out;
        }
    }
}
