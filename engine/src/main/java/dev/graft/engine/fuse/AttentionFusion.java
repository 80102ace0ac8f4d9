package dev.graft.engine.fuse;

import dev.graft.engine.Module;
import dev.graft.engine.graph.Graph;
import dev.graft.engine.graph.GraphModule;
import dev.graft.engine.graph.Node;
import dev.graft.engine.graph.Target;
import dev.graft.engine.nn.Dropout;
import dev.graft.engine.nn.Softmax;
import dev.graft.ops.DType;
import dev.graft.ops.FusedOps;
import dev.graft.ops.LinalgOps;
import dev.graft.ops.MathOps;
import dev.graft.ops.MovementOps;
import dev.graft.ops.NNOps;
import dev.graft.ops.QuantOps;
import dev.graft.ops.QuantizedOps;
import dev.graft.ops.Op;

import java.util.ArrayList;
import java.util.List;

/**
 * Scaled dot-product attention as one node. The pattern, as BERT-family models trace (any module names, any number
 * of layers):
 * <pre>
 *   scores = matmul(q, transpose(k, -1, -2))        q, k: [B, H, S, D], any strides (permuted views)
 *   scores = div(scores, c) | mul(scores, c)         optional, c a constant
 *   scores = add(scores, mask)                       optional, mask broadcastable to [B, H, Sq, Sk]
 *   probs  = softmax(scores, -1)                     function or Softmax module
 *   probs  = dropout(probs)                          optional; only when it does nothing (eval mode, or p = 0)
 *   out    = matmul(probs, v)
 * </pre>
 * becomes {@code out = attention(q, k, v, mask, c, divide)} ({@link FusedOps#ATTENTION}): the same bits,
 * no score tensor, no copies of the permuted inputs, and a result already laid out for the permute back and the
 * flatten that follow it. Every intermediate must have one reader (the next step), so nothing else sees a value
 * that is no longer computed; the rest of the graph is untouched. Where static quantization made both products
 * INT8, the float steps between them (dequantize, scale, mask, softmax, quantize) become one
 * {@code quantized_softmax} node instead ({@link FusedOps#QUANTIZED_SOFTMAX}, same bits), and then the two INT8
 * products with it one {@code quantized_attention} node ({@link FusedOps#QUANTIZED_ATTENTION}, same bits).
 */
public final class AttentionFusion implements GraphModule.GraphPass {

    @Override
    public void apply(GraphModule owner, GraphModule.Specialization spec, Graph g) {
        boolean changed = false;
        for (Node n : new ArrayList<>(g.nodes())) {
            if (!n.isErased() && isFunction(n, LinalgOps.MATMUL)) {
                changed |= fuse(owner, g, n);
            } else if (!n.isErased() && isFunction(n, QuantOps.QUANTIZE_PER_TENSOR)) {
                changed |= fuseQuantized(owner, g, n);
            }
        }
        if (changed) {
            g.eliminateDeadCode(); // the replaced steps still read the scores until they are gone
        }
        // Second sweep: an INT8 product of fused probabilities and V whose probabilities come from an INT8 Q K^T.
        boolean int8 = false;
        for (Node n : new ArrayList<>(g.nodes())) {
            if (!n.isErased() && isFunction(n, QuantizedOps.MATMUL)) {
                int8 |= fuseInt8Attention(g, n);
            }
        }
        if (int8) {
            g.eliminateDeadCode();
        }
    }

