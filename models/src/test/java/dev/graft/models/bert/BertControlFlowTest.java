package dev.graft.models.bert;

import dev.graft.engine.Init;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The control flow of the BERT model code: optional mask, trimming a padded batch, early exit. */
class BertControlFlowTest {
    static final BertConfig SMALL = new BertConfig(60, 16, 3, 4, 32, 32, 2, 1e-12f, 0.1f, 0.1f, 3);

    @BeforeEach
    void seed() {
        Init.manualSeed(5);
    }

    /** Three sequences of lengths 5, 3 and 2, right-padded with 0 to {@code width}. */
    static Tensor[] paddedBatch(int width) {
        int[][] seqs = {{1, 7, 9, 4, 2}, {1, 11, 2}, {1, 2}};
        long[] ids = new long[3 * width];
        long[] mask = new long[3 * width];
        for (int b = 0; b < 3; b++) {
            for (int s = 0; s < seqs[b].length; s++) {
                ids[b * width + s] = seqs[b][s];
                mask[b * width + s] = 1;
            }
        }
        return new Tensor[] {Tensor.ofLongs(ids, 3, width), Tensor.ofLongs(mask, 3, width)};
    }

    static float maxDiffOnRealTokens(Tensor a, Tensor b, int[] lengths) {
        float max = 0;
        for (int i = 0; i < lengths.length; i++) {
            for (int s = 0; s < lengths[i]; s++) {
                for (int h = 0; h < a.size(2); h++) {
                    max = Math.max(max, Math.abs(a.getFloat(i, s, h) - b.getFloat(i, s, h)));
                }
            }
        }
        return max;
    }

    @Test
    void stateDictKeysAreTheHuggingFaceNames() {
        Set<String> keys = new BertModel(SMALL).stateDict().keySet();
        for (String k : new String[] {"embeddings.word_embeddings.weight", "embeddings.position_ids",
                "embeddings.LayerNorm.bias", "encoder.layer.0.attention.self.query.weight",
                "encoder.layer.2.attention.output.dense.bias", "encoder.layer.1.attention.output.LayerNorm.weight",
                "encoder.layer.1.intermediate.dense.weight", "encoder.layer.2.output.dense.weight",
                "encoder.layer.2.output.LayerNorm.bias"}) {
            assertTrue(keys.contains(k), k + " in " + keys);
        }
        assertEquals(6 + 3 * 16, keys.size(), "embeddings: 3 tables + LayerNorm (2) + position_ids; 16 per layer");
        Set<String> withHeads = new BertForSequenceClassification(SMALL, true).stateDict().keySet();
        assertTrue(withHeads.contains("bert.pooler.dense.weight"));
        assertTrue(withHeads.contains("bert.encoder.highway.1.classifier.bias"));
        assertTrue(withHeads.contains("classifier.weight"));
    }

    @Test
    void anAllOnesMaskChangesNothing() {
        BertModel model = (BertModel) new BertModel(SMALL).eval();
        Tensor ids = Tensor.ofLongs(new long[] {1, 5, 6, 2, 1, 8, 9, 2}, 2, 4);
        Tensor ones = Tensor.ofLongs(new long[] {1, 1, 1, 1, 1, 1, 1, 1}, 2, 4);
        Tensor without = model.lastHiddenState(ids, null, null);
        Tensor with = model.lastHiddenState(ids, ones, Tensor.ofLongs(new long[8], 2, 4));
        assertArrayEquals(without.toFloatArray(), with.toFloatArray(), 1e-6f);
    }

    @Test
    void theMaskHidesPaddingFromRealTokens() {
        BertModel model = (BertModel) new BertModel(SMALL).eval();
        model.setTrimPadding(false);
        Tensor[] padded = paddedBatch(6);
        Tensor batched = model.lastHiddenState(padded[0], padded[1], null);
        // The third sequence alone, without padding, gives the same states for its real tokens.
        Tensor alone = model.lastHiddenState(Tensor.ofLongs(new long[] {1, 2}, 1, 2), null, null);
        Tensor third = batched.narrow(0, 2, 1).narrow(1, 0, 2);
        assertArrayEquals(alone.toFloatArray(), third.contiguous().toFloatArray(), 1e-5f);
    }

    @Test
    void trimmingAPaddedBatchEqualsTheUntrimmedOutputOnRealTokens() {
        BertModel model = (BertModel) new BertModel(SMALL).eval();
        Tensor[] padded = paddedBatch(9);
        model.setTrimPadding(false);
        BertModelOutput full = (BertModelOutput) model.callAny(padded[0], padded[1], null);
        model.setTrimPadding(true);
        BertModelOutput trimmed = (BertModelOutput) model.callAny(padded[0], padded[1], null);
        assertArrayEquals(new int[] {3, 9, 16}, full.lastHiddenState().shape());
        assertArrayEquals(new int[] {3, 5, 16}, trimmed.lastHiddenState().shape(), "cut to the longest sequence");
        assertArrayEquals(new int[] {3, 5}, trimmed.attentionMask().shape());
        float diff = maxDiffOnRealTokens(full.lastHiddenState(), trimmed.lastHiddenState(), new int[] {5, 3, 2});
        assertTrue(diff < 1e-5f, "max diff " + diff);
        // Mean pooling over real tokens agrees too.
        Tensor a = SentencePooling.embeddings(full.lastHiddenState(), full.attentionMask());
        Tensor b = SentencePooling.embeddings(trimmed.lastHiddenState(), trimmed.attentionMask());
        assertArrayEquals(a.toFloatArray(), b.toFloatArray(), 1e-5f);
    }

