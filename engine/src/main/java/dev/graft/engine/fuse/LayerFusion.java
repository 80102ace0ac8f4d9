package dev.graft.engine.fuse;

import dev.graft.engine.Module;
import dev.graft.engine.graph.Graph;
import dev.graft.engine.graph.GraphModule;
import dev.graft.engine.graph.Node;
import dev.graft.engine.graph.NodeKind;
import dev.graft.engine.graph.Target;
import dev.graft.engine.nn.GELU;
import dev.graft.engine.nn.LayerNorm;
import dev.graft.engine.nn.Linear;
import dev.graft.ops.FusedOps;
import dev.graft.ops.MathOps;

import java.util.ArrayList;

/**
 * Epilogue fusions of FP32 layers, matched on module calls whatever their names:
 * <ul>
 *   <li>{@code Linear -> GELU} (module or {@code gelu} function, erf form) becomes
 *       {@code linear_gelu(x, weight, bias)}: the GELU runs in the linear kernel's epilogue, and the wide
 *       intermediate tensor of a transformer's feed-forward is written once instead of twice;</li>
 *   <li>{@code add(a, b) -> LayerNorm} (a residual connection) becomes {@code add_layer_norm(a, b, ...)}: the
 *       normalized rows overwrite the sum they came from.</li>
 * </ul>
 * Both keep the bits of the operators they replace ({@link FusedOps}). The producer must have the fused step as its
 * only reader. Only the plain FP32 {@link Linear} and {@link LayerNorm} classes match: an INT8 or QAT layer, or a
 * user's subclass, is left alone.
 */
public final class LayerFusion implements GraphModule.GraphPass {

    @Override
    public void apply(GraphModule owner, GraphModule.Specialization spec, Graph g) {
        boolean changed = false;
        for (Node n : new ArrayList<>(g.nodes())) {
            if (n.isErased()) {
                continue;
            }
            if (isGelu(owner, n)) {
                changed |= linearGelu(owner, g, n);
            } else if (moduleOf(owner, n) instanceof LayerNorm ln && ln.getClass() == LayerNorm.class) {
                changed |= addLayerNorm(owner, g, n, ln);
            }
        }
        if (changed) {
            g.eliminateDeadCode();
        }
    }

    private static boolean linearGelu(GraphModule owner, Graph g, Node gelu) {
        if (!(gelu.args().get(0) instanceof Node lin) || !soleReader(lin, gelu) || lin.args().size() != 1
                || !(moduleOf(owner, lin) instanceof Linear linear) || linear.getClass() != Linear.class
                || !(lin.args().get(0) instanceof Node x)) {
            return false;
        }
        String path = ((Target.ModuleCall) lin.target()).path();
        Node fused;
        try (var ignored = g.insertBefore(gelu)) {
            Node w = g.getAttr(path + ".weight");
            Node b = linear.bias() == null ? null : g.getAttr(path + ".bias");
            fused = g.callFunction(FusedOps.LINEAR_GELU, x, w, b);
        }
        fused.copyMetaFrom(gelu);
        gelu.replaceAllUsesWith(fused);
        return true;
    }

    private static boolean addLayerNorm(GraphModule owner, Graph g, Node lnNode, LayerNorm ln) {
        if (lnNode.args().size() != 1 || !(lnNode.args().get(0) instanceof Node add)
                || !(add.target() instanceof Target.Function f) || f.op() != MathOps.ADD || add.args().size() != 2
                || !(add.args().get(0) instanceof Node a) || !(add.args().get(1) instanceof Node b)
                || !soleReader(add, lnNode)) {
            return false;
        }
        String path = ((Target.ModuleCall) lnNode.target()).path();
        Node fused;
        try (var ignored = g.insertBefore(lnNode)) {
            Node w = ln.weight() == null ? null : g.getAttr(path + ".weight");
            Node bias = ln.bias() == null ? null : g.getAttr(path + ".bias");
            fused = g.callFunction(FusedOps.ADD_LAYER_NORM, a, b, ln.normalizedShape(), w, bias, ln.eps());
        }
        fused.copyMetaFrom(lnNode);
        lnNode.replaceAllUsesWith(fused);
        return true;
    }

    private static boolean isGelu(GraphModule owner, Node n) {
        if (n.target() instanceof Target.Function f) {
            return f.op() == MathOps.GELU && n.args().size() == 1;
        }
        return moduleOf(owner, n) instanceof GELU gelu && gelu.getClass() == GELU.class && !gelu.tanhApproximation()
                && n.args().size() == 1;
    }

    /** {@code n} is read once, by {@code reader} only, and is not a graph output. */
    private static boolean soleReader(Node n, Node reader) {
        return n.users().size() == 1 && n.users().contains(reader) && reader.kind() != NodeKind.OUTPUT
                && reader.args().stream().filter(a -> a == n).count() == 1;
    }

    private static Module moduleOf(GraphModule owner, Node n) {
        return n.target() instanceof Target.ModuleCall mc ? owner.module(mc.path()) : null;
    }

    @Override
    public String toString() {
        return "layer fusion (linear + gelu, add + layer norm)";
    }
}
