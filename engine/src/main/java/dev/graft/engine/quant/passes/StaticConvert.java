package dev.graft.engine.quant.passes;

import dev.graft.engine.Module;
import dev.graft.engine.graph.Graph;
import dev.graft.engine.graph.GraphModule;
import dev.graft.engine.graph.Meta;
import dev.graft.engine.graph.Node;
import dev.graft.engine.graph.NodeKind;
import dev.graft.engine.graph.Target;
import dev.graft.engine.quant.OpRule;
import dev.graft.engine.quant.QConfig;
import dev.graft.engine.quant.QuantRules;
import dev.graft.engine.nn.Linear;
import dev.graft.engine.quant.nn.QuantizedLeaf;
import dev.graft.engine.quant.nn.QuantizedLinearFloatOut;
import dev.graft.engine.quant.observe.Observer;
import dev.graft.engine.quant.qat.QatModule;
import dev.graft.ops.DType;
import dev.graft.ops.LinalgOps;
import dev.graft.ops.QParams;
import dev.graft.ops.QuantOps;
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
 * The convert pass of one block (see {@link StaticQuantizer}), run on the fused FP32 graph. It walks the graph in
 * order, knowing for every value whether it is float or quint8 (and with which qparams), and does what each node's
 * {@link OpRule} says:
 * <ul>
 *   <li>an INT8 node whose qconfig is set and whose observers all saw data becomes its INT8 form; each float input
 *       gets one {@code quantize_per_tensor} (shared by all readers of that value);</li>
 *   <li>a same-qparams node (relu, pooling, views, dropout) follows its input: INT8 in, INT8 out;</li>
 *   <li>any other node, and the output, reads quint8 values through one {@code dequantize} per value.</li>
 * </ul>
 * So two adjacent INT8 operators never have a dequantize -> quantize pair between them, and block outputs are float.
 * An INT8 module is made once per path (or functional node) and kept in the block's state; later graphs use it.
 */
final class StaticConvert implements GraphModule.GraphPass {

    /** What convert did across all blocks. */
    static final class Results {
        long fp32WeightBytes;
        final Map<String, Module> originals = new LinkedHashMap<>();
        final Set<String> notReached = new LinkedHashSet<>();
        final Set<String> keptFp32 = new LinkedHashSet<>();
    }

    private final BlockState state;
    private final Results results;

    StaticConvert(BlockState state, Results results) {
        this.state = state;
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

        Walk(GraphModule owner, GraphModule.Specialization spec, Graph g) {
            this.owner = owner;
            this.spec = spec;
            this.g = g;
        }

        Tensor attr(Node n) {
            String path = ((Target.Attr) n.target()).path();
            Tensor t = owner.stateDict().get(path);
            return t != null ? t : spec.constants().get(path);
        }
    }

    @Override
    public void apply(GraphModule owner, GraphModule.Specialization spec, Graph g) {
        Walk w = new Walk(owner, spec, g);
        for (Node n : g.nodes()) {
            if (n.target() instanceof Target.ModuleCall mc) {
                w.callsPerPath.merge(mc.path(), 1, Integer::sum);
            }
        }
        for (Node p : g.placeholders()) {
            w.lastPlaceholder = p;
        }
        for (Node n : g.nodes()) {
            if (n.isErased()) {
                continue;
            }
            switch (state.role(n)) {
                case INT8 -> {
                    if (!convertInt8(w, n)) {
                        convertDynamic(w, n);
                        readAsFloat(w, n);
                    }
                }
                case SAME_QPARAMS -> {
                    if (n.args().get(0) instanceof Node in && w.rep.get(in) != null
                            && state.rule(n).followsExactly(n, w.rep.get(in))) {
                        followInput(w, n, in);
                    } else {
                        readAsFloat(w, n);
                    }
                }
                case WEIGHT_ONLY -> {
                    weightOnly(n);
                    readAsFloat(w, n);
                }
                case FP32 -> readAsFloat(w, n);
            }
        }
        g.eliminateDeadCode();
    }

    // ---------------------------------------------------------------- INT8 operators

