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
import dev.graft.engine.quant.nn.ChannelScale;
import dev.graft.engine.quant.nn.DynamicQuantizedLinear;
import dev.graft.engine.quant.nn.QuantizedLeaf;
import dev.graft.engine.quant.nn.QuantizedLinearFloatOut;
import dev.graft.kernels.Activation;
import dev.graft.ops.FusedOps;
import dev.graft.ops.MathOps;

import java.util.ArrayList;

/**
 * Epilogue fusions of FP32 layers, matched on module calls whatever their names:
 * <ul>
 *   <li>{@code Linear -> GELU} (module or {@code gelu} function, erf form) becomes
 *       {@code linear_gelu(x, weight, bias)}: the GELU runs in the linear kernel's epilogue, and the wide
 *       intermediate tensor of a transformer's feed-forward is written once instead of twice;</li>
 *   <li>{@code DynamicQuantizedLinear -> GELU} and (static) {@code QuantizedLinearFloatOut -> GELU} become a call
 *       of the same layer with the GELU in its output stage ({@code withActivation}, registered once per block);</li>
 *   <li>{@code add(a, b) -> LayerNorm} (a residual connection) becomes {@code add_layer_norm(a, b, ...)}: the
 *       normalized rows overwrite the sum they came from;</li>
 *   <li>SmoothQuant's {@code ChannelScale -> quantize_per_tensor} (static INT8) becomes
 *       {@code channel_scale_quantize(x, factors, ...)}: scaled and quantized in one pass; and when its input is a
 *       float-output INT8 layer read by nothing else (a transformer's first FFN linear), that layer does the scale
 *       and quantization in its output stage, so the wide float activation is never written.</li>
 * </ul>
 * All keep the bits of the operators they replace ({@link FusedOps}). The producer must have the fused step as its
 * only reader. Besides those INT8 layers, only the plain FP32 {@link Linear} and {@link LayerNorm} classes match: a
 * QAT layer or a user's subclass is left alone.
 */
