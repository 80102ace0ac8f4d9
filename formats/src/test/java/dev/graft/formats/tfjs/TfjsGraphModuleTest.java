package dev.graft.formats.tfjs;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.graft.engine.graph.Graph;
import dev.graft.engine.graph.Target;
import dev.graft.engine.io.FormatException;
import dev.graft.ops.F;
import dev.graft.ops.NNPoolOps;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Small hand-written TensorFlow.js graphs, checked against plain-loop references of TensorFlow's semantics. */
class TfjsGraphModuleTest {

    /** Builds model.json + one shard in memory. */
    static final class GraphBuilder {
        final ObjectMapper mapper = new ObjectMapper();
        final ObjectNode root = mapper.createObjectNode();
        final ArrayNode nodes;
        final ArrayNode weights;
        final ByteArrayOutputStream bin = new ByteArrayOutputStream();

        GraphBuilder() {
            root.put("format", "graph-model");
            nodes = root.putObject("modelTopology").putArray("node");
            ObjectNode group = root.putArray("weightsManifest").addObject();
            group.putArray("paths").add("w.bin");
            weights = group.putArray("weights");
        }

        ObjectNode node(String name, String op, String... inputs) {
            ObjectNode n = nodes.addObject();
            n.put("name", name).put("op", op);
            ArrayNode in = n.putArray("input");
            for (String i : inputs) {
                in.add(i);
            }
            n.putObject("attr");
            return n;
        }

        GraphBuilder placeholder(String name) {
            node(name, "Placeholder");
            return this;
        }

        GraphBuilder ints(String name, int[] values, int... shape) {
            node(name, "Const");
            ObjectNode w = spec(name, "int32", shape);
            ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
            for (int v : values) {
                b.putInt(v);
            }
            bin.writeBytes(b.array());
            assertEquals(w.get("name").asText(), name);
            return this;
        }

        GraphBuilder float16(String name, float[] values, int... shape) {
            node(name, "Const");
            ObjectNode w = spec(name, "float32", shape);
            w.putObject("quantization").put("dtype", "float16").put("original_dtype", "float32");
            ByteBuffer b = ByteBuffer.allocate(2 * values.length).order(ByteOrder.LITTLE_ENDIAN);
            for (float v : values) {
                b.putShort(Float.floatToFloat16(v));
            }
            bin.writeBytes(b.array());
            return this;
        }

        GraphBuilder uint8(String name, int[] q, float min, float scale, int... shape) {
            node(name, "Const");
            ObjectNode w = spec(name, "float32", shape);
            w.putObject("quantization").put("dtype", "uint8").put("min", min).put("scale", scale);
            for (int v : q) {
                bin.write(v);
            }
            return this;
        }

        private ObjectNode spec(String name, String dtype, int... shape) {
            ObjectNode w = weights.addObject();
            w.put("name", name).put("dtype", dtype);
            ArrayNode s = w.putArray("shape");
            for (int d : shape) {
                s.add(d);
            }
            return w;
        }

        static void attrS(ObjectNode n, String key, String value) {
            ((ObjectNode) n.get("attr")).putObject(key).put("s",
                    Base64.getEncoder().encodeToString(value.getBytes(StandardCharsets.UTF_8)));
        }

        static void attrList(ObjectNode n, String key, int... values) {
            ArrayNode a = ((ObjectNode) n.get("attr")).putObject(key).putObject("list").putArray("i");
            for (int v : values) {
                a.add(String.valueOf(v));
            }
        }

        Path write(Path dir) throws Exception {
            Files.write(dir.resolve("w.bin"), bin.toByteArray());
            Path json = dir.resolve("model.json");
            Files.writeString(json, mapper.writeValueAsString(root));
            return json;
        }
    }

