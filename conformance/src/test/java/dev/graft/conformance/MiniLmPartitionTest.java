package dev.graft.conformance;

import dev.graft.engine.trace.Partition;
import dev.graft.engine.trace.PartitionNode;
import dev.graft.engine.trace.Partitioner;
import dev.graft.formats.text.BertTokenizer;
import dev.graft.models.bert.BertModel;
import dev.graft.models.bert.MiniLm;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The real MiniLM through the fine-grained partitioner: the root's data-dependent trimming ({@code item()}) keeps
 * it eager, the embeddings and the whole encoder (early exit off) are claimed as traced blocks, and the reassembled
 * model computes the same bits, also on batches of other lengths.
 */
class MiniLmPartitionTest {
    @Test
    void rootStaysEagerAndEmbeddingsAndEncoderTrace() {
        Required.require(MiniLm.available(), "the model jar " + MiniLm.MAVEN_COORDINATE + " on the class path");
        BertModel model = MiniLm.load();
        BertTokenizer tokenizer = MiniLm.tokenizer();
        BertTokenizer.Batch example = tokenizer.encodeBatch(List.of("Wheat exports fell.",
                "The grain council said prices rose sharply this week."));
        BertTokenizer.Batch other = tokenizer.encodeBatch(List.of("Corn.", "Soybean futures in Chicago were mixed "
                + "on Monday as traders awaited the weekly export inspections report."), 40);
        Tensor before = model.lastHiddenState(example.inputIds(), example.attentionMask(), example.tokenTypeIds());
        Tensor beforeOther = model.lastHiddenState(other.inputIds(), other.attentionMask(), other.tokenTypeIds());

        Partition p = Partitioner.partition(model, example.inputIds(), example.attentionMask(),
                example.tokenTypeIds());
        System.out.println(p.describe());
        assertEquals(PartitionNode.Status.EAGER_CONTROL_FLOW, p.tree().status());
        assertTrue(p.tree().reason().contains("item()"), p.tree().reason());
        assertEquals(List.of("embeddings", "encoder"),
                p.withStatus(PartitionNode.Status.TRACED).stream().map(PartitionNode::path).toList());

        BertModel grafted = (BertModel) p.model();
        assertArrayEquals(before.toFloatArray(), grafted.lastHiddenState(example.inputIds(), example.attentionMask(),
                example.tokenTypeIds()).toFloatArray(), 0f, "reassembled == original, bit for bit");
        assertArrayEquals(beforeOther.toFloatArray(), grafted.lastHiddenState(other.inputIds(), other.attentionMask(),
                other.tokenTypeIds()).toFloatArray(), 0f, "another length (trimmed from 40) runs the same");
    }
}