public final class LayerFusion implements GraphModule.GraphPass {
    /** INT8 layers with their GELU fused, by the path of the layer they replace (one per block, reused). */
    private final java.util.Map<String, String> fusedInt8 = new java.util.HashMap<>();

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
            } else if (n.target() instanceof Target.Function f && f.op() == dev.graft.ops.QuantOps.QUANTIZE_PER_TENSOR) {
                changed |= scaleQuantize(owner, g, n);
            }
        }
        if (changed) {
            g.eliminateDeadCode();
        }
        // Then: a float-output INT8 layer whose only reader is a channel_scale_quantize (the FFN's first linear and
        // the second's input quantization) quantizes in its own output stage.
        boolean quantized = false;
        for (Node n : new ArrayList<>(g.nodes())) {
            if (!n.isErased() && n.target() instanceof Target.Function f && f.op() == FusedOps.CHANNEL_SCALE_QUANTIZE) {
                quantized |= quantizeInProducer(owner, g, n);
            }
        }
        if (quantized) {
            g.eliminateDeadCode();
        }
    }

    /**
     * {@code channel_scale_quantize(layer(x), factors, s, z, quint8)} with {@code layer} a static
     * {@link QuantizedLinearFloatOut} read by nothing else: the same layer with the scale and quantization in its
     * output stage ({@link QuantizedLinearFloatOut#withQuantizedOutput}, same bits), as a new module made once per
     * block.
     */
    private boolean quantizeInProducer(GraphModule owner, Graph g, Node csq) {
        java.util.List<Object> a = csq.args();
        if (a.size() != 5 || !(a.get(0) instanceof Node lin) || !(a.get(1) instanceof Node factorsNode)
                || !(a.get(2) instanceof Number scale) || !(a.get(3) instanceof Integer zero)
                || a.get(4) != dev.graft.ops.DType.UINT8 || !soleReader(lin, csq) || lin.args().size() != 1
                || !(lin.args().get(0) instanceof Node x)
                || !(moduleOf(owner, lin) instanceof QuantizedLeaf leaf)
                || !(leaf.int8() instanceof QuantizedLinearFloatOut q)
                || !(factorsNode.target() instanceof Target.Attr attr)) {
            return false;
        }
        dev.graft.ops.Tensor factors = owner.stateDict().get(attr.path());
        if (factors == null || factors.dim() != 1 || factors.size(0) != q.packedWeight().n()
                || factors.dtype() != dev.graft.ops.DType.FLOAT32) {
            return false;
        }
        String path = ((Target.ModuleCall) lin.target()).path();
        String key = path + "|" + attr.path() + "|" + scale.floatValue() + "|" + zero;
        String name = fusedInt8.computeIfAbsent(key, k -> {
            String n = path.replace('.', '_') + "_quantized";
            owner.addSubmodule(n, new QuantizedLeaf(q.withQuantizedOutput(factors.toFloatArray(), scale.floatValue(),
                    zero), leaf.inputScale(), leaf.inputZeroPoint()));
            return n;
        });
        Node fused;
        try (var ignored = g.insertBefore(csq)) {
            fused = g.callModule(name, x);
        }
        fused.copyMetaFrom(csq);
        csq.replaceAllUsesWith(fused);
        return true;
    }

    private boolean linearGelu(GraphModule owner, Graph g, Node gelu) {
        if (!(gelu.args().get(0) instanceof Node lin) || !soleReader(lin, gelu) || lin.args().size() != 1
                || !(lin.args().get(0) instanceof Node x)) {
            return false;
        }
        if (moduleOf(owner, lin) instanceof DynamicQuantizedLinear dql && dql.activation() == Activation.NONE) {
            return int8Gelu(owner, g, lin, gelu, x, () -> dql.withActivation(Activation.GELU));
        }
        if (moduleOf(owner, lin) instanceof QuantizedLeaf leaf && leaf.int8() instanceof QuantizedLinearFloatOut q
                && q.activation() == Activation.NONE) {   // static: the float-output layer behind its input qparams
            return int8Gelu(owner, g, lin, gelu, x, () -> new QuantizedLeaf(q.withActivation(Activation.GELU),
                    leaf.inputScale(), leaf.inputZeroPoint()));
        }
        if (!(moduleOf(owner, lin) instanceof Linear linear) || linear.getClass() != Linear.class) {
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

    /**
     * An INT8 layer with a float output (dynamic, or static read only by FP32 operators) and its GELU: the same layer
     * with the GELU in its output stage, as a new module made once per block.
     */
    private boolean int8Gelu(GraphModule owner, Graph g, Node lin, Node gelu, Node x,
                             java.util.function.Supplier<Module> fusedLayer) {
        String path = ((Target.ModuleCall) lin.target()).path();
        String name = fusedInt8.computeIfAbsent(path, p -> {
            String n = p.replace('.', '_') + "_gelu";
            owner.addSubmodule(n, fusedLayer.get());
            return n;
        });
        Node fused;
        try (var ignored = g.insertBefore(gelu)) {
            fused = g.callModule(name, x);
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

    /** SmoothQuant's channel scale -> quantize_per_tensor: one pass, no scaled float tensor. */
    private static boolean scaleQuantize(GraphModule owner, Graph g, Node quantize) {
        if (quantize.args().size() != 4 || !(quantize.args().get(0) instanceof Node cs) || !soleReader(cs, quantize)
                || !(moduleOf(owner, cs) instanceof ChannelScale) || cs.args().size() != 1
                || !(cs.args().get(0) instanceof Node x)) {
            return false;
        }
        String path = ((Target.ModuleCall) cs.target()).path();
        Node fused;
        try (var ignored = g.insertBefore(quantize)) {
            Node factors = g.getAttr(path + ".scale");
            fused = g.callFunction(FusedOps.CHANNEL_SCALE_QUANTIZE, x, factors, quantize.args().get(1),
                    quantize.args().get(2), quantize.args().get(3));
        }
        fused.copyMetaFrom(quantize);
        quantize.replaceAllUsesWith(fused);
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
