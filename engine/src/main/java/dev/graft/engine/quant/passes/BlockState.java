package dev.graft.engine.quant.passes;

import dev.graft.engine.Module;
import dev.graft.engine.graph.GraphModule;
import dev.graft.engine.graph.Meta;
import dev.graft.engine.graph.Node;
import dev.graft.engine.graph.Target;
import dev.graft.engine.quant.OpRule;
import dev.graft.engine.quant.QConfig;
import dev.graft.engine.quant.QConfigMapping;
import dev.graft.engine.quant.QuantRules;
import dev.graft.engine.quant.observe.Observer;
import dev.graft.engine.quant.qat.FakeQuantize;
import dev.graft.engine.quant.qat.QatModule;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What static quantization has decided for one traced block, shared by all its specializations: the state its
 * passes ({@link Fusion}, {@link ObserverInsertion}, {@link StaticConvert}) hold explicitly, so that each pass is a
 * function of a specialization's FP32 source graph and this state. A decision about a module path or a value is
 * made once, the first time a pass meets it, and every later graph (another specialization, a re-trace for new
 * shapes after convert) gets the same one.
 */
final class BlockState {
    final String path;
    final GraphModule block;
    final QConfigMapping mapping;
    /** Conv-bn becomes a {@link dev.graft.engine.quant.nn.ConvBn2d} (QAT, folded at convert) instead of being folded now. */
    final boolean keepConvBn;
    /** The block's modules by path when prepare began: what the FP32 graphs' call_module nodes name. */
    final Map<String, Module> sourceModules;
    /** Fusion's replacements by path (FusedReLU, a folded Conv2d, ConvBn2d and the Identity at its BN's path). */
    final Map<String, Module> fused = new HashMap<>();
    /** What fusion did: layer path -> pattern. */
    final Map<String, String> fusedPatterns = new LinkedHashMap<>();
    /** Activation observers by name ({@code observer_<value>}). */
    final Map<String, Observer> observers = new LinkedHashMap<>();
    /** QAT only: the activation fake-quant modules, by the same names as {@link #observers}. */
    final Map<String, FakeQuantize> fakeQuants = new LinkedHashMap<>();
    /** QAT only: the weight-fake-quantizing layers by module path (their weights convert with their qparams). */
    final Map<String, QatModule> qatLayers = new LinkedHashMap<>();
    /** Convert's replacements by module path, or by {@code quantized_<node>} for a functional node. */
    final Map<String, Module> converted = new HashMap<>();

    BlockState(String path, GraphModule block, QConfigMapping mapping, boolean keepConvBn) {
        this.path = path;
        this.block = block;
        this.mapping = mapping;
        this.keepConvBn = keepConvBn;
        this.sourceModules = new HashMap<>(block.namedModules());
    }

    /** The module a call_module node names, as quantization sees it: after fusion, before QAT and convert. */
    Module moduleOf(Node n) {
        if (!(n.target() instanceof Target.ModuleCall mc)) {
            return null;
        }
        Module f = fused.get(mc.path());
        return f != null ? f : sourceModules.get(mc.path());
    }

    /** The FP32 module a call_module node named when the block was traced. */
    Module sourceModuleOf(Node n) {
        return n.target() instanceof Target.ModuleCall mc ? sourceModules.get(mc.path()) : null;
    }

    OpRule rule(Node n) {
        return QuantRules.of(n, moduleOf(n));
    }

    OpRule.Role role(Node n) {
        return QuantRules.role(n, moduleOf(n));
    }

    QConfig qconfigFor(Node n) {
        if (mapping.hasNode(path, n.name())) {
            return mapping.qconfigForNode(path, n.name());
        }
        if (n.target() instanceof Target.ModuleCall mc) {
            Module m = moduleOf(n);
            return m == null ? null : mapping.qconfigFor(join(path, mc.path()), m);
        }
        if (n.target() instanceof Target.Function f) {
            String enclosing = n.meta(Meta.MODULE_PATH);
            return mapping.qconfigFor(join(path, enclosing == null ? "" : enclosing), f.op());
        }
        return null;
    }

    /** The node whose value is an INT8 node's output: the relu fused into an add, else the node itself. */
    static Node outputValue(Node n) {
        return n.hasMeta(Meta.FUSED_RELU) ? Fusion.singleUser(n) : n;
    }

    static String observerName(Node v) {
        return "observer_" + v.name();
    }

    static String join(String a, String b) {
        return a.isEmpty() ? b : b.isEmpty() ? a : a + "." + b;
    }
}
