package dev.graft.models.bert;

import dev.graft.engine.Init;
import dev.graft.engine.Module;
import dev.graft.engine.StateDictException;
import dev.graft.engine.io.FormatException;
import dev.graft.engine.nn.Linear;
import dev.graft.formats.onnx.OnnxAttribute;
import dev.graft.formats.onnx.OnnxGraph;
import dev.graft.formats.onnx.OnnxModel;
import dev.graft.formats.onnx.OnnxNode;
import dev.graft.formats.onnx.OnnxOpset;
import dev.graft.formats.onnx.OnnxReader;
import dev.graft.formats.onnx.OnnxStateDict;
import dev.graft.formats.onnx.OnnxTensor;
import dev.graft.formats.onnx.OnnxWriter;
import dev.graft.ops.DType;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The ONNX-to-state-dict mapping on a small BERT exported the way PyTorch exports all-MiniLM-L6-v2: named biases and
 * norms, anonymous transposed MatMul weights whose reader's node name gives the module path.
 */
class MiniLmLoaderTest {
    static final BertConfig SMALL = new BertConfig(40, 16, 2, 4, 24, 16, 2, 1e-12f, 0.1f, 0.1f, 2);

    /** An ONNX model holding {@code model}'s weights as the PyTorch exporter lays them out (no real graph). */
    static OnnxModel export(BertModel model, Predicate<String> keep) {
        Map<String, Module> modules = model.namedModules();
        List<OnnxTensor> inits = new ArrayList<>();
        List<OnnxNode> nodes = new ArrayList<>();
        nodes.add(constant("/encoder/layer.0/attention/self/Constant_12_output_0", (float) Math.sqrt(4)));
        nodes.add(new OnnxNode("/encoder/layer.0/attention/self/Div", "Div", "",
                List.of("/encoder/layer.0/attention/self/MatMul_output_0",
                        "/encoder/layer.0/attention/self/Constant_12_output_0"), List.of("scores"), Map.of()));
        nodes.add(constant("/embeddings/LayerNorm/Constant_1_output_0", 1e-12f));
        nodes.add(new OnnxNode("/embeddings/LayerNorm/Add", "Add", "",
                List.of("/embeddings/LayerNorm/ReduceMean_1_output_0", "/embeddings/LayerNorm/Constant_1_output_0"),
                List.of("var_eps"), Map.of()));
        int anonymous = 700;
        for (Map.Entry<String, Tensor> e : model.stateDict().entrySet()) {
            String key = e.getKey();
            if (!keep.test(key)) {
                continue;
            }
            Tensor t = e.getValue();
            String owner = key.substring(0, key.lastIndexOf('.'));
            if (key.endsWith(".weight") && modules.get(owner) instanceof Linear) {
                String name = "onnx::MatMul_" + anonymous++;
                Tensor transposed = t.t().contiguous();
                inits.add(OnnxTensor.ofFloats(name, transposed.toFloatArray(), t.size(1), t.size(0)));
                String path = "/" + owner.replace('.', '/');
                nodes.add(new OnnxNode(path + "/MatMul", "MatMul", "", List.of(path + "_in", name),
                        List.of(path + "/MatMul_output_0"), Map.of()));
            } else if (t.dtype() == DType.INT64) {
                inits.add(OnnxTensor.ofLongs(key, t.toLongArray(), toLongs(t.shape())));
            } else {
                inits.add(OnnxTensor.ofFloats(key, t.toFloatArray(), toLongs(t.shape())));
            }
        }
        OnnxGraph graph = new OnnxGraph("torch_jit", nodes, inits, List.of(), List.of(), List.of());
        return new OnnxModel(6, "pytorch", "2.0.1", "", 0, "", List.of(new OnnxOpset("", 11)), graph);
    }

    static OnnxNode constant(String output, float value) {
        return new OnnxNode(output.replace("_output_0", ""), "Constant", "", List.of(), List.of(output),
                Map.of("value", OnnxAttribute.ofTensor("value", OnnxTensor.ofFloats("", new float[] {value}))));
    }

    static long[] toLongs(int[] shape) {
        long[] out = new long[shape.length];
        for (int i = 0; i < shape.length; i++) {
            out[i] = shape[i];
        }
        return out;
    }

