package dev.graft.conformance.models;

import dev.graft.Graft;
import dev.graft.GraftFile;
import dev.graft.engine.Init;
import dev.graft.engine.autograd.Autograd;
import dev.graft.engine.fuse.AttentionFusion;
import dev.graft.engine.fuse.InferenceFusions;
import dev.graft.engine.graph.Graph;
import dev.graft.engine.graph.GraphModule;
import dev.graft.engine.graph.Node;
import dev.graft.engine.graph.Target;
import dev.graft.engine.quant.QConfig;
import dev.graft.engine.quant.QConfigMapping;
import dev.graft.engine.quant.passes.DynamicQuantizer;
import dev.graft.engine.trace.Partition;
import dev.graft.engine.trace.Partitioner;
import dev.graft.models.bert.BertConfig;
import dev.graft.models.bert.BertModel;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The attention fusion on a BERT encoder (a small random one: 3 layers, hidden 24, 4 heads): every layer's
 * matmul -> div -> add mask -> softmax -> dropout -> matmul becomes one {@code attention} node, the outputs keep
 * their bits (FP32 against the eager model, dynamic INT8 against the same quantized model without the fusion), the
 * rewrite survives a save and load, and nothing is fused where it would change what runs (dropout in training mode).
 * Static INT8 fuses its two INT8 products and the float steps between them into one {@code quantized_attention}.
 */
class AttentionFusionTest {
    private static final BertConfig SMALL = BertConfig.builder().vocabSize(50).hiddenSize(24).numHiddenLayers(3)
            .numAttentionHeads(4).intermediateSize(40).maxPositionEmbeddings(40).build();

    private static BertModel model() {
        Init.manualSeed(11);
        BertModel m = new BertModel(SMALL);
        m.eval();
        return m;
    }

    /** Two sequences of 9 tokens, the second padded after 5. */
    private static Object[] batch(int width) {
        Random r = new Random(3);
        long[] ids = new long[2 * width];
        long[] mask = new long[2 * width];
        for (int i = 0; i < ids.length; i++) {
            boolean real = i < width || i - width < 5;
            ids[i] = real ? 1 + r.nextInt(49) : 0;
            mask[i] = real ? 1 : 0;
        }
        return new Object[] {Tensor.ofLongs(ids, 2, width), Tensor.ofLongs(mask, 2, width),
                Tensor.ofLongs(new long[2 * width], 2, width)};
    }

    private static float[] run(BertModel m, Object[] x) {
        try (var ignored = Autograd.noGrad()) {
            return m.lastHiddenState((Tensor) x[0], (Tensor) x[1], (Tensor) x[2]).contiguous().toFloatArray();
        }
    }

    private static long count(Partition p, String op) {
        long n = 0;
        for (GraphModule block : p.blocks().values()) {
            for (GraphModule.Specialization s : block.specializations()) {
                for (Node node : s.graph()) {
                    if (node.target() instanceof Target.Function f && f.op().name().equals(op)) {
                        n++;
                    }
                }
            }
        }
        return n;
    }

    @Test
    void fp32BlocksFuseEveryLayerAndKeepTheBits() {
        BertModel eager = model();
        BertModel fused = model();
        Partition p = Graft.optimize(fused, List.<Object[]>of(batch(9)));
        assertEquals(SMALL.numHiddenLayers(), count(p, "attention"), "one attention node per layer");
        assertEquals(0, count(p, "softmax"));
        assertEquals(0, count(p, "div"), "the scale went into the attention node");
        assertEquals(SMALL.numHiddenLayers(), count(p, "linear_gelu"), "the FFN's first linear with its GELU");
        assertEquals(2 * SMALL.numHiddenLayers() + 1, count(p, "add_layer_norm"),
                "two residual LayerNorms per layer and the embeddings' sum");
        for (int width : new int[] {9, 13, 1}) {   // other lengths: the same graph, symbolic sizes
            Object[] x = batch(width);
            assertArrayEquals(run(eager, x), run(fused, x), 0f, "width " + width);
        }
    }

