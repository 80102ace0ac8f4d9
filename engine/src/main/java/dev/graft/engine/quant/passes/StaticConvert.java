package dev.graft.engine.quant.passes;

import dev.graft.engine.Module;
import dev.graft.engine.graph.Graph;
import dev.graft.engine.graph.GraphModule;
import dev.graft.engine.graph.Node;
import dev.graft.engine.graph.NodeKind;
import dev.graft.engine.graph.Target;
import dev.graft.engine.nn.AdaptiveAvgPool2d;
import dev.graft.engine.nn.AvgPool2d;
import dev.graft.engine.nn.Conv2d;
import dev.graft.engine.nn.Dropout;
import dev.graft.engine.nn.Embedding;
import dev.graft.engine.nn.GELU;
import dev.graft.engine.nn.Identity;
import dev.graft.engine.nn.LayerNorm;
import dev.graft.engine.nn.LeakyReLU;
import dev.graft.engine.nn.Linear;
import dev.graft.engine.nn.MaxPool2d;
import dev.graft.engine.nn.ReLU;
import dev.graft.engine.nn.Sigmoid;
import dev.graft.engine.nn.Softmax;
import dev.graft.engine.quant.QConfig;
import dev.graft.engine.quant.QConfigMapping;
import dev.graft.engine.quant.QuantizationParams;
import dev.graft.engine.quant.nn.ConvBn2d;
import dev.graft.engine.quant.nn.DynamicQuantizedLinear;
import dev.graft.engine.quant.nn.FusedReLU;
import dev.graft.engine.quant.nn.QuantizedConv2d;
import dev.graft.engine.quant.nn.QuantizedEmbedding;
import dev.graft.engine.quant.nn.QuantizedGELU;
import dev.graft.engine.quant.nn.QuantizedLayerNorm;
import dev.graft.engine.quant.nn.QuantizedLeaf;
import dev.graft.engine.quant.nn.QuantizedLeakyReLU;
import dev.graft.engine.quant.nn.QuantizedLinear;
import dev.graft.engine.quant.nn.QuantizedSigmoid;
import dev.graft.engine.quant.nn.QuantizedSoftmax;
import dev.graft.engine.quant.observe.Observer;
import dev.graft.engine.quant.qat.QatModule;
import dev.graft.engine.quant.report.LayerErrorReport;
import dev.graft.ops.DType;
import dev.graft.ops.InPlace;
import dev.graft.ops.LinalgOps;
import dev.graft.ops.MathOps;
import dev.graft.ops.MovementOps;
import dev.graft.ops.NNOps;
import dev.graft.ops.NNPoolOps;
import dev.graft.ops.Op;
import dev.graft.ops.QParams;
import dev.graft.ops.QuantOps;
import dev.graft.ops.QuantizedOps;
import dev.graft.ops.Tensor;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The convert pass of one block (see {@link StaticQuantizer}). It walks the graph in order, knowing for every value
 * whether it is float or quint8 (and with which qparams):
 * <ul>
 *   <li>an INT8-capable node whose qconfig is set and whose observers all saw data becomes its INT8 form; each float
 *       input gets one {@code quantize_per_tensor} (shared by all readers of that value);</li>
 *   <li>a same-qparams node (relu, pooling, views, dropout) follows its input: INT8 in, INT8 out;</li>
 *   <li>any other node, and the output, reads quint8 values through one {@code dequantize} per value.</li>
 * </ul>
 * So two adjacent INT8 operators never have a dequantize -> quantize pair between them, and block outputs are float.
 * Observer nodes are removed. Module replacements are made once, at the first specialization; later ones reuse them.
 */
public final class StaticConvert implements GraphModule.GraphPass {
    /** Node meta key: the quint8 qparams of a value that runs INT8 after convert. */
    public static final String QPARAMS = "qparams";
    /** Above this ratio of operand ranges an add runs FP32: 8 bits cannot hold both (e.g. an attention mask). */
    static final double MAX_ADD_RANGE_RATIO = 1000;

