package dev.graft.engine.quant.passes;

import dev.graft.engine.Module;
import dev.graft.engine.graph.Graph;
import dev.graft.engine.graph.GraphModule;
import dev.graft.engine.graph.Node;
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

import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Fusion of one traced block before observers go in, as PyTorch's {@code fuse_fx}: patterns are matched on the graph
 * and the block's modules as they were when the pass was made (so a re-trace after convert, which sees quantized
 * modules at the same paths, is rewritten exactly as the first graph was).
 * <ul>
 *   <li>Conv2d -> BatchNorm2d (eval) [-> ReLU]: BN folded into a new Conv2d at the conv's path
 *       ({@code w' = w * g/sqrt(v+eps)}, {@code b' = (b - mean) * g/sqrt(v+eps) + beta}), the BN node erased; or,
 *       for QAT with conv-bn kept unfused, a {@link ConvBn2d} at the conv's path (folded the same way at convert);</li>
 *   <li>Conv2d / Linear -> ReLU (module or function): a {@link FusedReLU} at the layer's path;</li>
 *   <li>add -> relu: the add is marked ({@link #FUSED_RELU} = the relu's name); convert makes it {@code add_relu}
 *       when it runs INT8 and otherwise leaves the relu alone;</li>
 *   <li>conv2d(x, w, null) -> permute NHWC -> add(bias [C]) -> permute NCHW (how TensorFlow.js graphs add a conv's
 *       bias; the sum may be permuted back once per reader): the bias goes into the conv2d call, so the conv
 *       quantizes with its bias in the int32 epilogue.</li>
 * </ul>
 * Graft has no BatchNorm1d, so there is no Linear -> BN pattern.
 */
public final class Fusion implements GraphModule.GraphPass {
    /** Node meta key on an {@code add} whose single user is a relu: the relu node's name. */
    public static final String FUSED_RELU = "fused_relu";

    private final Map<String, Module> modulesBefore;
    /** Replacement module per path, made once and reused by every specialization. */
    private final Map<String, Module> fused = new HashMap<>();
    private final Map<String, String> applied = new LinkedHashMap<>();

    /** Conv-bn becomes a {@link ConvBn2d} (folded at convert) instead of a folded Conv2d. */
    private final boolean keepConvBn;

    /** A fusion pass for {@code block}, remembering its modules as they are now. */
    public Fusion(GraphModule block) {
        this(block, false);
    }

    /**
     * @param keepConvBn true: conv -> bn (in train or eval mode) becomes a {@link ConvBn2d} holding both modules at
     *                   the conv's path and the BN's own path an {@link Identity} (so its parameters are trained
     *                   once, inside the pair); false: BN (eval) folded into the conv now
     */
    public Fusion(GraphModule block, boolean keepConvBn) {
        this.modulesBefore = new HashMap<>(block.namedModules());
        this.keepConvBn = keepConvBn;
    }

    /** What was fused: layer path -> pattern. */
    public Map<String, String> applied() {
        return applied;
    }

    @Override
    public void apply(GraphModule owner, GraphModule.Specialization spec) {
        Graph g = spec.graph();
        for (Node n : g.nodes()) {
            if (n.isErased()) {
                continue;
            }
            Module m = moduleOf(n);
            if (m instanceof Conv2d || m instanceof Linear) {
                fuseLayer(owner, g, n, m);
            } else if (isFunction(n, MathOps.ADD) && n.args().get(0) instanceof Node && n.args().get(1) instanceof Node
                    && singleUser(n) instanceof Node r && isRelu(r)) {
                n.meta().put(FUSED_RELU, r.name());
            } else if (isFunction(n, LinalgOps.CONV2D)) {
                foldNhwcBias(g, n);
            }
        }
        g.eliminateDeadCode();
    }

    private void fuseLayer(GraphModule owner, Graph g, Node layerNode, Module layer) {
        String path = ((Target.ModuleCall) layerNode.target()).path();
        Node next = singleUser(layerNode);
        Node bnNode = null;
        // Once folded, a path stays folded: a later re-trace (new shapes) while QAT trains the model in train mode
        // must rewrite its graph as the first one was, not call the stale BN module.
        if (layer instanceof Conv2d && next != null && moduleOf(next) instanceof BatchNorm2d bn
                && (!bn.isTraining() || keepConvBn || fused.containsKey(path)) && next.args().size() == 1) {
            bnNode = next;
            next = singleUser(next);
        }
        Node reluNode = next != null && isRelu(next) ? next : null;
        if (bnNode == null && reluNode == null) {
            return;
        }
        if (!fused.containsKey(path)) {
            Module folded = bnNode == null ? layer : keepConvBn
                    ? new ConvBn2d((Conv2d) layer, (BatchNorm2d) moduleOf(bnNode))
                    : ConvBn2d.fold((Conv2d) layer, (BatchNorm2d) moduleOf(bnNode));
            if (bnNode != null && keepConvBn) {
                owner.replaceModule(((Target.ModuleCall) bnNode.target()).path(), new Identity());
            }
            Module replacement = reluNode == null ? folded : new FusedReLU(folded);
            fused.put(path, replacement);
            owner.replaceModule(path, replacement);
            applied.put(path, layer.getClass().getSimpleName() + (bnNode != null ? "-BatchNorm2d" : "")
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
        early.meta().putAll(bias.meta());
        conv.setArg(2, early);
        for (Node back : toNchw) {
            back.replaceAllUsesWith(conv);
        }
    }

    private Module moduleOf(Node n) {
        return n.target() instanceof Target.ModuleCall mc ? modulesBefore.get(mc.path()) : null;
    }

    private boolean isRelu(Node n) {
        return isFunction(n, MathOps.RELU) || (moduleOf(n) instanceof ReLU && n.args().size() == 1);
    }

    static boolean isFunction(Node n, dev.graft.ops.Op op) {
        return n.target() instanceof Target.Function f && f.op() == op;
    }

    private static boolean isPermute(Node n, int... dims) {
        return isFunction(n, MovementOps.PERMUTE) && n.args().size() == 2 && n.args().get(1) instanceof int[] p
                && Arrays.equals(p, dims);
    }

    /** The only user of {@code n}, or null when it has none or several (a value read twice cannot be fused away). */
    static Node singleUser(Node n) {
        List<Node> users = List.copyOf(n.users());
        return users.size() == 1 && users.get(0).kind() != dev.graft.engine.graph.NodeKind.OUTPUT ? users.get(0) : null;
    }
}