    @Test
    void dynamicInt8KeepsTheBitsOfTheUnfusedGraph() {
        BertModel fusedModel = model();
        BertModel plainModel = model();
        Partition fused = Partitioner.partition(fusedModel, batch(9));
        DynamicQuantizer.quantize(fused, new QConfigMapping().global(QConfig.dynamicDefault()), false);
        Partition plain = Partitioner.partition(plainModel, batch(9));
        DynamicQuantizer.quantize(plain, new QConfigMapping().global(QConfig.dynamicDefault()), false);
        for (GraphModule block : plain.blocks().values()) {   // the same pipeline without the fusion
            List<GraphModule.GraphPass> passes = new ArrayList<>(block.pipeline());
            assertTrue(passes.removeIf(q -> q instanceof AttentionFusion || q instanceof dev.graft.engine.fuse.LayerFusion),
                    "quantizers end with the fusions");
            block.setPipeline(passes);
        }
        assertEquals(SMALL.numHiddenLayers(), count(fused, "attention"));
        assertEquals(0, count(fused, "linear_gelu"), "an INT8 linear is not an FP32 Linear");
        long gelus = 0;
        for (GraphModule block : fused.blocks().values()) {
            for (Node n : block.graph()) {
                gelus += n.target() instanceof Target.ModuleCall mc
                        && block.module(mc.path()) instanceof dev.graft.engine.nn.GELU ? 1 : 0;
            }
        }
        assertEquals(0, gelus, "each GELU went into its dynamic INT8 linear's output stage");
        assertEquals(2 * SMALL.numHiddenLayers() + 1, count(fused, "add_layer_norm"));
        assertEquals(0, count(plain, "attention"));
        Object[] x = batch(9);
        assertArrayEquals(run(plainModel, x), run(fusedModel, x), 0f);
    }

    @Test
    void staticInt8FusesItsInt8AttentionAndKeepsTheBits() {
        List<Object[]> calibration = List.of(batch(9), batch(7));
        BertModel fusedModel = model();
        BertModel plainModel = model();
        Partition fused = Partitioner.partitionWithExamples(fusedModel, calibration,
                dev.graft.engine.trace.TraceConfig.defaults());
        dev.graft.engine.quant.tune.TransformerDefaults.recipe(fused).apply(fused, calibration, null,
                dev.graft.engine.ProgressListener.NONE);
        Partition plain = Partitioner.partitionWithExamples(plainModel, calibration,
                dev.graft.engine.trace.TraceConfig.defaults());
        dev.graft.engine.quant.tune.TransformerDefaults.recipe(plain).apply(plain, calibration, null,
                dev.graft.engine.ProgressListener.NONE);
        for (GraphModule block : plain.blocks().values()) {
            List<GraphModule.GraphPass> passes = new ArrayList<>(block.pipeline());
            passes.removeIf(q -> q instanceof AttentionFusion || q instanceof dev.graft.engine.fuse.LayerFusion);
            block.setPipeline(passes);
        }
        assertEquals(SMALL.numHiddenLayers(), count(fused, "quantized_attention"), "one per layer");
        assertEquals(0, count(fused, "quantized_softmax"), "the float middle went into the INT8 attention");
        assertEquals(0, count(fused, "quantized_matmul"), "both INT8 products went into the INT8 attention");
        assertEquals(2 * SMALL.numHiddenLayers(), count(plain, "quantized_matmul"));
        assertEquals(0, count(fused, "softmax"));
        assertEquals(SMALL.numHiddenLayers(), count(plain, "softmax"));
        assertTrue(count(fused, "channel_scale_quantize") > 0, "SmoothQuant's scales went into their quantize");
        assertEquals(SMALL.numHiddenLayers(), quantizingLayers(fused),
                "each FFN's first INT8 linear quantizes the second's input in its output stage");
        assertEquals(0, quantizingLayers(plain));
        assertEquals(0, count(plain, "channel_scale_quantize"));
        for (Object[] x : List.of(batch(9), batch(4))) {
            assertArrayEquals(run(plainModel, x), run(fusedModel, x), 0f);
        }
        assertEquals(0, geluCalls(fused), "each GELU went into its float-output INT8 linear");
        assertTrue(geluCalls(plain) > 0);
    }

    /** Calls of float-output INT8 layers that quantize in their output stage (a fused channel_scale_quantize). */
    private static long quantizingLayers(Partition p) {
        long n = 0;
        for (GraphModule block : p.blocks().values()) {
            for (Node node : block.graph()) {
                n += node.target() instanceof Target.ModuleCall mc
                        && block.module(mc.path()) instanceof dev.graft.engine.quant.nn.QuantizedLeaf leaf
                        && leaf.int8().toString().contains("then channel scale and quantize") ? 1 : 0;
            }
        }
        return n;
    }

    private static long geluCalls(Partition p) {
        long gelus = 0;
        for (GraphModule block : p.blocks().values()) {
            for (Node n : block.graph()) {
                gelus += n.target() instanceof Target.ModuleCall mc
                        && block.module(mc.path()) instanceof dev.graft.engine.nn.GELU ? 1 : 0;
            }
        }
        return gelus;
    }