    /** What convert did across all blocks. */
    static final class Results {
        long fp32WeightBytes;
        final Map<String, Module> originals = new LinkedHashMap<>();
        final Set<String> notReached = new LinkedHashSet<>();
        final Set<String> keptFp32 = new LinkedHashSet<>();
    }

    private final StaticQuantizer.BlockPlan plan;
    private final QConfigMapping mapping;
    private final Results results;
    /** INT8 module per path (and per functional node name), made once. */
    private final Map<String, Module> made = new HashMap<>();

    StaticConvert(StaticQuantizer.BlockPlan plan, QConfigMapping mapping, Results results) {
        this.plan = plan;
        this.mapping = mapping;
        this.results = results;
    }

    /** One specialization's walk: value representations and the memoized conversions. */
    private final class Walk {
        final GraphModule owner;
        final GraphModule.Specialization spec;
        final Graph g;
        final Map<Node, QParams.PerTensor> rep = new IdentityHashMap<>();
        final Map<Node, Node> quantized = new IdentityHashMap<>();
        final Map<Node, Node> dequantized = new IdentityHashMap<>();
        final Map<String, Integer> callsPerPath = new HashMap<>();
        Node lastPlaceholder;

        Walk(GraphModule owner, GraphModule.Specialization spec) {
            this.owner = owner;
            this.spec = spec;
            this.g = spec.graph();
        }
    }

    @Override
    public void apply(GraphModule owner, GraphModule.Specialization spec) {
        Walk w = new Walk(owner, spec);
        for (Node n : w.g.nodes()) {
            if (n.target() instanceof Target.ModuleCall mc && plan.observers.containsKey(mc.path())) {
                Node v = (Node) n.args().get(0);
                n.replaceAllUsesWith(v);
                w.g.erase(n);
            } else if (n.target() instanceof Target.ModuleCall mc) {
                w.callsPerPath.merge(mc.path(), 1, Integer::sum);
            }
        }
        for (Node p : w.g.placeholders()) {
            w.lastPlaceholder = p;
        }
        for (Node n : w.g.nodes()) {
            if (n.isErased()) {
                continue;
            }
            switch (plan.patterns.role(n)) {
                case INT8 -> {
                    if (!convertInt8(w, n)) {
                        convertDynamic(w, n);
                        readAsFloat(w, n);
                    }
                }
                case SAME_QPARAMS -> {
                    if (n.args().get(0) instanceof Node in && w.rep.get(in) != null
                            && QuantPatterns.followsExactly(n, w.rep.get(in))) {
                        followInput(w, n, in);
                    } else {
                        readAsFloat(w, n);
                    }
                }
                case WEIGHT_ONLY -> {
                    weightOnly(w, n);
                    readAsFloat(w, n);
                }
                case FP32 -> readAsFloat(w, n);
            }
        }
        w.g.eliminateDeadCode();
    }

    // ---------------------------------------------------------------- INT8 operators

