package dev.graft.models.bert;

import dev.graft.ops.DType;
import dev.graft.ops.Tensor;

/**
 * Sentence embeddings as sentence-transformers computes them for all-MiniLM-L6-v2: the mean of the token states over
 * the real tokens, then L2 normalization.
 */
public final class SentencePooling {
    private SentencePooling() {
    }

    /** Mean over real tokens: hidden [B, S, H], mask [B, S] (1/0; null means all real) -> [B, H]. */
    public static Tensor meanPool(Tensor hidden, Tensor attentionMask) {
        if (attentionMask == null) {
            return hidden.mean(1, false);
        }
        Tensor mask = attentionMask.narrow(1, 0, hidden.size(1)).unsqueeze(-1).to(DType.FLOAT32);
        Tensor summed = hidden.mul(mask).sum(1, false);
        Tensor counts = mask.sum(1, false).clamp(1e-9f, Float.MAX_VALUE);
        return summed.div(counts);
    }

    /** Each row divided by its L2 norm (at least 1e-12): [B, H] -> [B, H]. */
    public static Tensor l2Normalize(Tensor x) {
        Tensor norm = x.mul(x).sum(-1, true).sqrt().clamp(1e-12f, Float.MAX_VALUE);
        return x.div(norm);
    }

    /** {@code l2Normalize(meanPool(hidden, mask))}. */
    public static Tensor embeddings(Tensor hidden, Tensor attentionMask) {
        return l2Normalize(meanPool(hidden, attentionMask));
    }
}
