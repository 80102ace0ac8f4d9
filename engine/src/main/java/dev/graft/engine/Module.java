package dev.graft.engine;

import dev.graft.ops.InPlace;
import dev.graft.ops.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A piece of a model: named parameters, buffers and ordered named children, a train/eval mode and forward hooks.
 *
 * <p>Subclasses override {@link #forward(Tensor...)} (one tensor out) or {@link #forwardAny(Object...)} (anything
 * out: arrays of tensors, records, detections). Callers always go through {@link #call} / {@link #callAny}, which
 * run the hooks, and parents hold their children as {@link Submodule} handles, so that any child can be replaced in
 * place by {@link #replaceChild}.
 *
 * <p>Parameters and buffers are tensors whose identity stays fixed for the module's life: loading a state dict
 * copies values into them.
 */
public abstract class Module {

    private final Map<String, Tensor> parameters = new LinkedHashMap<>();
    private final Map<String, Tensor> buffers = new LinkedHashMap<>();
    private final Map<String, Module> children = new LinkedHashMap<>();
    private final List<ForwardPreHook> preHooks = new CopyOnWriteArrayList<>();
    private final List<ForwardHook> postHooks = new CopyOnWriteArrayList<>();
    private boolean training = true;
    /** The parent whose {@link #replaceChild} took this module out of the tree, and the slot; null while in place. */
    private Module replacedIn;
    private String replacedSlot;

    /** The tracer's hook into module calls on this thread (null when nobody is tracing). */
    private static final ThreadLocal<ModuleCallInterceptor> INTERCEPTOR = new ThreadLocal<>();
    /** The model whose replaced modules must not run on this thread (see {@link #failOnReplacedCalls}). */
    private static final ThreadLocal<Module> REPLACED_CALL_WATCH = new ThreadLocal<>();

    // ---------------------------------------------------------------- forward

    /**
     * The computation of a module with tensor inputs and one tensor output. Override this, or
     * {@link #forwardAny(Object...)} for other kinds of inputs and outputs.
     */
    protected Tensor forward(Tensor... inputs) {
        throw new ModuleException(getClass().getSimpleName() + " does not define forward(Tensor...)");
    }

    /**
     * The general computation: inputs and output may be tensors, arrays of tensors, null (an absent optional input)
     * or other values. The default passes tensor inputs on to {@link #forward(Tensor...)}.
     */
    protected Object forwardAny(Object... inputs) {
        Tensor[] tensors = new Tensor[inputs.length];
        for (int i = 0; i < inputs.length; i++) {
            if (inputs[i] != null && !(inputs[i] instanceof Tensor)) {
                throw new ModuleException(getClass().getSimpleName() + ": input " + i + " is a "
                        + inputs[i].getClass().getSimpleName() + "; forward(Tensor...) takes tensors only");
            }
            tensors[i] = (Tensor) inputs[i];
        }
        return forward(tensors);
    }

    /** Runs the module on tensor inputs (with hooks); it must produce one tensor. */
    public final Tensor call(Tensor... inputs) {
        Object out = callAny((Object[]) inputs);
        if (out instanceof Tensor t) {
            return t;
        }
        throw new ModuleException(getClass().getSimpleName() + " returned "
                + (out == null ? "null" : out.getClass().getSimpleName()) + " where one tensor was expected; use callAny");
    }

    /** Runs the module (with hooks) on any inputs and returns whatever its forward returns. */
    public final Object callAny(Object... inputs) {
        if (replacedIn != null && REPLACED_CALL_WATCH.get() != null) {
            checkNotReplaced(REPLACED_CALL_WATCH.get());
        }
        ModuleCallInterceptor interceptor = INTERCEPTOR.get();
        if (interceptor != null) {
            return interceptor.intercept(this, inputs, this::runWithHooks);
        }
        return runWithHooks(inputs);
    }

    /**
     * Installs {@code interceptor} for module calls on the current thread until the returned handle is closed
     * (the tracer's entry point). Interceptors do not nest: installing one while another is active is refused.
     */
    public static HookHandle interceptCalls(ModuleCallInterceptor interceptor) {
        if (INTERCEPTOR.get() != null) {
            throw new ModuleException("a module-call interceptor is already active on this thread (nested tracing)");
        }
        INTERCEPTOR.set(interceptor);
        return INTERCEPTOR::remove;
    }

    /**
     * Runs {@code action} with module-call interception suspended on this thread (the tracer computes example
     * values of leaf modules this way), then restores it.
     */
    public static <T> T withoutInterception(java.util.function.Supplier<T> action) {
        ModuleCallInterceptor saved = INTERCEPTOR.get();
        INTERCEPTOR.remove();
        try {
            return action.get();
        } finally {
            if (saved != null) {
                INTERCEPTOR.set(saved);
            }
        }
    }

    /**
     * Runs {@code action} (a run of {@code root}: calibration, a check after quantization) refusing any call of a
     * module that was replaced in {@code root}'s tree and is no longer part of it. Such a call means a parent holds
     * the child in a Java field and calls it directly instead of through its {@link Submodule} handle, so the traced
     * or quantized block that replaced it never runs and the layer silently stays FP32.
     *
     * @throws ModuleException naming the module's path, its parent's class and the fix
     */
    public static void failOnReplacedCalls(Module root, Runnable action) {
        Module saved = REPLACED_CALL_WATCH.get();
        REPLACED_CALL_WATCH.set(root);
        try {
            action.run();
        } finally {
            if (saved == null) {
                REPLACED_CALL_WATCH.remove();
            } else {
                REPLACED_CALL_WATCH.set(saved);
            }
        }
    }

    private void checkNotReplaced(Module root) {
        Map<String, Module> tree = root.namedModules();
        for (Module m : tree.values()) {
            if (m == this) {
                return; // put back in place (or registered elsewhere): a normal call
            }
        }
        String parentPath = null;
        for (Map.Entry<String, Module> e : tree.entrySet()) {
            if (e.getValue() == replacedIn) {
                parentPath = e.getKey();
                break;
            }
        }
        String path = parentPath == null ? replacedSlot : join(parentPath, replacedSlot);
        String parent = replacedIn.getClass().getSimpleName();
        throw new ModuleException("module '" + path + "' (" + getClass().getSimpleName() + ") ran although it was "
                + "replaced in the model by a traced or quantized block: " + parent + " calls it through a Java "
                + "field, not through its Submodule handle, so the replacement is bypassed and this layer stays "
                + "FP32. Fix: in " + parent + ", hold the child as `private final Submodule " + replacedSlot
                + " = submodule(\"" + replacedSlot + "\", ...)` and call `" + replacedSlot + ".call(x)` (or "
                + "`child(\"" + replacedSlot + "\").call(x)`)");
    }

    private Object runWithHooks(Object[] inputs) {
        Object[] in = inputs;
        for (ForwardPreHook h : preHooks) {
            Object[] replaced = h.beforeForward(this, in);
            if (replaced != null) {
                in = replaced;
            }
        }
        Object out = forwardAny(in);
        for (ForwardHook h : postHooks) {
            Object replaced = h.afterForward(this, in, out);
            if (replaced != null) {
                out = replaced;
            }
        }
        return out;
    }

    /** The single input of a one-input module, with a clear error otherwise. */
    protected final Tensor single(Tensor[] inputs) {
        if (inputs.length != 1 || inputs[0] == null) {
            throw new ModuleException(getClass().getSimpleName() + " takes exactly one tensor input, got "
                    + inputs.length + (inputs.length == 1 ? " (null)" : ""));
        }
        return inputs[0];
    }

    // ---------------------------------------------------------------- registration

    /** Registers a trainable parameter (float32; it is marked as requiring gradients) and returns it. */
    protected final Tensor registerParameter(String name, Tensor value) {
        checkName(name);
        Objects.requireNonNull(value, "parameter " + name);
        parameters.put(name, value.setRequiresGrad(true));
        return value;
    }

    /** Registers a buffer: state saved in the state dict but not trained (running statistics). */
    protected final Tensor registerBuffer(String name, Tensor value) {
        checkName(name);
        Objects.requireNonNull(value, "buffer " + name);
        buffers.put(name, value);
        return value;
    }

    /** Registers a child and returns the handle through which the parent calls it. */
    protected final Submodule submodule(String name, Module child) {
        registerModule(name, child);
        return new Submodule(this, name);
    }

    /** Registers a child (for containers that iterate their children). */
    protected final <M extends Module> M registerModule(String name, M child) {
        checkName(name);
        Objects.requireNonNull(child, "child " + name);
        children.put(name, child);
        return child;
    }

    /**
     * Takes over {@code source}'s own parameters, buffers and children (the same objects, same names, flags
     * untouched), so this module's state dict equals the source's. Traced blocks use this to stand in for the module
     * they were traced from.
     */
    protected final void adoptStateOf(Module source) {
        source.parameters.forEach((n, t) -> {
            checkName(n);
            parameters.put(n, t);
        });
        source.buffers.forEach((n, t) -> {
            checkName(n);
            buffers.put(n, t);
        });
        source.children.forEach((n, m) -> {
            checkName(n);
            children.put(n, m);
        });
        training = source.training;
    }

    private void checkName(String name) {
        if (name == null || name.isEmpty() || name.contains(".")) {
            throw new ModuleException(getClass().getSimpleName() + ": invalid name '" + name
                    + "' (must be non-empty and contain no '.')");
        }
        if (parameters.containsKey(name) || buffers.containsKey(name) || children.containsKey(name)) {
            throw new ModuleException(getClass().getSimpleName() + ": name '" + name + "' is already registered");
        }
    }

    // ---------------------------------------------------------------- the tree

    /** The direct child named {@code name}. */
    public final Module child(String name) {
        Module m = children.get(name);
        if (m == null) {
            throw new ModuleException(getClass().getSimpleName() + " has no child '" + name + "' (children: "
                    + children.keySet() + ")");
        }
        return m;
    }

    /** The module at a dotted path below this one ("" is this module). */
    public final Module module(String path) {
        Module m = this;
        if (path.isEmpty()) {
            return m;
        }
        for (String part : path.split("\\.")) {
            m = m.child(part);
        }
        return m;
    }

    /** Direct children in registration order (an unmodifiable view). */
    public final Map<String, Module> children() {
        return Collections.unmodifiableMap(children);
    }

    /** Replaces the child in slot {@code name}; parents calling it through a {@link Submodule} get the new one. */
    public final void replaceChild(String name, Module replacement) {
        Objects.requireNonNull(replacement, "replacement");
        Module old = child(name);
        children.put(name, replacement);
        if (old != replacement) {
            old.replacedIn = this;
            old.replacedSlot = name;
        }
        replacement.replacedIn = null;
        replacement.replacedSlot = null;
    }

    /** Replaces the module at a dotted path below this one. */
    public final void replaceModule(String path, Module replacement) {
        int dot = path.lastIndexOf('.');
        Module parent = dot < 0 ? this : module(path.substring(0, dot));
        parent.replaceChild(path.substring(dot + 1), replacement);
    }

    /** Every module in the tree, depth first in registration order, keyed by dotted path ("" for this one). */
    public final Map<String, Module> namedModules() {
        Map<String, Module> out = new LinkedHashMap<>();
        collectModules("", this, out);
        return out;
    }

    private static void collectModules(String prefix, Module m, Map<String, Module> out) {
        out.put(prefix, m);
        for (Map.Entry<String, Module> e : m.children.entrySet()) {
            collectModules(join(prefix, e.getKey()), e.getValue(), out);
        }
    }

    /** Every parameter in the tree keyed by dotted path, e.g. {@code encoder.layer.0.attention.query.weight}. */
    public final Map<String, Tensor> namedParameters() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        namedModules().forEach((path, m) -> m.parameters.forEach((n, t) -> out.put(join(path, n), t)));
        return out;
    }

    public final Map<String, Tensor> namedBuffers() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        namedModules().forEach((path, m) -> m.buffers.forEach((n, t) -> out.put(join(path, n), t)));
        return out;
    }

    /** This module's own parameters (not its children's). */
    public final Map<String, Tensor> localParameters() {
        return Collections.unmodifiableMap(parameters);
    }

    public final Map<String, Tensor> localBuffers() {
        return Collections.unmodifiableMap(buffers);
    }

    /** Total number of parameter elements in the tree. */
    public final long parameterCount() {
        long n = 0;
        for (Tensor t : namedParameters().values()) {
            n += t.numel();
        }
        return n;
    }

    static String join(String prefix, String name) {
        return prefix.isEmpty() ? name : prefix + "." + name;
    }

    // ---------------------------------------------------------------- state dict

    /** Parameters and buffers of the whole tree, keyed by dotted path (the tensors themselves, not copies). */
    public final Map<String, Tensor> stateDict() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        namedModules().forEach((path, m) -> {
            m.parameters.forEach((n, t) -> out.put(join(path, n), t));
            m.buffers.forEach((n, t) -> out.put(join(path, n), t));
        });
        return out;
    }

    /** Loads every entry, requiring an exact match of names, shapes and dtypes. */
    public final void loadStateDict(Map<String, Tensor> state) {
        loadStateDict(state, true);
    }

    /**
     * Copies values into this tree's parameters and buffers. All problems are collected and reported together;
     * nothing is written unless everything fits. With {@code strict} false, missing and unexpected names are allowed
     * (shape and dtype mismatches never are).
     */
    public final void loadStateDict(Map<String, Tensor> state, boolean strict) {
        Map<String, Tensor> own = stateDict();
        List<String> missing = new ArrayList<>();
        List<String> unexpected = new ArrayList<>();
        List<String> mismatched = new ArrayList<>();
        for (Map.Entry<String, Tensor> e : own.entrySet()) {
            Tensor src = state.get(e.getKey());
            if (src == null) {
                missing.add(e.getKey());
            } else if (!Arrays.equals(src.shape(), e.getValue().shape()) || src.dtype() != e.getValue().dtype()) {
                mismatched.add(e.getKey() + " expects " + e.getValue().dtype() + Arrays.toString(e.getValue().shape())
                        + " but got " + src.dtype() + Arrays.toString(src.shape()));
            }
        }
        for (String k : state.keySet()) {
            if (!own.containsKey(k)) {
                unexpected.add(k);
            }
        }
        if (!mismatched.isEmpty() || (strict && (!missing.isEmpty() || !unexpected.isEmpty()))) {
            throw new StateDictException(getClass().getSimpleName(), missing, unexpected, mismatched);
        }
        for (Map.Entry<String, Tensor> e : own.entrySet()) {
            Tensor src = state.get(e.getKey());
            if (src != null) {
                InPlace.copy(e.getValue(), src);
            }
        }
    }

    // ---------------------------------------------------------------- mode and hooks

    /** Sets training mode on this module and all below it. */
    public Module train(boolean on) {
        for (Module m : namedModules().values()) {
            m.training = on;
        }
        return this;
    }

    public final Module eval() {
        return train(false);
    }

    public final boolean isTraining() {
        return training;
    }

    public final HookHandle addForwardPreHook(ForwardPreHook hook) {
        preHooks.add(hook);
        return () -> preHooks.remove(hook);
    }

    public final HookHandle addForwardHook(ForwardHook hook) {
        postHooks.add(hook);
        return () -> postHooks.remove(hook);
    }

    // ---------------------------------------------------------------- printing

    /** One line describing this module's configuration (layers override: "in=384, out=384"). */
    protected String extraRepr() {
        return "";
    }

    /** The tree as indented text, one module per line, as PyTorch prints a model. */
    public final String describe() {
        StringBuilder sb = new StringBuilder();
        describe(sb, "", 0);
        return sb.toString();
    }

    private void describe(StringBuilder sb, String name, int depth) {
        sb.append("  ".repeat(depth));
        if (!name.isEmpty()) {
            sb.append('(').append(name).append("): ");
        }
        sb.append(getClass().getSimpleName()).append('(').append(extraRepr()).append(')').append('\n');
        for (Map.Entry<String, Module> e : children.entrySet()) {
            e.getValue().describe(sb, e.getKey(), depth + 1);
        }
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "(" + extraRepr() + ")";
    }
}