    private boolean convertInt8(Walk w, Node n) {
        QConfig qc = plan.qconfigFor(n, mapping);
        if (qc == null || qc.isDynamic()) {
            return false;
        }
        String where = StaticQuantizer.join(plan.path, n.name());
        if (n.target() instanceof Target.ModuleCall mc && w.callsPerPath.getOrDefault(mc.path(), 0) > 1) {
            results.keptFp32.add(where + ": module " + mc.path() + " is called more than once (one output scale each)");
            return false;
        }
        List<Node> inputs = QuantPatterns.activationInputs(n);
        if (computesInFloat(n) && inputs.stream().allMatch(in -> w.rep.get(in) == null)) {
            // Its INT8 form is quantize(f(dequantize(x))): with an FP32 input, quantizing first only adds rounding
            // (and can destroy it: softmax's input carries BERT's -FLT_MAX padding mask, a range no 8-bit scale can
            // hold). Run it FP32; INT8 readers quantize its output, whose range is sane.
            results.keptFp32.add(where + ": computes in float and its input is FP32 (nothing to gain)");
            return false;
        }
        List<QParams.PerTensor> inQ = new ArrayList<>();
        for (Node in : inputs) {
            QParams.PerTensor q = w.rep.get(in);
            if (q == null) {
                q = observed(in, where);
            }
            if (q == null) {
                return false;
            }
            inQ.add(q);
        }
        Node outValue = QuantPatterns.outputValue(n);
        QParams.PerTensor outQ = plan.patterns.hasFixedOutput(n)
                ? new QParams.PerTensor(QuantizedSoftmax.DEFAULT_OUTPUT_SCALE, 0) : observed(outValue, where);
        if (outQ == null) {
            return false;
        }
        boolean isAdd = Fusion.isFunction(n, MathOps.ADD);
        if (isAdd && rangeRatio(inQ.get(0), inQ.get(1)) > MAX_ADD_RANGE_RATIO) {
            results.keptFp32.add(where + ": add operands' ranges differ more than " + (int) MAX_ADD_RANGE_RATIO + "x");
            return false;
        }
        List<Node> qIn = new ArrayList<>();
        for (int i = 0; i < inputs.size(); i++) {
            qIn.add(quantizedValue(w, inputs.get(i), inQ.get(i)));
        }
        Node result = rewrite(w, n, qc, qIn, inQ.get(0), outQ, isAdd && outValue != n);
        result.meta().put(QPARAMS, outQ);
        w.rep.put(result, outQ);
        if (outValue != n) {
            // add -> relu fused into add_relu: the relu's readers read the add now.
            outValue.replaceAllUsesWith(result);
            w.g.erase(outValue);
        }
        return true;
    }

    /**
     * Operators whose INT8 form dequantizes, computes in float and quantizes (softmax in its FP32 mode, layer norm)
     * or looks up a table built the same way (GELU, leaky_relu, sigmoid): exact for quint8 inputs, no gain for FP32
     * ones.
     */
    private boolean computesInFloat(Node n) {
        Module m = plan.patterns.moduleOf(n);
        return m instanceof Softmax || m instanceof LayerNorm || m instanceof GELU
                || Fusion.isFunction(n, dev.graft.ops.NNOps.SOFTMAX) || Fusion.isFunction(n, dev.graft.ops.NNOps.LAYER_NORM)
                || Fusion.isFunction(n, MathOps.GELU) || Fusion.isFunction(n, MathOps.LEAKY_RELU)
                || Fusion.isFunction(n, MathOps.SIGMOID);
    }

    /** The calibrated qparams of value {@code v}, or null (and a report line) when its observer saw nothing. */
    private QParams.PerTensor observed(Node v, String where) {
        Observer o = plan.observers.get(StaticQuantizer.observerName(v));
        if (o == null) {
            return null;
        }
        if (o.observedCount() == 0) {
            results.notReached.add(where + " (observer of " + v.name() + " saw no data)");
            return null;
        }
        QuantizationParams p = o.calculateQParams();
        return new QParams.PerTensor(p.scale(), p.zeroPoint());
    }

    private static double rangeRatio(QParams.PerTensor a, QParams.PerTensor b) {
        double ra = a.scale() * 255.0;
        double rb = b.scale() * 255.0;
        return Math.max(ra, rb) / Math.max(Math.min(ra, rb), 1e-30);
    }

