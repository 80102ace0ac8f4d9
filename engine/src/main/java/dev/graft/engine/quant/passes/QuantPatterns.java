package dev.graft.engine.quant.passes;

import dev.graft.engine.Module;
import dev.graft.engine.graph.GraphOps;
import dev.graft.engine.graph.Node;
import dev.graft.engine.graph.Target;
import dev.graft.engine.nn.AdaptiveAvgPool2d;
import dev.graft.engine.nn.AvgPool2d;
import dev.graft.engine.nn.Conv2d;
import dev.graft.engine.nn.Dropout;
import dev.graft.engine.nn.Embedding;
import dev.graft.engine.nn.Flatten;
import dev.graft.engine.nn.GELU;
import dev.graft.engine.nn.Identity;
import dev.graft.engine.nn.LayerNorm;
import dev.graft.engine.nn.Linear;
import dev.graft.engine.nn.MaxPool2d;
import dev.graft.engine.nn.ReLU;
import dev.graft.engine.nn.Softmax;
import dev.graft.engine.quant.nn.ConvBn2d;
import dev.graft.engine.quant.nn.FusedReLU;
import dev.graft.ops.DType;
import dev.graft.ops.LinalgOps;
import dev.graft.ops.MathOps;
import dev.graft.ops.MovementOps;
import dev.graft.ops.NNOps;
import dev.graft.ops.NNPoolOps;
import dev.graft.ops.Op;
import dev.graft.ops.QParams;
import dev.graft.ops.QuantOps;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What static quantization can do with each node, decided from the block's modules as prepare saw them (after
 * fusion), so every specialization of a block is classified the same way.
 * <ul>
 *   <li>{@link Role#INT8}: an operator with its own output qparams (linear, conv, layer_norm, gelu, softmax, add,
 *       mul, matmul, cat, leaky_relu, sigmoid): needs observers on its float inputs and on its output (softmax and
 *       sigmoid have fixed output qparams);</li>
 *   <li>{@link Role#SAME_QPARAMS}: relu, max/avg pooling, bilinear upsampling, constant padding, dropout/identity in
 *       eval, and views (split and its getitems included): INT8 when their input already is, with the input's qparams
 *       (PyTorch's "general tensor shape ops" and fixed-range-preserving ops), so they need no observer of their
 *       own;</li>
 *   <li>{@link Role#WEIGHT_ONLY}: embedding (int8 rows, float output);</li>
 *   <li>{@link Role#FP32}: everything else.</li>
 * </ul>
 */
final class QuantPatterns {
    enum Role { INT8, SAME_QPARAMS, WEIGHT_ONLY, FP32 }

    private static final Set<Op> VIEWS = Set.of(MovementOps.VIEW, MovementOps.RESHAPE, MovementOps.PERMUTE,
            MovementOps.TRANSPOSE, MovementOps.FLATTEN, MovementOps.CONTIGUOUS, MovementOps.SELECT, MovementOps.SLICE,
            MovementOps.UNSQUEEZE, MovementOps.SQUEEZE, MovementOps.SPLIT, MovementOps.UNFLATTEN, GraphOps.GET_ITEM);
    private static final Set<Op> SAME_QPARAMS_OPS = Set.of(MathOps.RELU, NNPoolOps.MAX_POOL2D, NNPoolOps.AVG_POOL2D,
            NNPoolOps.ADAPTIVE_AVG_POOL2D, NNPoolOps.UPSAMPLE_BILINEAR2D, MovementOps.PAD);

    private final Map<String, Module> modules;

    /** @param modules the block's modules by path, as they were before convert swapped any */
    QuantPatterns(Map<String, Module> modules) {
        this.modules = modules;
    }

    Module moduleOf(Node n) {
        return n.target() instanceof Target.ModuleCall mc ? modules.get(mc.path()) : null;
    }

    Role role(Node n) {
        switch (n.target()) {
            case Target.ModuleCall mc -> {
                Module m = modules.get(mc.path());
                if (n.args().size() != 1) {
                    return Role.FP32;
                }
                if (m instanceof Linear || m instanceof Conv2d || m instanceof ConvBn2d || m instanceof FusedReLU
                        || m instanceof LayerNorm
                        || m instanceof GELU || m instanceof Softmax) {
                    return Role.INT8;
                }
                if (m instanceof Embedding) {
                    return Role.WEIGHT_ONLY;
                }
                if (m instanceof ReLU || m instanceof MaxPool2d || m instanceof AvgPool2d
                        || m instanceof AdaptiveAvgPool2d || m instanceof Flatten || m instanceof Identity
                        || (m instanceof Dropout d && !d.isTraining())) {
                    return Role.SAME_QPARAMS;
                }
                return Role.FP32;
            }
            case Target.Function f -> {
                Op op = f.op();
                if (op == LinalgOps.LINEAR || op == LinalgOps.CONV2D) {
                    return isAttr(n.args().get(1)) && (n.args().size() < 3 || n.args().get(2) == null
                            || isAttr(n.args().get(2))) ? Role.INT8 : Role.FP32;
                }
                if (op == MathOps.ADD || op == MathOps.MUL || op == LinalgOps.MATMUL) {
                    return n.args().size() == 2 && isFloat(n.args().get(0)) && isFloat(n.args().get(1))
                            ? Role.INT8 : Role.FP32;
                }
                if (op == MovementOps.CAT) {
                    return n.args().get(0) instanceof List<?> xs && xs.stream().allMatch(QuantPatterns::isFloat)
                            ? Role.INT8 : Role.FP32;
                }
                if (op == NNOps.SOFTMAX) {
                    return n.args().size() == 2 && n.args().get(1) instanceof Integer ? Role.INT8 : Role.FP32;
                }
                if (op == MathOps.LEAKY_RELU) {
                    return n.args().size() == 2 && n.args().get(1) instanceof Number ? Role.INT8 : Role.FP32;
                }
                if (op == MathOps.SIGMOID) {
                    return n.args().size() == 1 ? Role.INT8 : Role.FP32;
                }
                if (VIEWS.contains(op) || SAME_QPARAMS_OPS.contains(op)) {
                    return Role.SAME_QPARAMS;
                }
                return Role.FP32;
            }
            default -> {
                return Role.FP32;
            }
        }
    }

    /** The values an INT8 node reads as quint8 (its activations; weights are handled by the weight observer). */
    static List<Node> activationInputs(Node n) {
        List<Node> out = new ArrayList<>();
        if (n.target() instanceof Target.Function f && f.op() == MovementOps.CAT) {
            for (Object o : (List<?>) n.args().get(0)) {
                out.add((Node) o);
            }
        } else if (n.target() instanceof Target.Function f && (f.op() == MathOps.ADD || f.op() == MathOps.MUL
                || f.op() == LinalgOps.MATMUL)) {
            out.add((Node) n.args().get(0));
            out.add((Node) n.args().get(1));
        } else {
            out.add((Node) n.args().get(0));
        }
        return out;
    }

    /** Softmax and sigmoid have fixed output qparams (scale 1/256, zero point 0, as PyTorch): no output observer. */
    boolean hasFixedOutput(Node n) {
        return moduleOf(n) instanceof Softmax || Fusion.isFunction(n, NNOps.SOFTMAX)
                || Fusion.isFunction(n, MathOps.SIGMOID);
    }

    /**
     * Whether a same-qparams node computes on input qparams {@code q} exactly as in FP32. Only padding can fail: its
     * value must be representable ({@code 0.0} always is), or be {@code -inf} read only by max pooling (through
     * views), where the smallest quint8 value pads just as well.
     */
    static boolean followsExactly(Node n, QParams.PerTensor q) {
        if (!Fusion.isFunction(n, MovementOps.PAD)) {
            return true;
        }
        if (!(n.args().size() == 3 && n.args().get(2) instanceof Number v)) {
            return false;
        }
        float value = v.floatValue();
        if (value == Float.NEGATIVE_INFINITY) {
            return onlyMaxPoolsRead(n);
        }
        int qv = QuantOps.quantize(value, q.scale(), q.zeroPoint(), 0, 255);
        return QuantOps.dequantize(qv, q.scale(), q.zeroPoint()) == value;
    }

    private static boolean onlyMaxPoolsRead(Node n) {
        for (Node u : n.users()) {
            boolean ok = Fusion.isFunction(u, NNPoolOps.MAX_POOL2D)
                    || (u.target() instanceof Target.Function f && VIEWS.contains(f.op())
                    && u.args().get(0) == n && onlyMaxPoolsRead(u));
            if (!ok) {
                return false;
            }
        }
        return !n.users().isEmpty();
    }

    /** The node whose value is the INT8 node's output: the relu after a fused add, else the node itself. */
    static Node outputValue(Node n) {
        if (n.meta().get(Fusion.FUSED_RELU) instanceof String relu) {
            Node r = n.graph().find(relu);
            if (r != null && !r.isErased()) {
                return r;
            }
        }
        return n;
    }

    private static boolean isAttr(Object a) {
        return a instanceof Node n && n.target() instanceof Target.Attr;
    }

    static boolean isFloat(Object a) {
        return a instanceof Node n && n.meta().get("dtype") == DType.FLOAT32;
    }
}
