package dev.graft.engine.quant.passes;

import dev.graft.engine.Module;
import dev.graft.engine.graph.Graph;
import dev.graft.engine.graph.GraphModule;
import dev.graft.engine.graph.Meta;
import dev.graft.engine.graph.Node;
import dev.graft.engine.graph.NodeKind;
import dev.graft.engine.graph.Target;
import dev.graft.engine.nn.BatchNorm2d;
import dev.graft.engine.nn.Conv2d;
import dev.graft.engine.nn.Identity;
import dev.graft.engine.nn.Linear;
import dev.graft.engine.nn.ReLU;
import dev.graft.engine.quant.nn.ConvBn2d;
import dev.graft.engine.quant.nn.FusedReLU;
import dev.graft.ops.LinalgOps;
import dev.graft.ops.MathOps;
import dev.graft.ops.MovementOps;
import dev.graft.ops.Op;

import java.util.Arrays;
import java.util.List;

/**
 * Fusion of one traced block before observers go in, as PyTorch's {@code fuse_fx}. Patterns are matched on the FP32
 * graph and the modules the block was traced with ({@link BlockState#sourceModules}); the module a fusion makes for
 * a path is made once and kept in the block's state, so every graph of the block, including re-traces long after,
 * is rewritten exactly as the first one was.
 * <ul>
 *   <li>Conv2d -> BatchNorm2d (eval) [-> ReLU]: BN folded into a new Conv2d at the conv's path
 *       ({@code w' = w * g/sqrt(v+eps)}, {@code b' = (b - mean) * g/sqrt(v+eps) + beta}), the BN node erased; or,
 *       for QAT with conv-bn kept unfused, a {@link ConvBn2d} at the conv's path (folded the same way at convert);</li>
 *   <li>Conv2d / Linear -> ReLU (module or function): a {@link FusedReLU} at the layer's path;</li>
 *   <li>add -> relu: the add is marked ({@link Meta#FUSED_RELU}, the relu's name); convert makes it
 *       {@code add_relu} when it runs INT8 and otherwise leaves the relu alone;</li>
 *   <li>conv2d(x, w, null) -> permute NHWC -> add(bias [C]) -> permute NCHW (how TensorFlow.js graphs add a conv's
 *       bias; the sum may be permuted back once per reader): the bias goes into the conv2d call, so the conv
 *       quantizes with its bias in the int32 epilogue.</li>
 * </ul>
 * Graft has no BatchNorm1d, so there is no Linear -> BN pattern.
 */
final class Fusion implements GraphModule.GraphPass {
    private final BlockState state;

    Fusion(BlockState state) {
        this.state = state;
    }

    @Override
    public void apply(GraphModule owner, GraphModule.Specialization spec, Graph g) {
        for (Node n : g.nodes()) {
            if (n.isErased()) {
                continue;
            }
            Module m = state.sourceModuleOf(n);
            if (m instanceof Conv2d || m instanceof Linear) {
                fuseLayer(g, n, m);
            } else if (isFunction(n, MathOps.ADD) && n.args().get(0) instanceof Node && n.args().get(1) instanceof Node
                    && singleUser(n) instanceof Node r && isRelu(r)) {
                n.putMeta(Meta.FUSED_RELU, r.name());
            } else if (isFunction(n, LinalgOps.CONV2D)) {
                foldNhwcBias(g, n);
            }
        }
        g.eliminateDeadCode();
    }