    private boolean convertInt8(Walk w, Node n) {
        QConfig qc = state.qconfigFor(n);
        if (qc == null || qc.isDynamic()) {
            return false;
        }
        OpRule rule = state.rule(n);
        String where = BlockState.join(state.path, n.name());
        if (n.target() instanceof Target.ModuleCall mc && w.callsPerPath.getOrDefault(mc.path(), 0) > 1) {
            results.keptFp32.add(where + ": module " + mc.path() + " is called more than once (one output scale each)");
            return false;
        }
        List<Node> inputs = rule.activationInputs(n);
        if (rule.computesInFloat() && inputs.stream().allMatch(in -> w.rep.get(in) == null)) {
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
        Node outValue = BlockState.outputValue(n);
        boolean floatOut = state.mapping.floatOutputs() && outValue == n && isLinear(w, n) && readAsFloatOnly(n);
        QParams.PerTensor outQ = floatOut ? null
                : rule.hasFixedOutput() ? QuantRules.FIXED_OUTPUT : observed(outValue, where);
        if (outQ == null && !floatOut) {
            return false;
        }
        if (rule.maxOperandRangeRatio() > 0 && rangeRatio(inQ.get(0), inQ.get(1)) > rule.maxOperandRangeRatio()) {
            results.keptFp32.add(where + ": " + rule.name() + " operands' ranges differ more than "
                    + (int) rule.maxOperandRangeRatio() + "x");
            return false;
        }
        Map<Node, Node> qIn = new IdentityHashMap<>();
        for (int i = 0; i < inputs.size(); i++) {
            qIn.put(inputs.get(i), quantizedValue(w, inputs.get(i), inQ.get(i)));
        }
        Node result = rewrite(w, n, rule, qc, qIn, inputs, inQ.get(0), outQ, outValue != n);
        if (floatOut) {
            return true;   // a float value: its readers take it as it is
        }
        result.putMeta(Meta.QPARAMS, outQ);
        w.rep.put(result, outQ);
        if (outValue != n) {
            // add -> relu fused into add_relu: the relu's readers read the add now.
            outValue.replaceAllUsesWith(result);
            w.g.erase(outValue);
        }
        return true;
    }

    /** The calibrated qparams of value {@code v}, or null (and a report line) when its observer saw nothing. */
    private QParams.PerTensor observed(Node v, String where) {
        Observer o = state.observers.get(BlockState.observerName(v));
        if (o == null) {
            return null;
        }
        if (o.observedCount() == 0) {
            results.notReached.add(where + " (observer of " + v.name() + " saw no data)");
            return null;
        }
        if (!(o.calculateQParams() instanceof QParams.PerTensor p)) {
            throw new IllegalStateException(where + ": the activation observer of " + v.name() + " is per channel;"
                    + " INT8 activations are quantized per tensor");
        }
        return p;
    }

    private static double rangeRatio(QParams.PerTensor a, QParams.PerTensor b) {
        double ra = a.scale() * 255.0;
        double rb = b.scale() * 255.0;
        return Math.max(ra, rb) / Math.max(Math.min(ra, rb), 1e-30);
    }

    private Node rewrite(Walk w, Node n, OpRule rule, QConfig qc, Map<Node, Node> qIn, List<Node> inputs,
                         QParams.PerTensor inQ, QParams.PerTensor outQ, boolean fusedRelu) {
        if (n.target() instanceof Target.ModuleCall mc) {
            String path = mc.path();
            if (!state.converted.containsKey(path)) {
                Module original = state.moduleOf(n);
                // A QAT layer's weights convert with the qparams its fake-quant trained with.
                QatModule qat = state.qatLayers.get(path);
                String where = BlockState.join(state.path, path);
                Module layer = outQ == null ? floatOutLinear((Linear) original, qc, where)
                        : rule.int8().make(original, context(qc, where, outQ, qat == null ? null : qat.weightQParams()));
                Module int8 = new QuantizedLeaf(layer, inQ.scale(), inQ.zeroPoint());
                state.converted.put(path, int8);
                w.owner.replaceModule(path, int8);
                results.originals.put(where, original);
            }
            n.setArg(0, qIn.get(inputs.get(0)));
            return n;
        }
        if (rule.int8() != null) {
            // A functional layer: its FP32 module (weights from the block), made INT8 as the module form is.
            String name = "quantized_" + n.name();
            if (!state.converted.containsKey(name)) {
                Module fp32 = rule.asModule().make(n, w::attr);
                String where = BlockState.join(state.path, n.name());
                Module layer = outQ == null ? floatOutLinear((Linear) fp32, qc, where)
                        : rule.int8().make(fp32, context(qc, where, outQ, null));
                Module int8 = new QuantizedLeaf(layer, inQ.scale(), inQ.zeroPoint());
                state.converted.put(name, int8);
                w.owner.addSubmodule(name, int8);
                // Functional layers are reported by the path of their INT8 module (for LayerErrorReport).
                results.originals.put(BlockState.join(state.path, name), fp32);
            }
            return replace(w, n, new Target.ModuleCall(name), List.of(qIn.get(inputs.get(0))));
        }
        // An operator on quint8 tensors: the arguments with each activation quantized, then the output qparams.
        List<Object> args = new ArrayList<>();
        for (Object a : n.args()) {
            args.add(substitute(a, qIn));
        }
        args.add(outQ.scale());
        args.add(outQ.zeroPoint());
        Target target = new Target.Function(fusedRelu && rule.int8OpWithRelu() != null ? rule.int8OpWithRelu()
                : rule.int8Op());
        return replace(w, n, target, args);
    }

    private boolean isLinear(Walk w, Node n) {
        if (n.target() instanceof Target.ModuleCall mc) {
            return state.moduleOf(n) instanceof Linear && !state.qatLayers.containsKey(mc.path());
        }
        return n.target() instanceof Target.Function f && f.op() == LinalgOps.LINEAR;
    }

    /**
     * Whether every reader of {@code v} runs FP32 (directly, or through same-qparams nodes such as dropout that then
     * follow a float input): then an INT8 Linear making {@code v} may output float ({@link QuantizedLinearFloatOut}).
     */
    private boolean readAsFloatOnly(Node v) {
        for (Node u : v.users()) {
            if (u.kind() == NodeKind.OUTPUT) {
                continue;
            }
            OpRule.Role role = state.role(u);
            if (role == OpRule.Role.SAME_QPARAMS) {
                if (!readAsFloatOnly(u)) {
                    return false;
                }
            } else if (role == OpRule.Role.INT8) {
                QConfig qc = state.qconfigFor(u);
                if (qc != null && !qc.isDynamic()) {
                    return false;
                }
            }
        }
        return true;
    }

    /** A static INT8 Linear with a float output stage, weights from the qconfig's weight observer. */
    private Module floatOutLinear(Linear linear, QConfig qc, String where) {
        QParams wq = weightQParams(qc, linear.weight(), where);
        return QuantizedLinearFloatOut.fromFloat(linear, wq.scales(), wq.zeroPoints());
    }

    private static Object substitute(Object a, Map<Node, Node> qIn) {
        if (a instanceof Node x && qIn.containsKey(x)) {
            return qIn.get(x);
        }
        if (a instanceof List<?> list) {
            List<Object> out = new ArrayList<>(list.size());
            for (Object o : list) {
                out.add(substitute(o, qIn));
            }
            return out;
        }
        return a;
    }

    /** How an INT8 module is built here: the output qparams, and weight qparams from QAT or the weight observer. */
    private OpRule.Int8Context context(QConfig qc, String where, QParams.PerTensor out, QParams qatWeight) {
        return new Context(qc, where, out, qatWeight, false);
    }

    private final class Context implements OpRule.Int8Context {
        private final QConfig qc;
        private final String where;
        private final QParams.PerTensor out;
        private final QParams qatWeight;
        private final boolean relu;

        Context(QConfig qc, String where, QParams.PerTensor out, QParams qatWeight, boolean relu) {
            this.qc = qc;
            this.where = where;
            this.out = out;
            this.qatWeight = qatWeight;
            this.relu = relu;
        }

        public QParams.PerTensor output() {
            return out;
        }

        public boolean relu() {
            return relu;
        }

        public OpRule.Int8Context withRelu() {
            return new Context(qc, where, out, qatWeight, true);
        }

        public QParams weight(Tensor weight) {
            if (qatWeight != null) {
                results.fp32WeightBytes += 4L * weight.numel();
                return qatWeight;
            }
            return weightQParams(qc, weight, where);
        }

        public String where() {
            return where;
        }
    }

    // ---------------------------------------------------------------- same-qparams, weight-only, float readers

    private void followInput(Walk w, Node n, Node in) {
        QParams.PerTensor q = w.rep.get(in);
        OpRule rule = state.rule(n);
        Node result = switch (rule.follow()) {
            case ERASE -> {
                n.replaceAllUsesWith(in);
                w.g.erase(n);
                yield null;
            }
            case KEEP -> n; // views, split and Flatten carry the per-tensor qparams through
            case REPLACE -> {
                List<Object> args;
                if (n.target() instanceof Target.ModuleCall) {
                    args = new ArrayList<>();
                    args.add(in);
                    args.addAll(rule.moduleOpArgs(state.moduleOf(n)));
                } else {
                    args = n.args();
                }
                yield replace(w, n, new Target.Function(rule.int8Op()), args);
            }
        };
        if (result != null) {
            result.putMeta(Meta.QPARAMS, q);
            w.rep.put(result, q);
        }
    }

    /**
     * A layer whose qconfig is dynamic inside a static model (PyTorch FX allows the mix): int8 weights, activations
     * quantized per call from their own range, float in and out. For layers whose input no calibrated scale serves
     * well (BERT's FFN output projections read GELU's long tail) while their weights still shrink 4x.
     */
    private void convertDynamic(Walk w, Node n) {
        QConfig qc = state.qconfigFor(n);
        OpRule rule = state.rule(n);
        if (qc == null || !qc.isDynamic() || !(n.target() instanceof Target.ModuleCall mc) || rule == null
                || rule.dynamic() == null) {
            return;
        }
        String path = mc.path();
        if (state.converted.containsKey(path) || w.callsPerPath.getOrDefault(path, 0) > 1) {
            return;
        }
        Module layer = state.moduleOf(n);
        String where = BlockState.join(state.path, path);
        Module q = rule.dynamic().make(layer, weight -> weightQParams(qc, weight, where), false,
                qc.isPerTokenDynamic());
        state.converted.put(path, q);
        state.block.replaceModule(path, q);
        results.originals.put(where, layer);
    }

    /** A weight observer's qparams for {@code weight}, counting the weight as quantized. */
    private QParams weightQParams(QConfig qc, Tensor weight, String where) {
        results.fp32WeightBytes += 4L * weight.numel();
        return WeightQParams.of(qc, weight, where);
    }

    private void weightOnly(Node n) {
        OpRule rule = state.rule(n);
        if (!(n.target() instanceof Target.ModuleCall mc) || state.converted.containsKey(mc.path())
                || rule.weightOnly() == null) {
            return;
        }
        QConfig qc = state.qconfigFor(n);
        if (qc == null) {
            return;
        }
        Module layer = state.moduleOf(n);
        String where = BlockState.join(state.path, mc.path());
        Module q = rule.weightOnly().make(layer, weight -> weightQParams(qc, weight, where), false, false);
        state.converted.put(mc.path(), q);
        state.block.replaceModule(mc.path(), q);
        results.originals.put(where, layer);
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
                    d.putMeta(Meta.SHAPE, v.meta(Meta.SHAPE));
                    d.putMeta(Meta.DTYPE, DType.FLOAT32);
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
            qn.copyMetaFrom(x);
            qn.putMeta(Meta.QPARAMS, q);
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
        r.copyMetaFrom(n);
        n.replaceAllUsesWith(r);
        w.g.erase(n);
        return r;
    }
}
