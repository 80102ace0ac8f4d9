package dev.graft.engine.quant;

import dev.graft.engine.Module;
import dev.graft.engine.graph.Graph;
import dev.graft.engine.graph.GraphModule;
import dev.graft.engine.graph.Node;
import dev.graft.engine.nn.AdaptiveAvgPool2d;
import dev.graft.engine.nn.AvgPool2d;
import dev.graft.engine.nn.BatchNorm2d;
import dev.graft.engine.nn.Conv2d;
import dev.graft.engine.nn.Dropout;
import dev.graft.engine.nn.Embedding;
import dev.graft.engine.nn.Flatten;
import dev.graft.engine.nn.GELU;
import dev.graft.engine.nn.Identity;
import dev.graft.engine.nn.LayerNorm;
import dev.graft.engine.nn.LeakyReLU;
import dev.graft.engine.nn.Linear;
import dev.graft.engine.nn.MaxPool2d;
import dev.graft.engine.nn.ReLU;
import dev.graft.engine.nn.SiLU;
import dev.graft.engine.nn.Sigmoid;
import dev.graft.engine.nn.Softmax;
import dev.graft.engine.nn.Tanh;
import dev.graft.engine.save.ModuleCodecs;
import dev.graft.engine.save.ModuleRecord;
import dev.graft.engine.trace.TraceConfig;
import dev.graft.ops.MathOps;
import dev.graft.ops.Op;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The rule table is the one source of the standard layers, their codecs and each operator's role. */
class QuantRulesTest {
    private static final List<Module> STANDARD_LAYERS = List.of(new Linear(3, 2, true, new Random(1)),
            new Conv2d(2, 4, 3, 1, 1), new BatchNorm2d(4), new LayerNorm(5), new Embedding(7, 3, new Random(2)),
            new Dropout(0.1f), new ReLU(), new GELU(true), new Sigmoid(), new Tanh(), new SiLU(), new LeakyReLU(0.2f),
            new Softmax(1), new MaxPool2d(2), new AvgPool2d(2), new AdaptiveAvgPool2d(1), new Flatten(), new Identity());

    @Test
    void theStandardLayersAreTheTracersDefaultLeaves() {
        Set<Class<?>> expected = new java.util.HashSet<>();
        STANDARD_LAYERS.forEach(m -> expected.add(m.getClass()));
        assertEquals(expected, Set.copyOf(QuantRules.leafLayers()));
        TraceConfig defaults = TraceConfig.defaults();
        for (Module m : STANDARD_LAYERS) {
            assertTrue(defaults.isLeaf(m, "x"), m.getClass().getSimpleName());
        }
    }

    @Test
    void everyStandardLayerSavesAndRebuildsThroughItsRule() {
        for (Module m : STANDARD_LAYERS) {
            String name = m.getClass().getSimpleName();
            ModuleRecord r = ModuleCodecs.encode(m, name);
            assertEquals(name, r.type());
            Module back = ModuleCodecs.decode(r, name);
            assertSame(m.getClass(), back.getClass());
            assertEquals(m.stateDict().keySet(), back.stateDict().keySet(), name);
            m.stateDict().forEach((k, t) -> assertArrayEquals(t.toFloatArray(), back.stateDict().get(k).toFloatArray(),
                    name + "." + k));
        }
    }

    @Test
    void anOperatorHasOneRuleForItsFunctionAndItsModule() {
        for (OpRule rule : QuantRules.all()) {
            for (Op op : rule.functions()) {
                assertSame(rule, QuantRules.forOp(op), op.name());
            }
        }
        Module gelu = new GELU();
        assertSame(QuantRules.forOp(MathOps.GELU), QuantRules.forModule(gelu));
        // A functional gelu and a gelu leaf are both INT8 (the rule's role), as one operator.
        Graph g = new Graph();
        Node x = g.placeholder("x");
        x.putMeta(dev.graft.engine.graph.Meta.DTYPE, dev.graft.ops.DType.FLOAT32);
        Node f = g.callFunction(MathOps.GELU, x);
        Node m = g.callModule("act", x);
        assertEquals(OpRule.Role.INT8, QuantRules.role(f, null));
        assertEquals(OpRule.Role.INT8, QuantRules.role(m, gelu));
        assertTrue(QuantRules.forModule(gelu).computesInFloat());
        assertTrue(QuantRules.runsInt8(new dev.graft.engine.quant.nn.QuantizedGELU(false, 0.1f, 3)));
        assertEquals(null, QuantRules.int8WeightAndBias(new dev.graft.engine.quant.nn.QuantizedGELU(false, 0.1f, 3)));
        assertTrue(QuantRules.leafLayers().stream().noneMatch(GraphModule.class::equals));
    }
}
