package dev.graft.engine.quant.passes;

import dev.graft.engine.Module;
import dev.graft.engine.graph.Graph;
import dev.graft.engine.graph.GraphModule;
import dev.graft.engine.graph.Node;
import dev.graft.engine.graph.NodeKind;
import dev.graft.engine.quant.OpRule;
import dev.graft.engine.quant.QConfig;
import dev.graft.engine.quant.QuantRules;
import dev.graft.engine.quant.QuantSpec;
import dev.graft.engine.quant.observe.Observer;
import dev.graft.engine.quant.qat.FakeQuantize;

import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * Prepare's graph pass: an observer node after every float value an INT8 node reads (its activation inputs, as its
 * {@link OpRule} names them) and after its output unless the rule fixes it. Observers are block modules named
 * {@code observer_<value>}, made once; a re-trace produces the same node names, so its observers are the same modules
 * and calibration over several shapes accumulates into one set of statistics. For QAT the observer sits inside a
 * {@link FakeQuantize}, which is what the node calls.
 */
final class ObserverInsertion implements GraphModule.GraphPass {
    private final BlockState state;
    private final boolean qat;

    ObserverInsertion(BlockState state, boolean qat) {
        this.state = state;
        this.qat = qat;
    }

    @Override
    public void apply(GraphModule owner, GraphModule.Specialization spec, Graph g) {
        Map<Node, QConfig> observe = new LinkedHashMap<>();
        for (Node n : g.nodes()) {
            if (state.role(n) != OpRule.Role.INT8) {
                continue;
            }
            QConfig qc = state.qconfigFor(n);
            if (qc == null || qc.isDynamic()) {
                continue;
            }
            OpRule rule = state.rule(n);
            for (Node in : rule.activationInputs(n)) {
                if (QuantRules.isFloat(in)) {
                    observe.putIfAbsent(in, qc);
                }
            }
            if (!rule.hasFixedOutput()) {
                observe.putIfAbsent(BlockState.outputValue(n), qc);
            }
        }
        Node lastPlaceholder = null;
        for (Node p : g.placeholders()) {
            lastPlaceholder = p;
        }
        Set<String> done = new LinkedHashSet<>();
        for (Map.Entry<Node, QConfig> e : observe.entrySet()) {
            Node v = e.getKey();
            String name = BlockState.observerName(v);
            if (!done.add(name)) {
                continue;
            }
            if (!state.observers.containsKey(name)) {
                makeObserver(name, v, e.getValue());
            }
            Node obs;
            // Placeholders come first in a graph, so a placeholder's observer goes after the last of them.
            try (var at = g.insertAfter(v.kind() == NodeKind.PLACEHOLDER ? lastPlaceholder : v)) {
                obs = g.callModule(name, v);
            }
            obs.copyMetaFrom(v);
            v.replaceAllUsesWith(obs);
            obs.setArg(0, v);
        }
    }

    private void makeObserver(String name, Node v, QConfig qc) {
        Module made = qc.createActivation();
        Observer observer = switch (made) {
            case Observer o -> o;
            case FakeQuantize fq -> fq.observer();
            default -> throw new IllegalStateException("activation factory made neither an observer nor a fake-quant");
        };
        String label = BlockState.join(state.path, v.name());
        observer.setLabel(label);
        state.observers.put(name, observer);
        if (qat) {
            requireFullRange(observer, label);
            FakeQuantize fq = made instanceof FakeQuantize f ? f : new FakeQuantize(observer);
            state.fakeQuants.put(name, fq);
            state.block.addSubmodule(name, fq);
        } else {
            state.block.addSubmodule(name, observer);
        }
    }

    /**
     * Convert's INT8 operators quantize activations to the dtype's full range, so a QAT forward clamping to a
     * reduced one would train for another model than the one it converts to (PyTorch's reduce_range mismatch).
     */
    private static void requireFullRange(Observer o, String where) {
        QuantSpec s = o.spec();
        if (s.quantMin() != s.dtype().min() || s.quantMax() != s.dtype().max()) {
            throw new IllegalArgumentException("prepareQat: the activation fake-quant of " + where + " uses ["
                    + s.quantMin() + ", " + s.quantMax() + "] but the converted INT8 operators use the full "
                    + s.dtype() + " range [" + s.dtype().min() + ", " + s.dtype().max() + "]; QAT would train for"
                    + " another model than convert makes (use StaticQuantizer.qatMapping(), reduce_range off)");
        }
    }
}