    private Node rewrite(Walk w, Node n, QConfig qc, List<Node> qIn, QParams.PerTensor inQ, QParams.PerTensor outQ,
                         boolean addRelu) {
        float so = outQ.scale();
        int zo = outQ.zeroPoint();
        if (n.target() instanceof Target.ModuleCall mc) {
            String path = mc.path();
            if (!made.containsKey(path)) {
                Module original = plan.patterns.moduleOf(n);
                // A QAT layer's weights convert with the qparams its fake-quant trained with.
                QatModule qat = plan.qatLayers.get(path);
                Module int8 = new QuantizedLeaf(int8Module(original, qc, StaticQuantizer.join(plan.path, path), so,
                        zo, qat == null ? null : qat.weightQParams()), inQ.scale(), inQ.zeroPoint());
                made.put(path, int8);
                w.owner.replaceModule(path, int8);
                results.originals.put(StaticQuantizer.join(plan.path, path), original);
            }
            n.setArg(0, qIn.get(0));
            return n;
        }
        Op op = n.op();
        if (op == LinalgOps.LINEAR || op == LinalgOps.CONV2D || op == NNOps.SOFTMAX || op == MathOps.LEAKY_RELU
                || op == MathOps.SIGMOID) {
            String name = "quantized_" + n.name();
            if (!made.containsKey(name)) {
                Module fp32 = op == NNOps.SOFTMAX ? new Softmax((Integer) n.args().get(1))
                        : op == MathOps.LEAKY_RELU ? new LeakyReLU(((Number) n.args().get(1)).floatValue())
                        : op == MathOps.SIGMOID ? new Sigmoid() : functionalLayer(w, n);
                Module int8 = new QuantizedLeaf(int8Module(fp32, qc, StaticQuantizer.join(plan.path, n.name()), so,
                        zo, null), inQ.scale(), inQ.zeroPoint());
                made.put(name, int8);
                w.owner.addSubmodule(name, int8);
                // Functional layers are reported by the path of their INT8 module (for LayerErrorReport).
                results.originals.put(StaticQuantizer.join(plan.path, name), fp32);
            }
            return replace(w, n, new Target.ModuleCall(name), List.of(qIn.get(0)));
        }
        if (op == MathOps.ADD || op == MathOps.MUL || op == LinalgOps.MATMUL) {
            Op q = op == MathOps.ADD ? (addRelu ? QuantizedOps.ADD_RELU : QuantizedOps.ADD)
                    : op == MathOps.MUL ? QuantizedOps.MUL : QuantizedOps.MATMUL;
            return replace(w, n, new Target.Function(q), List.of(qIn.get(0), qIn.get(1), so, zo));
        }
        // cat
        return replace(w, n, new Target.Function(QuantizedOps.CAT), List.of(new ArrayList<Object>(qIn),
                n.args().get(1), so, zo));
    }

    /** The INT8 form of {@code fp32}; {@code weightQ} (QAT) or else a fresh weight observer sets weight qparams. */
    private Module int8Module(Module fp32, QConfig qc, String where, float so, int zo, QuantizationParams weightQ) {
        boolean relu = fp32 instanceof FusedReLU;
        Module layer = fp32 instanceof FusedReLU f ? f.layer() : fp32;
        if (layer instanceof ConvBn2d cb) {
            layer = cb.folded(); // QAT trained conv and BN apart: fold now, from the final running statistics
        }
        return switch (layer) {
            case Linear l -> {
                QuantizationParams wq = weightQ != null ? weightQ : WeightQParams.of(qc, l.weight(), where);
                results.fp32WeightBytes += 4L * l.weight().numel();
                yield QuantizedLinear.fromFloat(l, wq.scales(), wq.zeroPoints(), so, zo, relu);
            }
            case Conv2d c -> {
                QuantizationParams wq = weightQ != null ? weightQ : WeightQParams.of(qc, c.weight(), where);
                results.fp32WeightBytes += 4L * c.weight().numel();
                yield QuantizedConv2d.fromFloat(c, wq.scales(), wq.zeroPoints(), so, zo, relu);
            }
            case LayerNorm ln -> QuantizedLayerNorm.fromFloat(ln, so, zo);
            case GELU ge -> new QuantizedGELU(ge.tanhApproximation(), so, zo);
            case Softmax sm -> new QuantizedSoftmax(sm.dim(), so, zo, QuantizedSoftmax.Mode.FP32);
            case LeakyReLU lr -> new QuantizedLeakyReLU(lr.negativeSlope(), so, zo);
            case Sigmoid sg -> new QuantizedSigmoid(so, zo);
            default -> throw new IllegalStateException(where + ": no INT8 form of " + layer.getClass().getSimpleName());
        };
    }