    @Test
    void earlyExitIsOffByDefault() {
        BertForSequenceClassification model = new BertForSequenceClassification(SMALL, true);
        model.eval();
        Tensor[] batch = paddedBatch(5);
        BertForSequenceClassification.Classification c = model.classify(batch[0], batch[1], null);
        assertEquals(3, c.layersRun());
        assertArrayEquals(new int[] {3, 3}, c.logits().shape());
    }

    @Test
    void earlyExitIsTakenWhenTheFirstExitHeadIsConfidentEnough() {
        BertForSequenceClassification model = new BertForSequenceClassification(SMALL, true);
        model.eval();
        Tensor[] batch = paddedBatch(5);
        // Entropy of 3 classes is at most ln 3 < 2: a threshold of 2 nats exits after the first layer.
        model.setEarlyExitThreshold(2f);
        BertForSequenceClassification.Classification c = model.classify(batch[0], batch[1], null);
        assertEquals(1, c.layersRun());
        // The logits are the first exit head's on the first layer's output.
        BertModel bert = (BertModel) model.module("bert");
        BertModelOutput out = (BertModelOutput) bert.callAny(batch[0], batch[1], null);
        assertEquals(1, out.layersRun());
        assertNotNull(out.exitLogits());
        assertNull(out.poolerOutput(), "no pooler after an early exit");
        assertArrayEquals(out.exitLogits().toFloatArray(), c.logits().toFloatArray(), 0f);
        assertArrayEquals(c.logits().toFloatArray(), model.call(batch[0], batch[1]).toFloatArray(), 0f);
    }

    @Test
    void earlyExitIsNotTakenWhenNoHeadIsConfidentEnough() {
        BertForSequenceClassification model = new BertForSequenceClassification(SMALL, true);
        model.eval();
        Tensor[] batch = paddedBatch(5);
        model.setEarlyExitThreshold(0f); // entropy is never below 0
        BertForSequenceClassification.Classification c = model.classify(batch[0], batch[1], null);
        assertEquals(3, c.layersRun());
        model.setEarlyExitThreshold(Float.NaN);
        assertArrayEquals(model.classify(batch[0], batch[1], null).logits().toFloatArray(),
                c.logits().toFloatArray(), 0f, "not exiting gives the full model's logits");
    }

    @Test
    void theEncoderReturnsTensorsOnlySoItCanBeTraced() {
        BertEncoder encoder = new BertEncoder(SMALL, true);
        encoder.eval();
        Tensor hidden = Tensor.randn(new java.util.Random(1), 2, 4, 16);
        Tensor[] full = (Tensor[]) encoder.callAny(hidden, null);
        assertEquals(1, full.length);
        encoder.setExitEntropyThreshold(5f);
        Tensor[] early = (Tensor[]) encoder.callAny(hidden, null);
        assertEquals(3, early.length);
        BertEncoderOutput out = BertEncoderOutput.of(early, 3);
        assertEquals(1, out.layersRun());
        assertTrue(out.exitedEarly());
        assertArrayEquals(new int[] {2, 3}, out.exitLogits().shape());
    }

    @Test
    void earlyExitNeedsExitHeads() {
        BertForSequenceClassification model = new BertForSequenceClassification(SMALL, false);
        assertThrows(IllegalStateException.class, () -> model.setEarlyExitThreshold(1f));
    }

    @Test
    void entropyOfUniformAndPeakedLogits() {
        Tensor logits = Tensor.of(new float[] {0, 0, 0, 0, 100, 0, 0, 0}, 2, 4);
        float[] h = BertEncoder.entropy(logits).toFloatArray();
        assertEquals(Math.log(4), h[0], 1e-5);
        assertEquals(0, h[1], 1e-5);
    }

    @Test
    void poolerTakesTheFirstTokenAndHeadsSplitEvenly() {
        BertModel model = new BertModel(SMALL, true, false);
        model.eval();
        BertModelOutput out = (BertModelOutput) model.callAny(Tensor.ofLongs(new long[] {1, 4, 2}, 1, 3), null, null);
        assertArrayEquals(new int[] {1, 16}, out.poolerOutput().shape());
        assertThrows(IllegalArgumentException.class, () -> new BertConfig(10, 10, 1, 3, 8, 8, 2, 1e-12f, 0, 0, 2));
    }

    @Test
    void tracedBlocksHoldForEveryBatchAndLength() {
        BertModel eager = (BertModel) new BertModel(SMALL).eval();
        BertModel traced = (BertModel) new BertModel(SMALL).eval();
        traced.loadStateDict(eager.stateDict(), true);
        Tensor[] first = paddedBatch(6);
        dev.graft.engine.trace.Partition p = dev.graft.engine.trace.Partitioner.partition(traced, first[0], first[1]);
        assertTrue(p.blocks().size() >= 2, p.describe());
        for (int width : new int[] {6, 5, 3, 9}) {
            Tensor[] b = paddedBatch(width);
            for (int rows : new int[] {3, 1}) {
                Tensor ids = b[0].narrow(0, 0, rows);
                Tensor mask = b[1].narrow(0, 0, rows);
                assertArrayEquals(eager.lastHiddenState(ids, mask, null).toFloatArray(),
                        traced.lastHiddenState(ids, mask, null).toFloatArray(), 0f, "width " + width);
            }
        }
        p.blocks().forEach((path, block) -> {
            assertEquals(1, block.specializations().size(), path + ": the first trace serves every shape");
            assertEquals(java.util.List.of(), block.specializations().get(0).guards(), path);
        });
    }
}