    @Test
    void aSavedStaticModelKeepsItsFusions(@TempDir Path dir) {
        List<Object[]> calibration = List.of(batch(9), batch(7));
        BertModel m = model();
        Partition p = Partitioner.partitionWithExamples(m, calibration, dev.graft.engine.trace.TraceConfig.defaults());
        var report = dev.graft.engine.quant.tune.TransformerDefaults.recipe(p).apply(p, calibration, null,
                dev.graft.engine.ProgressListener.NONE);
        Path file = dir.resolve("static.graft");
        GraftFile.write(file, p, java.util.Map.of("approach", "static"));
        var loaded = GraftFile.read(file);
        assertEquals(0, geluCalls(loaded.partition()));
        assertTrue(count(loaded.partition(), "channel_scale_quantize") > 0);
        assertEquals(SMALL.numHiddenLayers(), count(loaded.partition(), "quantized_attention"));
        assertEquals(SMALL.numHiddenLayers(), quantizingLayers(loaded.partition()));
        Object[] x = batch(9);
        try (var ignored = Autograd.noGrad()) {
            Object out = loaded.model().callAny(x);
            float[] got = ((dev.graft.models.bert.BertModelOutput) out).lastHiddenState().contiguous().toFloatArray();
            assertArrayEquals(run(m, x), got, 0f);
        }
        assertTrue(report.weightCompression() > 3, "shared weights of a fused layer count once: "
                + report.weightCompression());
    }

    @Test
    void aSavedDynamicModelKeepsItsFusedGelu(@TempDir Path dir) {
        BertModel m = model();
        Graft.Quantized q = Graft.quantize(m, List.<Object[]>of(batch(9)), Graft.Config.dynamic());
        Path file = dir.resolve("dyn.graft");
        q.save(file);
        Object[] x = batch(9);
        float[] want = run(m, x);
        try (var ignored = Autograd.noGrad()) {
            Object out = Graft.load(file).model().callAny(x);
            float[] got = ((dev.graft.models.bert.BertModelOutput) out).lastHiddenState().contiguous().toFloatArray();
            assertArrayEquals(want, got, 0f);
        }
    }

    @Test
    void aSavedFusedModelLoadsWithItsAttentionNodes(@TempDir Path dir) {
        BertModel m = model();
        Partition p = Graft.optimize(m, List.<Object[]>of(batch(9)));
        Path file = dir.resolve("fp32.graft");
        Graft.save(p, file);
        var loaded = GraftFile.read(file);
        long attention = 0;
        for (GraphModule block : loaded.partition().blocks().values()) {
            for (Node n : block.graph()) {
                attention += n.target() instanceof Target.Function f && f.op().name().equals("attention") ? 1 : 0;
            }
        }
        assertEquals(SMALL.numHiddenLayers(), attention);
        Object[] x = batch(9);
        float[] want = run(m, x);
        try (var ignored = Autograd.noGrad()) {
            Object out = loaded.model().callAny(x);
            float[] got = ((dev.graft.models.bert.BertModelOutput) out).lastHiddenState().contiguous().toFloatArray();
            assertArrayEquals(want, got, 0f);
        }
    }

    @Test
    void aDropoutThatWouldDropStaysUnfused() {
        BertModel m = model();
        m.train(true);
        Partition p = Partitioner.partition(m, batch(9));
        InferenceFusions.apply(p);
        assertEquals(0, count(p, "attention"), "dropout p=0.1 in training mode drops values: not fused");
        assertEquals(SMALL.numHiddenLayers(), count(p, "softmax"));
    }

    @Test
    void aScoreSomethingElseReadsStaysUnfused() {
        // A graph whose softmax output is also returned: fusing would drop a value the graph gives out.
        Graph g = new Graph();
        Node q = g.placeholder("q");
        Node k = g.placeholder("k");
        Node v = g.placeholder("v");
        Node kt = g.callFunction(dev.graft.ops.MovementOps.TRANSPOSE, k, -1, -2);
        Node s = g.callFunction(dev.graft.ops.LinalgOps.MATMUL, q, kt);
        Node p = g.callFunction(dev.graft.ops.NNOps.SOFTMAX, s, -1);
        Node o = g.callFunction(dev.graft.ops.LinalgOps.MATMUL, p, v);
        g.output(List.of(o, p));
        for (Node n : List.of(q, k, v, s, p, o)) {
            n.putMeta(dev.graft.engine.graph.Meta.SHAPE, new int[] {1, 2, 3, 3});
        }
        int before = g.size();
        new AttentionFusion().apply(null, null, g);
        assertEquals(before, g.size(), g.toString());
    }
}