    /** A Linear or Conv2d module holding the weight and bias of a functional linear/conv2d node. */
    private static Module functionalLayer(Walk w, Node n) {
        Tensor weight = attr(w, (Node) n.args().get(1));
        Tensor bias = n.args().size() > 2 && n.args().get(2) instanceof Node b ? attr(w, b) : null;
        if (n.op() == LinalgOps.LINEAR) {
            return Linear.wrap(weight, bias);
        }
        int[] s = weight.shape();
        int groups = (Integer) n.args().get(6);
        Conv2d conv = new Conv2d(s[1] * groups, s[0], new int[] {s[2], s[3]}, (int[]) n.args().get(3),
                (int[]) n.args().get(4), (int[]) n.args().get(5), groups, bias != null, new java.util.Random(0));
        InPlace.copy(conv.weight(), weight.concrete().to(DType.FLOAT32));
        if (bias != null) {
            InPlace.copy(conv.bias(), bias.concrete().to(DType.FLOAT32));
        }
        return conv;
    }

    private static Tensor attr(Walk w, Node n) {
        String path = ((Target.Attr) n.target()).path();
        Tensor t = w.owner.stateDict().get(path);
        return t != null ? t : w.spec.constants().get(path);
    }

    // ---------------------------------------------------------------- same-qparams, weight-only, float readers

    private void followInput(Walk w, Node n, Node in) {
        QParams.PerTensor q = w.rep.get(in);
        Module m = plan.patterns.moduleOf(n);
        Node result;
        if (m instanceof Dropout || m instanceof Identity) {
            n.replaceAllUsesWith(in);
            w.g.erase(n);
            return;
        } else if (m instanceof ReLU || Fusion.isFunction(n, MathOps.RELU)) {
            result = replace(w, n, new Target.Function(QuantizedOps.RELU), List.of(in));
        } else if (m instanceof MaxPool2d p) {
            result = replace(w, n, new Target.Function(QuantizedOps.MAX_POOL2D), withArgs(in, p.operatorArgs()));
        } else if (m instanceof AvgPool2d p) {
            result = replace(w, n, new Target.Function(QuantizedOps.AVG_POOL2D), withArgs(in, p.operatorArgs()));
        } else if (m instanceof AdaptiveAvgPool2d p) {
            result = replace(w, n, new Target.Function(QuantizedOps.ADAPTIVE_AVG_POOL2D),
                    withArgs(in, p.operatorArgs()));
        } else if (Fusion.isFunction(n, NNPoolOps.MAX_POOL2D) || Fusion.isFunction(n, NNPoolOps.AVG_POOL2D)
                || Fusion.isFunction(n, NNPoolOps.ADAPTIVE_AVG_POOL2D)) {
            Op pool = n.op() == NNPoolOps.MAX_POOL2D ? QuantizedOps.MAX_POOL2D : n.op() == NNPoolOps.AVG_POOL2D
                    ? QuantizedOps.AVG_POOL2D : QuantizedOps.ADAPTIVE_AVG_POOL2D;
            result = replace(w, n, new Target.Function(pool), n.args());
        } else if (Fusion.isFunction(n, MovementOps.PAD)) {
            result = replace(w, n, new Target.Function(QuantizedOps.PAD), n.args());
        } else if (Fusion.isFunction(n, NNPoolOps.UPSAMPLE_BILINEAR2D)) {
            result = replace(w, n, new Target.Function(QuantizedOps.UPSAMPLE_BILINEAR2D), n.args());
        } else {
            result = n; // views, split and Flatten carry the per-tensor qparams through
        }
        result.meta().put(QPARAMS, q);
        w.rep.put(result, q);
    }