    static float[] ramp(int n, float step, float start) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = start + step * i;
        }
        return v;
    }

    /** TensorFlow Conv2D, NHWC x HWIO, SAME padding (odd pixel after), plain loops. */
    static float[] conv2dNhwcSame(float[] x, int h, int w, int c, float[] f, int kh, int kw, int oc, int stride,
                                  float[] bias, float alpha, int[] outHw) {
        int oh = (h + stride - 1) / stride;
        int ow = (w + stride - 1) / stride;
        int padTop = Math.max((oh - 1) * stride + kh - h, 0) / 2;
        int padLeft = Math.max((ow - 1) * stride + kw - w, 0) / 2;
        float[] out = new float[oh * ow * oc];
        for (int y = 0; y < oh; y++) {
            for (int xx = 0; xx < ow; xx++) {
                for (int o = 0; o < oc; o++) {
                    double s = bias[o];
                    for (int i = 0; i < kh; i++) {
                        for (int j = 0; j < kw; j++) {
                            int iy = y * stride + i - padTop;
                            int ix = xx * stride + j - padLeft;
                            if (iy < 0 || ix < 0 || iy >= h || ix >= w) {
                                continue;
                            }
                            for (int ci = 0; ci < c; ci++) {
                                s += x[(iy * w + ix) * c + ci] * f[((i * kw + j) * c + ci) * oc + o];
                            }
                        }
                    }
                    float v = (float) s;
                    out[(y * ow + xx) * oc + o] = v < 0 ? v * alpha : v;
                }
            }
        }
        outHw[0] = oh;
        outHw[1] = ow;
        return out;
    }

    @Test
    void convolutionSplitSigmoidAndFoldedReshapeMatchTensorFlowSemantics(@TempDir Path dir) throws Exception {
        GraphBuilder g = new GraphBuilder();
        g.placeholder("x");
        float[] filter = ramp(3 * 3 * 2 * 3, 0.125f, -3f); // multiples of 1/8: exact in float16
        g.float16("filter", filter, 3, 3, 2, 3);
        g.uint8("bias", new int[] {0, 10, 255}, -1f, 0.02f, 3);
        ObjectNode conv = g.node("conv", "Conv2D", "x", "filter");
        GraphBuilder.attrS(conv, "padding", "SAME");
        GraphBuilder.attrS(conv, "data_format", "NHWC");
        GraphBuilder.attrList(conv, "strides", 1, 2, 2, 1);
        g.node("biased", "BiasAdd", "conv", "bias");
        ObjectNode act = g.node("act", "LeakyRelu", "biased");
        ((ObjectNode) act.get("attr")).putObject("alpha").put("f", 0.25);
        g.ints("sizes", new int[] {1, -1}, 2);
        g.ints("dim", new int[] {3});
        ObjectNode split = g.node("split", "SplitV", "act", "sizes", "dim");
        ((ObjectNode) split.get("attr")).putObject("num_split").put("i", "2");
        g.node("sig", "Sigmoid", "split");
        // onnx-tf's shape arithmetic: [1, -1] + SparseToDense(no indices, [2], [], 0)
        g.ints("base", new int[] {1, -1}, 2);
        g.ints("where", new int[0], 0, 1);
        g.ints("dense_shape", new int[] {2}, 1);
        g.ints("gather", new int[0], 0);
        g.ints("zero", new int[] {0});
        g.node("sparse", "SparseToDense", "where", "dense_shape", "gather", "zero");
        g.node("shape", "AddV2", "base", "sparse");
        g.node("flat", "Reshape", "sig", "shape");
        g.node("rest", "Identity", "split:1");
        ObjectNode sig = (ObjectNode) g.root.putObject("signature");
        sig.putObject("inputs").putObject("x:0").put("name", "x:0");
        ObjectNode outs = sig.putObject("outputs");
        outs.putObject("flat:0").put("name", "flat:0");
        outs.putObject("rest:0").put("name", "rest:0");
        TfjsGraphModule m = TfjsGraphModule.load(g.write(dir));

        assertEquals(List.of("x"), m.inputNames());
        assertEquals(List.of("flat", "rest"), m.outputNames());
        // Conv filter stored OIHW, bias from uint8 (min + scale * q)
        assertArrayEquals(new int[] {3, 2, 3, 3}, m.stateDict().get("filter").shape());
        assertArrayEquals(new float[] {-1f, -0.8f, 4.1f}, m.stateDict().get("bias").toFloatArray(), 1e-6f);

        int h = 6;
        int w = 5;
        float[] x = ramp(h * w * 2, 0.37f, -9f);
        Tensor[] out = (Tensor[]) m.callAny(Tensor.of(x, 1, h, w, 2));
        int[] hw = new int[2];
        float[] ref = conv2dNhwcSame(x, h, w, 2, filter, 3, 3, 3, 2, new float[] {-1f, -0.8f, 4.1f}, 0.25f, hw);
        assertArrayEquals(new int[] {3, 3}, hw);
        int cells = hw[0] * hw[1];
        float[] sigRef = new float[cells];
        float[] restRef = new float[cells * 2];
        for (int i = 0; i < cells; i++) {
            sigRef[i] = (float) (1 / (1 + Math.exp(-ref[i * 3])));
            restRef[2 * i] = ref[i * 3 + 1];
            restRef[2 * i + 1] = ref[i * 3 + 2];
        }
        assertArrayEquals(new int[] {1, cells}, out[0].shape());
        assertArrayEquals(sigRef, out[0].toFloatArray(), 1e-5f);
        assertArrayEquals(new int[] {1, 3, 3, 2}, out[1].shape());
        assertArrayEquals(restRef, out[1].toFloatArray(), 1e-4f);
        // Folded integer nodes are not steps.
        assertEquals(Map.of("BiasAdd", 1, "Conv2D", 1, "Identity", 1, "LeakyRelu", 1, "Reshape", 1, "Sigmoid", 1,
                "SplitV", 1), m.stepCounts());
    }

    @Test
    void transposePadPoolResizeAndConcat(@TempDir Path dir) throws Exception {
        GraphBuilder g = new GraphBuilder();
        g.placeholder("x"); // NCHW [1, 2, 4, 4]
        g.ints("to_nhwc", new int[] {0, 2, 3, 1}, 4);
        g.ints("to_nchw", new int[] {0, 3, 1, 2}, 4);
        g.ints("pads", new int[] {0, 0, 0, 0, 1, 1, 1, 1}, 4, 2);
        g.float16("neg_inf", new float[] {Float.NEGATIVE_INFINITY});
        g.ints("size", new int[] {4, 4}, 2);
        g.ints("axis", new int[] {1});
        g.node("padded", "PadV2", "x", "pads", "neg_inf");
        g.node("nhwc", "Transpose", "padded", "to_nhwc");
        ObjectNode pool = g.node("pool", "MaxPool", "nhwc");
        GraphBuilder.attrList(pool, "ksize", 1, 3, 3, 1);
        GraphBuilder.attrList(pool, "strides", 1, 2, 2, 1);
        GraphBuilder.attrS(pool, "padding", "VALID");
        ObjectNode resize = g.node("resize", "ResizeBilinear", "pool", "size");
        ((ObjectNode) resize.get("attr")).putObject("half_pixel_centers").put("b", true);
        ((ObjectNode) resize.get("attr")).putObject("align_corners").put("b", false);
        g.node("back", "Transpose", "resize", "to_nchw");
        ObjectNode cat = g.node("cat", "ConcatV2", "back", "x", "axis");
        ((ObjectNode) cat.get("attr")).putObject("N").put("i", "2");
        TfjsGraphModule m = TfjsGraphModule.load(g.write(dir));
        assertEquals(List.of("cat"), m.outputNames(), "outputs default to the sinks");

        Tensor x = Tensor.of(ramp(32, 1f, -16f), 1, 2, 4, 4);
        Tensor y = m.call(x);
        Tensor pooled = F.maxPool2d(x, 3, 2, 1); // PadV2(-inf) + VALID pool = padded pool
        Tensor expected = F.cat(new Tensor[] {F.upsampleBilinear(pooled, new int[] {4, 4}, false), x}, 1);
        assertArrayEquals(new int[] {1, 4, 4, 4}, y.shape());
        assertArrayEquals(expected.toFloatArray(), y.toFloatArray(), 1e-6f);

        // The import runs as a Graft graph on the engine's interpreter, one graph per input shape family.
        assertEquals(1, m.graphs().size());
        Graph graph = m.graphs().get(0).graph();
        assertTrue(graph.nodes().stream().anyMatch(n -> n.target() instanceof Target.Function f
                && f.op() == NNPoolOps.MAX_POOL2D), graph.toString());
        Tensor two = Tensor.of(ramp(64, 0.5f, -9f), 2, 2, 4, 4);
        Tensor pooled2 = F.maxPool2d(two, 3, 2, 1);
        Tensor expected2 = F.cat(new Tensor[] {F.upsampleBilinear(pooled2, new int[] {4, 4}, false), two}, 1);
        assertArrayEquals(expected2.toFloatArray(), m.call(two).toFloatArray(), 1e-6f);
        assertEquals(1, m.graphs().size(), "the program reads no size: one graph serves every batch");
    }

    @Test
    void unsupportedOpsAreReportedTogether(@TempDir Path dir) throws Exception {
        GraphBuilder g = new GraphBuilder();
        g.placeholder("x");
        g.ints("size", new int[] {4, 4}, 2);
        g.node("a", "Erfinv", "x");
        g.node("b", "Erfinv", "a");
        g.node("c", "ResizeBilinear", "b", "size");
        UnsupportedOpException e = assertThrows(UnsupportedOpException.class,
                () -> TfjsGraphModule.load(g.write(dir)));
        assertEquals(List.of("a", "b"), e.nodesByOp().get("Erfinv"));
        assertTrue(e.getMessage().contains("Erfinv (2 nodes: a, b)"), e.getMessage());
        assertTrue(e.getMessage().contains("legacy"), e.getMessage());
        assertTrue(e.getMessage().contains("Supported: Add"), e.getMessage());
    }

    @Test
    void shardProblemsAreFormatExceptions(@TempDir Path dir) throws Exception {
        GraphBuilder g = new GraphBuilder();
        g.placeholder("x");
        g.float16("w", new float[] {1, 2, 3, 4}, 4);
        g.node("y", "Mul", "x", "w");
        Path json = g.write(dir);
        byte[] bin = Files.readAllBytes(dir.resolve("w.bin"));
        for (int len = 0; len < bin.length; len++) {
            Files.write(dir.resolve("w.bin"), Arrays.copyOf(bin, len));
            FormatException e = assertThrows(FormatException.class, () -> TfjsGraph.read(json));
            assertTrue(e.getMessage().contains("truncated"), e.getMessage());
        }
        Files.write(dir.resolve("w.bin"), Arrays.copyOf(bin, bin.length + 2));
        assertTrue(assertThrows(FormatException.class, () -> TfjsGraph.read(json)).getMessage().contains("hold"));
        Files.delete(dir.resolve("w.bin"));
        assertTrue(assertThrows(FormatException.class, () -> TfjsGraph.read(json)).getMessage().contains("not found"));
        Files.writeString(json, "{\"modelTopology\": {\"node\": [");
        assertTrue(assertThrows(FormatException.class, () -> TfjsGraph.read(json)).getMessage().contains("malformed"));
    }
}