    /**
     * {@code quantized_matmul(quantized_softmax(quantized_matmul(q, transpose(k)), ..., quint8), v)} becomes one
     * {@code quantized_attention(q, k, v, mask, c, divide, score qparams, prob qparams, out qparams)}
     * ({@link FusedOps#QUANTIZED_ATTENTION}, same bits): no score or probability tensor, no copy of the permuted
     * q, k, v, and no transposed copy of k.
     */
    private static boolean fuseInt8Attention(Graph g, Node out) {
        List<Object> oa = out.args();
        if (oa.size() != 4 || !(oa.get(0) instanceof Node probs) || !(oa.get(1) instanceof Node v)
                || !isFunction(probs, FusedOps.QUANTIZED_SOFTMAX) || !onlyUser(probs, out) || !rank4(out)) {
            return false;
        }
        List<Object> pa = probs.args();
        if (pa.get(6) != DType.UINT8 || !(pa.get(0) instanceof Node scores)
                || !isFunction(scores, QuantizedOps.MATMUL) || !onlyUser(scores, probs)) {
            return false;
        }
        List<Object> sa = scores.args();
        if (sa.size() != 4 || !(sa.get(0) instanceof Node q) || !(sa.get(1) instanceof Node kT)) {
            return false;
        }
        Node k = transposedLastTwo(kT);
        if (k == null || !rank4(q) || !rank4(k) || !rank4(v) || !sameBatchAndHeads(q, k, v)) {
            return false;
        }
        Node fused;
        try (var ignored = g.insertBefore(out)) {
            fused = g.callFunction(FusedOps.QUANTIZED_ATTENTION, q, k, v, pa.get(3), pa.get(1), pa.get(2), sa.get(2),
                    sa.get(3), pa.get(4), pa.get(5), oa.get(2), oa.get(3));
        }
        fused.copyMetaFrom(out);
        out.replaceAllUsesWith(fused);
        return true;
    }

    private static boolean fuse(GraphModule owner, Graph g, Node out) {
        if (!(out.args().get(0) instanceof Node probs) || !(out.args().get(1) instanceof Node v) || !rank4(out)
                || !onlyUser(probs, out)) {
            return false;
        }
        Chain c = chain(owner, probs, LinalgOps.MATMUL);
        if (c == null || !(c.source().args().get(0) instanceof Node q) || !(c.source().args().get(1) instanceof Node kT)
                || !rank4(c.source())) {
            return false;
        }
        Node k = transposedLastTwo(kT);
        if (k == null || !rank4(q) || !rank4(k) || !rank4(v) || !sameBatchAndHeads(q, k, v)) {
            return false;
        }
        Node fused;
        try (var ignored = g.insertBefore(out)) {
            fused = g.callFunction(FusedOps.ATTENTION, q, k, v, c.mask(), c.scale(), c.divide());
        }
        fused.copyMetaFrom(out);
        out.replaceAllUsesWith(fused);
        return true;
    }

    /**
     * The float middle of an INT8 attention (static quantization makes both products INT8):
     * {@code quantize_per_tensor(dropout?(softmax(add?(div|mul?(dequantize(scores), c), mask), -1)), s, z, dtype)}
     * becomes {@code quantized_softmax(scores, c, divide, mask, s, z, dtype)}.
     */
    private static boolean fuseQuantized(GraphModule owner, Graph g, Node quantize) {
        if (quantize.args().size() != 4 || !(quantize.args().get(0) instanceof Node probs)
                || !(quantize.args().get(1) instanceof Number outScale)
                || !(quantize.args().get(2) instanceof Integer outZero) || !rank4(quantize)
                || !onlyUser(probs, quantize)) {
            return false;
        }
        Chain c = chain(owner, probs, QuantOps.DEQUANTIZE);
        if (c == null || c.source().args().size() != 1 || !(c.source().args().get(0) instanceof Node quantized)
                || !rank4(quantized)) {
            return false;
        }
        Node fused;
        try (var ignored = g.insertBefore(quantize)) {
            fused = g.callFunction(FusedOps.QUANTIZED_SOFTMAX, quantized, c.scale(), c.divide(), c.mask(),
                    outScale.floatValue(), outZero, quantize.args().get(3));
        }
        fused.copyMetaFrom(quantize);
        quantize.replaceAllUsesWith(fused);
        return true;
    }

    /** What feeds the softmax: the node the scores come from, the mask (or null) and the scale (NaN for none). */
    private record Chain(Node source, Object mask, float scale, boolean divide) {
    }