    private static List<Object> withArgs(Node in, Object[] rest) {
        List<Object> args = new ArrayList<>();
        args.add(in);
        args.addAll(List.of(rest));
        return args;
    }

    /**
     * A Linear whose qconfig is dynamic inside a static model (PyTorch FX allows the mix): int8 weights, activations
     * quantized per call from their own range, float in and out. For layers whose input no calibrated scale serves
     * well (BERT's FFN output projections read GELU's long tail) while their weights still shrink 4x.
     */
    private void convertDynamic(Walk w, Node n) {
        QConfig qc = plan.qconfigFor(n, mapping);
        if (qc == null || !qc.isDynamic() || !(n.target() instanceof Target.ModuleCall mc)
                || !(plan.patterns.moduleOf(n) instanceof Linear l)) {
            return;
        }
        String path = mc.path();
        if (made.containsKey(path) || w.callsPerPath.getOrDefault(path, 0) > 1) {
            return;
        }
        String where = StaticQuantizer.join(plan.path, path);
        QuantizationParams wq = WeightQParams.of(qc, l.weight(), where);
        Module q = DynamicQuantizedLinear.fromFloat(l, wq.scales(), wq.zeroPoints(), false);
        results.fp32WeightBytes += 4L * l.weight().numel();
        made.put(path, q);
        w.owner.replaceModule(path, q);
        results.originals.put(where, l);
    }

    private void weightOnly(Walk w, Node n) {
        String path = ((Target.ModuleCall) n.target()).path();
        if (made.containsKey(path) || !(plan.patterns.moduleOf(n) instanceof Embedding e)) {
            return;
        }
        QConfig qc = plan.qconfigFor(n, mapping);
        if (qc == null) {
            return;
        }
        String where = StaticQuantizer.join(plan.path, path);
        QuantizationParams wq = WeightQParams.of(qc, e.weight(), where);
        Module q = QuantizedEmbedding.fromFloat(e, wq.scales(), wq.zeroPoints());
        results.fp32WeightBytes += 4L * e.weight().numel();
        made.put(path, q);
        w.owner.replaceModule(path, q);
        results.originals.put(where, e);
    }

    /** Every quint8 input of a float node (or the output) is read through one shared dequantize. */
    private void readAsFloat(Walk w, Node n) {
        for (Node in : n.inputNodes()) {
            if (w.rep.get(in) != null) {
                n.replaceInput(in, w.dequantized.computeIfAbsent(in, v -> {
                    Node d;
                    try (var at = w.g.insertAfter(v)) {
                        d = w.g.callFunction(QuantOps.DEQUANTIZE, v);
                    }
                    d.meta().put("shape", v.meta().get("shape"));
                    d.meta().put("dtype", DType.FLOAT32);
                    return d;
                }));
            }
        }
    }

    private Node quantizedValue(Walk w, Node v, QParams.PerTensor q) {
        if (w.rep.get(v) != null) {
            return v;
        }
        return w.quantized.computeIfAbsent(v, x -> {
            Node qn;
            try (var at = w.g.insertAfter(x.kind() == NodeKind.PLACEHOLDER ? w.lastPlaceholder : x)) {
                qn = w.g.callFunction(QuantOps.QUANTIZE_PER_TENSOR, x, q.scale(), q.zeroPoint(), DType.UINT8);
            }
            qn.meta().putAll(x.meta());
            qn.meta().put(QPARAMS, q);
            w.rep.put(qn, q);
            return qn;
        });
    }

    /** A new node with {@code target} and {@code args} in place of {@code n} (targets are final). */
    private static Node replace(Walk w, Node n, Target target, List<Object> args) {
        Node r;
        try (var at = w.g.insertBefore(n)) {
            r = w.g.create(target, args, n.name());
        }
        r.meta().putAll(n.meta());
        n.replaceAllUsesWith(r);
        w.g.erase(n);
        return r;
    }
}