    @Test
    void loadsEveryWeightUnderItsHuggingFaceNameAndComputesTheSame() {
        Init.manualSeed(9);
        BertModel original = new BertModel(SMALL);
        original.eval();
        // Through the file format and back, as the real model is loaded.
        OnnxModel onnx = OnnxReader.read(OnnxWriter.write(export(original, k -> true)));
        BertModel loaded = MiniLm.load(onnx, null);
        assertEquals(SMALL.withNumLabels(2), loaded.config());
        Tensor ids = Tensor.ofLongs(new long[] {1, 5, 9, 2, 1, 7, 2, 0}, 2, 4);
        Tensor mask = Tensor.ofLongs(new long[] {1, 1, 1, 1, 1, 1, 1, 0}, 2, 4);
        assertArrayEquals(original.lastHiddenState(ids, mask, null).toFloatArray(),
                loaded.lastHiddenState(ids, mask, null).toFloatArray(), 0f);
        Map<String, Tensor> state = OnnxStateDict.fromGraph(onnx.graph(), null);
        assertArrayEquals(new int[] {24, 16}, state.get("encoder.layer.1.intermediate.dense.weight").shape());
    }

    @Test
    void aMissingInitializerIsReportedNotSilentlyLeftRandom() {
        BertModel original = new BertModel(SMALL);
        OnnxModel onnx = export(original, k -> !k.equals("encoder.layer.1.output.LayerNorm.bias"));
        // A FormatException (naming the file, here none) whose cause is the state dict's own report.
        FormatException e = assertThrows(FormatException.class, () -> MiniLm.load(onnx, null));
        assertTrue(e.getMessage().contains("encoder.layer.1.output.LayerNorm.bias"), e.getMessage());
        assertTrue(e.getCause() instanceof StateDictException, String.valueOf(e.getCause()));
    }

    /**
     * A position id outside the position table (found by the fuzzer: one byte of the INT64 buffer changed) loaded,
     * then failed at the first call inside the embedding lookup; it is refused at load, naming the initializer.
     */
    @Test
    void positionIdsOutsideThePositionTableAreRefusedAtLoad() {
        BertModel original = new BertModel(SMALL);
        OnnxModel onnx = export(original, k -> true);
        List<OnnxTensor> inits = new ArrayList<>();
        for (OnnxTensor t : onnx.graph().initializers()) {
            if (t.name().equals("embeddings.position_ids")) {
                long[] ids = original.stateDict().get("embeddings.position_ids").toLongArray();
                ids[2] = 32514;
                t = OnnxTensor.ofLongs(t.name(), ids, t.dims());
            }
            inits.add(t);
        }
        OnnxGraph g = onnx.graph();
        OnnxModel edited = new OnnxModel(onnx.irVersion(), onnx.producerName(), onnx.producerVersion(),
                onnx.domain(), onnx.modelVersion(), onnx.docString(), onnx.opsets(),
                new OnnxGraph(g.name(), g.nodes(), inits, g.inputs(), g.outputs(), g.valueInfos()));
        FormatException e = assertThrows(FormatException.class, () -> MiniLm.load(edited, Path.of("m.onnx")));
        assertTrue(e.getMessage().startsWith("m.onnx: initializer 'embeddings.position_ids' holds 32514 at element 2"),
                e.getMessage());
    }

    @Test
    void anAnonymousWeightWithoutANamedMatMulIsAFormatException() {
        OnnxModel onnx = export(new BertModel(SMALL), k -> true);
        List<OnnxNode> nodes = new ArrayList<>(onnx.graph().nodes());
        OnnxNode first = nodes.stream().filter(n -> n.opType().equals("MatMul")).findFirst().orElseThrow();
        nodes.set(nodes.indexOf(first), new OnnxNode("MatMul_17", "MatMul", "", first.inputs(), first.outputs(),
                Map.of()));
        OnnxGraph g = onnx.graph();
        OnnxGraph renamed = new OnnxGraph(g.name(), nodes, g.initializers(), g.inputs(), g.outputs(), g.valueInfos());
        FormatException e = assertThrows(FormatException.class, () -> OnnxStateDict.fromGraph(renamed, null));
        assertTrue(e.getMessage().contains("onnx::MatMul_"), e.getMessage());
    }
}
