package dev.graft.engine.quant;

import dev.graft.engine.Module;
import dev.graft.ops.Op;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Which {@link QConfig} applies where: a global default, per module class, per module path and per operator. A
 * {@code null} QConfig means "keep FP32" and is a real setting: it overrides broader ones (a class set to null
 * stays FP32 even with a global QConfig).
 *
 * <p>Precedence follows PyTorch 1.13's FX rules:
 * <ul>
 *   <li>modules: module name &gt; module class &gt; global;</li>
 *   <li>operators (call_function nodes): module name of the enclosing module &gt; operator &gt; global.</li>
 * </ul>
 * A module name applies to everything below that path unless a longer name is set: for path {@code a.b.c} the
 * names {@code a.b.c}, {@code a.b} and {@code a} are tried in that order. A module class matches the module's class
 * or, failing that, its nearest registered superclass (PyTorch matches the exact type only; Java subclasses of a
 * layer are meant to be quantized like it).
 *
 * <p>Not thread-safe while being built; treat it as read-only once passes use it.
 */
public final class QConfigMapping {

    private boolean hasGlobal;
    private QConfig global;
    private final Map<Class<?>, QConfig> byClass = new LinkedHashMap<>();
    private final Map<String, QConfig> byName = new LinkedHashMap<>();
    private final Map<Op, QConfig> byOp = new LinkedHashMap<>();
    private final Map<String, QConfig> byNode = new LinkedHashMap<>();
    private boolean floatOutputs;

    /** The QConfig for everything not matched more specifically ({@code null}: FP32, which is also the default). */
    public QConfigMapping global(QConfig qconfig) {
        hasGlobal = true;
        global = qconfig;
        return this;
    }

    /** An independent copy, to add rules to without changing this mapping. */
    public QConfigMapping copy() {
        QConfigMapping c = new QConfigMapping();
        c.hasGlobal = hasGlobal;
        c.global = global;
        c.byClass.putAll(byClass);
        c.byName.putAll(byName);
        c.byOp.putAll(byOp);
        c.byNode.putAll(byNode);
        c.floatOutputs = floatOutputs;
        return c;
    }

    public QConfigMapping byModuleClass(Class<? extends Module> moduleClass, QConfig qconfig) {
        byClass.put(Objects.requireNonNull(moduleClass, "moduleClass"), qconfig);
        return this;
    }

    /** A QConfig for the module at a dotted path and everything below it (unless a longer path is set). */
    public QConfigMapping byModuleName(String path, QConfig qconfig) {
        Objects.requireNonNull(path, "path");
        if (path.isEmpty()) {
            throw new IllegalArgumentException("byModuleName: the root's path is empty; use global(...)");
        }
        byName.put(path, qconfig);
        return this;
    }

    public QConfigMapping byOperator(Op op, QConfig qconfig) {
        byOp.put(Objects.requireNonNull(op, "op"), qconfig);
        return this;
    }

    /**
     * A QConfig for one node of a traced block: {@code blockPath} as the partition names the block, {@code node} the
     * graph node's name (stable across re-traces). It overrides every other setting for that node; the tuner uses it
     * to fall back one functional operator (an add, a matmul) without touching its neighbours.
     */
    public QConfigMapping byNode(String blockPath, String node, QConfig qconfig) {
        byNode.put(nodeKey(Objects.requireNonNull(blockPath, "blockPath"), Objects.requireNonNull(node, "node")),
                qconfig);
        return this;
    }

    /**
     * Whether a static INT8 Linear whose readers all run FP32 (a residual add kept FP32) outputs float from its
     * GEMM instead of a quint8 tensor dequantized right after (default off, as PyTorch; see
     * {@link dev.graft.engine.quant.nn.QuantizedLinearFloatOut}).
     */
    public QConfigMapping floatOutputs(boolean on) {
        floatOutputs = on;
        return this;
    }

    public boolean floatOutputs() {
        return floatOutputs;
    }

    /** Whether {@link #byNode} set something for this node. */
    public boolean hasNode(String blockPath, String node) {
        return byNode.containsKey(nodeKey(blockPath, node));
    }

    /** What {@link #byNode} set for this node (null: FP32; check {@link #hasNode} first). */
    public QConfig qconfigForNode(String blockPath, String node) {
        return byNode.get(nodeKey(blockPath, node));
    }

    private static String nodeKey(String blockPath, String node) {
        return blockPath + "#" + node;
    }

    /** The QConfig for the module at {@code path}, or {@code null} to keep it FP32. */
    public QConfig qconfigFor(String path, Module module) {
        Objects.requireNonNull(module, "module");
        QConfig fallback = hasGlobal ? global : null;
        for (Class<?> c = module.getClass(); c != null && c != Object.class; c = c.getSuperclass()) {
            if (byClass.containsKey(c)) {
                fallback = byClass.get(c);
                break;
            }
        }
        return byNameOr(path, fallback);
    }

    /**
     * The QConfig for a call of operator {@code op} in the module at {@code enclosingPath} ("" for the root), or
     * {@code null} to keep it FP32.
     */
    public QConfig qconfigFor(String enclosingPath, Op op) {
        Objects.requireNonNull(op, "op");
        QConfig fallback = byOp.containsKey(op) ? byOp.get(op) : hasGlobal ? global : null;
        return byNameOr(enclosingPath, fallback);
    }

    private QConfig byNameOr(String path, QConfig fallback) {
        String p = Objects.requireNonNull(path, "path");
        while (!p.isEmpty()) {
            if (byName.containsKey(p)) {
                return byName.get(p);
            }
            int dot = p.lastIndexOf('.');
            p = dot < 0 ? "" : p.substring(0, dot);
        }
        return fallback;
    }

    /**
     * PyTorch 1.13's {@code get_default_qconfig_mapping("x86")} in its essentials: {@link QConfig#x86Default()}
     * globally. (PyTorch also pins fixed qparams for sigmoid/tanh/softmax-like ops; the passes that insert
     * observers handle those operators.)
     */
    public static QConfigMapping x86Default() {
        return new QConfigMapping().global(QConfig.x86Default());
    }

    @Override
    public String toString() {
        return "QConfigMapping[global=" + (hasGlobal ? global : "unset") + ", classes=" + byClass.keySet()
                + ", names=" + byName.keySet() + ", operators=" + byOp.keySet()
                + (byNode.isEmpty() ? "" : ", nodes=" + byNode.keySet()) + "]";
    }
}