    /**
     * Reads {@code dropout?(softmax(add?(div|mul?(source, c), mask), -1))} back from {@code probs}, each step the only
     * reader of the one before, {@code source} a call of {@code sourceOp}; null when the graph has another shape.
     */
    private static Chain chain(GraphModule owner, Node probs, Op sourceOp) {
        if (isModule(owner, probs, Dropout.class)) {
            Dropout d = (Dropout) module(owner, probs);
            if ((d.isTraining() && d.p() != 0f) || !(probs.args().get(0) instanceof Node p) || !onlyUser(p, probs)) {
                return null;
            }
            probs = p;
        }
        boolean softmax = (isFunction(probs, NNOps.SOFTMAX) && isLastDim(probs.args().get(1), probs))
                || (isModule(owner, probs, Softmax.class) && isLastDim(((Softmax) module(owner, probs)).dim(), probs));
        if (!softmax || !(probs.args().get(0) instanceof Node scores) || !onlyUser(scores, probs)) {
            return null;
        }
        Object mask = null;
        if (isFunction(scores, MathOps.ADD) && scores.args().size() == 2
                && scores.args().get(0) instanceof Node a && scores.args().get(1) instanceof Node b) {
            if (isScaleOr(a, sourceOp) && onlyUser(a, scores)) {
                mask = b;
                scores = a;
            } else if (isScaleOr(b, sourceOp) && onlyUser(b, scores)) {
                mask = a;
                scores = b;
            } else {
                return null;
            }
        }
        float scale = Float.NaN;
        boolean divide = false;
        if (isFunction(scores, MathOps.DIV) || isFunction(scores, MathOps.MUL)) {
            divide = isFunction(scores, MathOps.DIV);
            Object x = scores.args().get(0);
            Object c = scores.args().get(1);
            if (!divide && c instanceof Node && x instanceof Number) {   // mul(c, scores)
                Object t = x;
                x = c;
                c = t;
            }
            if (!(x instanceof Node source) || !(c instanceof Number number) || !onlyUser(source, scores)) {
                return null;
            }
            scale = number.floatValue();
            scores = source;
        }
        return isFunction(scores, sourceOp) ? new Chain(scores, mask, scale, divide) : null;
    }

    private static boolean isScaleOr(Node n, Op sourceOp) {
        return isFunction(n, MathOps.DIV) || isFunction(n, MathOps.MUL) || isFunction(n, sourceOp);
    }

    /** The node transposed when {@code t} swaps the last two of four dimensions (transpose or permute), else null. */
    private static Node transposedLastTwo(Node t) {
        if (!(t.args().get(0) instanceof Node src)) {
            return null;
        }
        if (isFunction(t, MovementOps.TRANSPOSE) && t.args().size() == 3 && t.args().get(1) instanceof Integer a
                && t.args().get(2) instanceof Integer b) {
            int x = a < 0 ? a + 4 : a;
            int y = b < 0 ? b + 4 : b;
            return Math.min(x, y) == 2 && Math.max(x, y) == 3 ? src : null;
        }
        if (isFunction(t, MovementOps.PERMUTE) && t.args().get(1) instanceof int[] dims
                && java.util.Arrays.equals(dims, new int[] {0, 1, 3, 2})) {
            return src;
        }
        return null;
    }

    private static boolean sameBatchAndHeads(Node q, Node k, Node v) {
        int[] a = q.shape();
        int[] b = k.shape();
        int[] c = v.shape();
        return a[0] == b[0] && a[0] == c[0] && a[1] == b[1] && a[1] == c[1] && a[3] == b[3] && b[2] == c[2];
    }

    private static boolean isLastDim(Object dim, Node node) {
        return dim instanceof Integer d && (d == -1 || d == 3) && rank4(node);
    }

    private static boolean rank4(Node n) {
        int[] s = n.shape();
        return s != null && s.length == 4;
    }

    /** {@code n}'s value is read by {@code reader} alone (once), and is not a graph output. */
    private static boolean onlyUser(Node n, Node reader) {
        return n.users().size() == 1 && n.users().contains(reader)
                && reader.args().stream().filter(a -> a == n).count() == 1;
    }

    static boolean isFunction(Node n, Op op) {
        return n.target() instanceof Target.Function f && f.op() == op;
    }

    private static boolean isModule(GraphModule owner, Node n, Class<? extends Module> type) {
        return n.target() instanceof Target.ModuleCall && type.isInstance(module(owner, n));
    }

    private static Module module(GraphModule owner, Node n) {
        return owner.module(((Target.ModuleCall) n.target()).path());
    }

    @Override
    public String toString() {
        return "attention fusion";
    }
}