    private void fuseLayer(Graph g, Node layerNode, Module layer) {
        String path = ((Target.ModuleCall) layerNode.target()).path();
        Node next = singleUser(layerNode);
        Node bnNode = null;
        // A path fused once stays fused: a re-trace while QAT trains the model in train mode is rewritten as the
        // first graph was, not left calling the BN the fused module already holds.
        if (layer instanceof Conv2d && next != null && state.sourceModuleOf(next) instanceof BatchNorm2d bn
                && (!bn.isTraining() || state.keepConvBn || state.fused.containsKey(path)) && next.args().size() == 1) {
            bnNode = next;
            next = singleUser(next);
        }
        Node reluNode = next != null && isRelu(next) ? next : null;
        if (bnNode == null && reluNode == null) {
            return;
        }
        if (!state.fused.containsKey(path)) {
            BatchNorm2d bn = bnNode == null ? null : (BatchNorm2d) state.sourceModuleOf(bnNode);
            Module folded = bn == null ? layer : state.keepConvBn ? new ConvBn2d((Conv2d) layer, bn)
                    : ConvBn2d.fold((Conv2d) layer, bn);
            if (bn != null && state.keepConvBn) {
                // BN's parameters are trained once, inside the pair: its own path calls nothing any more.
                String bnPath = ((Target.ModuleCall) bnNode.target()).path();
                Identity identity = new Identity();
                state.fused.put(bnPath, identity);
                state.block.replaceModule(bnPath, identity);
            }
            Module replacement = reluNode == null ? folded : new FusedReLU(folded);
            state.fused.put(path, replacement);
            state.block.replaceModule(path, replacement);
            state.fusedPatterns.put(path, layer.getClass().getSimpleName() + (bnNode != null ? "-BatchNorm2d" : "")
                    + (reluNode != null ? "-ReLU" : ""));
        }
        for (Node gone : Arrays.asList(bnNode, reluNode)) {
            if (gone != null) {
                gone.replaceAllUsesWith(layerNode);
                g.erase(gone);
            }
        }
    }

    /** conv2d(x, w, null, ...) -> permute[0,2,3,1] -> add(., bias[C]) -> permute[0,3,1,2]  =>  conv2d(x, w, bias). */
    private static void foldNhwcBias(Graph g, Node conv) {
        if (conv.args().size() < 3 || conv.args().get(2) != null || !(conv.args().get(1) instanceof Node w)
                || w.shape() == null) {
            return;
        }
        Node toNhwc = singleUser(conv);
        if (toNhwc == null || !isPermute(toNhwc, 0, 2, 3, 1)) {
            return;
        }
        Node add = singleUser(toNhwc);
        if (add == null || !isFunction(add, MathOps.ADD) || add.args().get(0) != toNhwc
                || !(add.args().get(1) instanceof Node bias) || !(bias.target() instanceof Target.Attr attr)
                || !Arrays.equals(bias.shape(), new int[] {w.shape()[0]})) {
            return;
        }
        // Every reader of the sum must view it back as NCHW (the graph may permute it once per reader).
        List<Node> toNchw = List.copyOf(add.users());
        if (toNchw.isEmpty() || !toNchw.stream().allMatch(u -> isPermute(u, 0, 3, 1, 2))) {
            return;
        }
        Node early;
        try (var at = g.insertBefore(conv)) {
            early = g.getAttr(attr.path());
        }
        early.copyMetaFrom(bias);
        conv.setArg(2, early);
        for (Node back : toNchw) {
            back.replaceAllUsesWith(conv);
        }
    }

    private boolean isRelu(Node n) {
        return isFunction(n, MathOps.RELU) || (state.sourceModuleOf(n) instanceof ReLU && n.args().size() == 1);
    }

    static boolean isFunction(Node n, Op op) {
        return n.target() instanceof Target.Function f && f.op() == op;
    }

    private static boolean isPermute(Node n, int... dims) {
        return isFunction(n, MovementOps.PERMUTE) && n.args().size() == 2 && n.args().get(1) instanceof int[] p
                && Arrays.equals(p, dims);
    }

    /** The only user of {@code n}, or null when it has none or several (a value read twice cannot be fused away). */
    static Node singleUser(Node n) {
        List<Node> users = List.copyOf(n.users());
        return users.size() == 1 && users.get(0).kind() != NodeKind.OUTPUT ? users.get(0) : null;
    }
}
