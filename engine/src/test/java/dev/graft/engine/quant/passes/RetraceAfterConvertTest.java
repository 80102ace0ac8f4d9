package dev.graft.engine.quant.passes;

import dev.graft.engine.Init;
import dev.graft.engine.graph.GraphModule;
import dev.graft.engine.graph.Node;
import dev.graft.engine.graph.Target;
import dev.graft.engine.quant.nn.QuantizedLeaf;
import dev.graft.engine.trace.Partition;
import dev.graft.engine.trace.Partitioner;
import dev.graft.ops.QuantOps;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The passes are functions of a block's FP32 source and its explicit state: a block converted at one batch size and
 * re-traced at another after convert is exactly the block that was traced at that size in the first place and
 * converted from the same calibration. Its FP32 source graphs stay as the tracer made them.
 */
class RetraceAfterConvertTest {

    @Test
    void aConvertedBlockReTracedAtANewShapeIsBitIdenticalToOneConvertedAtThatShape() {
        Init.manualSeed(3);
        StaticQuantizerTest.Chain first = new StaticQuantizerTest.Chain();
        StaticQuantizerTest.Chain other = new StaticQuantizerTest.Chain();
        other.loadStateDict(first.stateDict());
        Random rng = new Random(8);
        List<Object[]> calibration = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            calibration.add(new Object[] {Tensor.randn(rng, 4, 8).mul(1.5f)});
        }
        Tensor x = Tensor.randn(rng, 3, 8).mul(2f);

        // Traced at batch 4, converted, then called at batch 3: a re-trace after convert.
        Partition p = Partitioner.partition(first, Tensor.randn(rng, 4, 8));
        GraphModule block = (GraphModule) p.model();
        String sourceBefore = block.specializations().get(0).source().toString();
        StaticQuantizer.Prepared prepared = StaticQuantizer.prepare(p, StaticQuantizer.defaultMapping());
        StaticQuantizer.calibrate(prepared, calibration, (d, t, m) -> { });
        StaticQuantizer.convert(prepared);
        assertInstanceOf(QuantizedLeaf.class, block.module("l1"), "convert replaced the layers");
        float[] got = p.model().call(x).toFloatArray();
        assertEquals(2, block.specializations().size(), "batch 3 was traced after convert");

        // Traced at batch 3 from the start (re-traced at 4 while calibrating), converted from the same data.
        Partition q = Partitioner.partition(other, x);
        StaticQuantizer.Prepared prepared2 = StaticQuantizer.prepare(q, StaticQuantizer.defaultMapping());
        StaticQuantizer.calibrate(prepared2, calibration, (d, t, m) -> { });
        StaticQuantizer.convert(prepared2);
        float[] want = q.model().call(x).toFloatArray();

        assertArrayEquals(bits(want), bits(got), "the re-traced block computes what the directly traced one does");
        GraphModule.Specialization retraced = block.specializations().get(1);
        GraphModule.Specialization direct = ((GraphModule) q.model()).specializations().get(0);
        assertEquals(direct.source().toString(), retraced.source().toString(), "the same FP32 trace");
        assertEquals(direct.graph().toString(), retraced.graph().toString(), "the same converted graph");

        // The sources are the FP32 traces: untouched by fusion, observers or convert.
        assertEquals(sourceBefore, block.specializations().get(0).source().toString());
        for (GraphModule.Specialization s : block.specializations()) {
            assertTrue(s.source().nodes().stream().noneMatch(n -> isQuantize(n) || isObserver(n)), s.source().toString());
            assertTrue(s.graph().nodes().stream().anyMatch(RetraceAfterConvertTest::isQuantize), s.graph().toString());
            assertFalse(s.graph().nodes().stream().anyMatch(RetraceAfterConvertTest::isObserver), s.graph().toString());
        }
    }

    private static boolean isQuantize(Node n) {
        return n.target() instanceof Target.Function f && f.op() == QuantOps.QUANTIZE_PER_TENSOR;
    }

    private static boolean isObserver(Node n) {
        return n.target() instanceof Target.ModuleCall mc && mc.path().startsWith("observer_");
    }

    private static int[] bits(float[] v) {
        int[] out = new int[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = Float.floatToRawIntBits(v[i]);
        }
        return out;
    }
}
