package dev.graft.conformance.models;

import dev.graft.conformance.Required;
import dev.graft.engine.Init;
import dev.graft.engine.trace.Partition;
import dev.graft.engine.trace.PartitionNode;
import dev.graft.engine.trace.Partitioner;
import dev.graft.formats.text.BertTokenizer;
import dev.graft.models.bert.BertForSequenceClassification;
import dev.graft.models.bert.BertModel;
import dev.graft.models.bert.MiniLm;
import dev.graft.models.mnist.MnistCnn;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The equivalence bar on the reference models: the reassembled FP32 model gives bit-identical outputs to
 * the original eager model down every branch, for varying batch sizes and sequence lengths.
 */
class ReferencePartitionEquivalenceTest {

    private static final List<String> TEXTS = List.of(
            "Wheat exports rose.",
            "The grain council said prices rose sharply this week after the storm.",
            "Corn.",
            "Soybean futures in Chicago were mixed on Monday as traders awaited the weekly export report.",
            "Sorghum sales to Japan were unchanged.");

    private static BertForSequenceClassification classifier(BertModel encoder) {
        Init.manualSeed(5);
        BertForSequenceClassification m = new BertForSequenceClassification(encoder.config(), true);
        m.module("bert").loadStateDict(encoder.stateDict(), false);
        m.eval();
        return m;
    }

    @Test
    void bertWithTrimmingAndEarlyExitBothWays() {
        Required.require(MiniLm.available(), "the model jar " + MiniLm.MAVEN_COORDINATE + " on the class path");
        BertModel encoder = MiniLm.load();
        BertTokenizer tok = MiniLm.tokenizer();
        BertForSequenceClassification original = classifier(encoder);
        BertForSequenceClassification grafted = classifier(encoder);
        original.setEarlyExitThreshold(0f);
        grafted.setEarlyExitThreshold(0f); // exit heads run, but never fire: every layer is reached and traced

        BertTokenizer.Batch example = tok.encodeBatch(TEXTS.subList(0, 2), 24);
        Partition p = Partitioner.partition(grafted, example.inputIds(), example.attentionMask(),
                example.tokenTypeIds());
        List<String> traced = p.withStatus(PartitionNode.Status.TRACED).stream().map(PartitionNode::path).toList();
        assertTrue(traced.containsAll(List.of("bert.embeddings", "bert.encoder.layer.0", "bert.encoder.layer.5",
                "bert.pooler", "classifier")), traced.toString());
        assertEquals(PartitionNode.Status.EAGER_CONTROL_FLOW, p.tree().status());

        // An entropy threshold of 1 nat (> ln 2) exits after the first layer; 0 never exits.
        for (float threshold : new float[] {0f, 1f}) {
            original.setEarlyExitThreshold(threshold);
            grafted.setEarlyExitThreshold(threshold);
            for (int[] batch : new int[][] {{0, 2}, {2, 5}, {1, 2}, {0, 5}}) {
                for (int padTo : new int[] {0, 40}) {
                    List<String> texts = TEXTS.subList(batch[0], batch[1]);
                    BertTokenizer.Batch b = padTo == 0 ? tok.encodeBatch(texts) : tok.encodeBatch(texts, padTo);
                    BertForSequenceClassification.Classification want =
                            original.classify(b.inputIds(), b.attentionMask(), b.tokenTypeIds());
                    BertForSequenceClassification.Classification got =
                            grafted.classify(b.inputIds(), b.attentionMask(), b.tokenTypeIds());
                    assertEquals(want.layersRun(), got.layersRun());
                    assertEquals(threshold == 1f ? 1 : 6, got.layersRun());
                    assertBitIdentical(want.logits(), got.logits(), "threshold " + threshold + ", texts " + texts);
                }
            }
        }
        // Without a mask (no trimming, the optional input absent) the blocks re-specialize and still agree.
        BertTokenizer.Batch one = tok.encodeBatch(TEXTS.subList(3, 4));
        assertBitIdentical(original.classify(one.inputIds(), null, null).logits(),
                grafted.classify(one.inputIds(), null, null).logits(), "no attention mask");
    }

    @Test
    void cnnDownBothBranches() {
        Init.manualSeed(9);
        MnistCnn original = new MnistCnn(2f);
        Init.manualSeed(9);
        MnistCnn grafted = new MnistCnn(2f);
        original.eval();
        grafted.eval();
        Random r = new Random(3);
        Partition p = Partitioner.partition(grafted, Tensor.rand(r, 0f, 1f, 2, 1, 28, 28));
        assertEquals(PartitionNode.Status.EAGER_CONTROL_FLOW, p.tree().status());
        assertEquals(6, p.withStatus(PartitionNode.Status.TRACED).size(), p.describe());
        for (float threshold : new float[] {2f, 0f}) { // never exit / always exit
            original.setExitThreshold(threshold);
            grafted.setExitThreshold(threshold);
            for (int batch : new int[] {1, 2, 5}) {
                Tensor x = Tensor.rand(r, 0f, 1f, batch, 1, 28, 28);
                assertBitIdentical(original.call(x), grafted.call(x), "threshold " + threshold + " batch " + batch);
                assertEquals(threshold == 0f, grafted.exitedEarly());
            }
        }
    }

    static void assertBitIdentical(Tensor want, Tensor got, String what) {
        assertEquals(List.of(want.shape().length), List.of(got.shape().length), what);
        float[] a = want.toFloatArray();
        float[] b = got.toFloatArray();
        assertEquals(a.length, b.length, what);
        for (int i = 0; i < a.length; i++) {
            assertEquals(Float.floatToRawIntBits(a[i]), Float.floatToRawIntBits(b[i]), what + ", element " + i);
        }
    }
}
