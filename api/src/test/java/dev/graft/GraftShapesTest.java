package dev.graft;

import dev.graft.engine.Module;
import dev.graft.engine.Submodule;
import dev.graft.engine.graph.GraphException;
import dev.graft.engine.graph.GraphModule;
import dev.graft.engine.graph.Guard;
import dev.graft.engine.nn.LayerNorm;
import dev.graft.engine.nn.Linear;
import dev.graft.engine.save.Savable;
import dev.graft.engine.save.SavedConfig;
import dev.graft.engine.trace.Tracer;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Guards only for the sizes the code fixed: a block that reads only a width from its weights serves every batch size
 * with one graph, saved or not; a block that reads its batch size is refused at another one with a message naming
 * the block, the dimension, the value and what it accepts.
 */
class GraftShapesTest {

    /** Reads the width of an intermediate (fixed by the Linear's weight), never the batch. */
    public static final class WidthReader extends Module {
        private final Submodule fc = submodule("fc", new Linear(6, 4, true, new Random(1)));
        private final Submodule norm = submodule("norm", new LayerNorm(4));

        @Override
        protected Tensor forward(Tensor... in) {
            Tensor h = norm.call(fc.call(in[0])).add(1f);
            return h.reshape(-1, h.size(-1)).mul(2f);
        }
    }

    /** The glue: a data-dependent branch around the block, so it is saved as a block of its own. */
    public static final class Glue extends Module implements Savable {
        private final Submodule body;

        public Glue(boolean readsBatch) {
            body = submodule("body", readsBatch ? new BatchReader() : new WidthReader());
        }

        @Override
        protected Tensor forward(Tensor... in) {
            Tensor y = body.call(in[0]);
            return y.abs().max().item() > 1e9f ? y.mul(0f) : y;
        }

        @Override
        public Map<String, Object> saveConfig() {
            return Map.of("reads_batch", body.get() instanceof BatchReader);
        }

        public static Glue fromConfig(SavedConfig c) {
            return new Glue(c.getBoolean("reads_batch"));
        }
    }

    /** Reshapes by its input's batch size: the batch is baked into the graph. */
    public static final class BatchReader extends Module {
        private final Submodule fc = submodule("fc", new Linear(6, 4, true, new Random(2)));

        @Override
        protected Tensor forward(Tensor... in) {
            return fc.call(in[0]).reshape(in[0].size(0), 2, 2);
        }
    }

    /** Recursion on a size: halves the batch until one row is left, summing (control flow on shape). */
    public static final class Halving extends Module {
        @Override
        protected Tensor forward(Tensor... in) {
            Tensor x = in[0];
            if (x.size(0) == 1) {
                return x;
            }
            int half = x.size(0) / 2;
            return forward(x.narrow(0, 0, half).add(x.narrow(0, half, half)));
        }
    }

    static Tensor batch(int rows) {
        return Tensor.randn(new Random(rows), rows, 6);
    }

    @Test
    void readingAWeightFixedWidthGuardsNothingAndOneGraphServesEveryBatch() {
        WidthReader eager = new WidthReader();
        GraphModule traced = Tracer.trace(eager, batch(2));
        assertEquals(List.of(), traced.specializations().get(0).guards(), traced.graph().toString());
        for (int rows : new int[] {1, 3, 9}) {
            assertArrayEquals(eager.call(batch(rows)).toFloatArray(), traced.call(batch(rows)).toFloatArray(), 0f);
        }
        assertEquals(1, traced.specializations().size(), "no re-trace");
    }

    @Test
    void recursionOnASizeStaysCorrectAtEverySize() {
        Halving eager = new Halving();
        GraphModule traced = Tracer.trace(eager, Tensor.randn(new Random(1), 4, 3));
        assertTrue(traced.specializations().get(0).guards().contains(new Guard(0, 0, 4)));
        for (int rows : new int[] {2, 8, 4}) {
            Tensor x = Tensor.randn(new Random(rows), rows, 3);
            assertArrayEquals(eager.call(x).toFloatArray(), traced.call(x).toFloatArray(), 0f);
        }
    }

    @Test
    void aLoadedModelWithBatchIndependentCodeAcceptsAnyBatchSize(@TempDir Path dir) {
        Glue model = new Glue(false);
        Graft.Quantized q = Graft.quantize(model, new Object[] {batch(2)}, Graft.Config.dynamic());
        Path file = dir.resolve("width.graft");
        q.save(file);
        Graft.Quantized loaded = Graft.load(file);
        for (int rows : new int[] {1, 2, 5, 17}) {
            assertArrayEquals(q.model().call(batch(rows)).toFloatArray(),
                    loaded.model().call(batch(rows)).toFloatArray(), 0f, "batch " + rows);
        }
        GraphException rank = assertThrows(GraphException.class,
                () -> loaded.model().call(Tensor.randn(new Random(1), 2, 3, 6)));
        assertTrue(rank.getMessage().contains("block 'body'") && rank.getMessage().contains("rank 3")
                && rank.getMessage().contains("rank 2"), rank.getMessage());
    }

    @Test
    void aLoadedBlockThatReadItsBatchRefusesAnotherOneNamingWhatItAccepts(@TempDir Path dir) {
        Graft.Quantized q = Graft.quantize(new Glue(true), new Object[] {batch(2)}, Graft.Config.dynamic());
        Path file = dir.resolve("batch.graft");
        q.save(file);
        Graft.Quantized loaded = Graft.load(file);
        assertArrayEquals(q.model().call(batch(2)).toFloatArray(), loaded.model().call(batch(2)).toFloatArray(), 0f);
        GraphException e = assertThrows(GraphException.class, () -> loaded.model().call(batch(5)));
        assertTrue(e.getMessage().contains("block 'body' (BatchReader")
                && e.getMessage().contains("input 0 dimension 0 is 5")
                && e.getMessage().contains("accept only 2"), e.getMessage());
    }
}
