package dev.graft.engine.autograd;

import dev.graft.ops.DType;
import dev.graft.ops.Dispatch;
import dev.graft.ops.GradRecorder;
import dev.graft.ops.InPlace;
import dev.graft.ops.Op;
import dev.graft.ops.Tensor;
import dev.graft.ops.TensorException;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Reverse-mode automatic differentiation over the eager operators.
 *
 * <p>While grad mode is on (the default, per thread), every op call whose inputs include a tensor that requires a
 * gradient (a parameter, or the result of such a call) is linked into a graph: the result's
 * {@link Tensor#gradFn()} points at a node holding the op and its arguments. {@link #backward} walks that graph from
 * a scalar loss in reverse topological order, asks each op for its {@link Op#backward backward rule} and adds the
 * gradients that reach leaves into their {@link Tensor#grad()} (so several backward calls accumulate, until
 * {@link #zeroGrad}). The order is fixed by the recording, so results are deterministic.
 *
 * <pre>{@code
 * Tensor loss = F.crossEntropy(model.call(x), labels);
 * Autograd.backward(loss);
 * try (var g = Autograd.noGrad()) { ... evaluation, nothing recorded ... }
 * }</pre>
 */
public final class Autograd {
    private static final ThreadLocal<boolean[]> ENABLED = ThreadLocal.withInitial(() -> new boolean[] {true});
    private static final AtomicLong SEQUENCE = new AtomicLong();
    private static final GradRecorder RECORDER = Autograd::record;

    static {
        Dispatch.installGradRecorder(RECORDER);
    }

    private Autograd() {
    }

    /** Makes sure the tape is installed in {@link Dispatch} (loading this class does it; calling this is cheap). */
    public static void install() {
        Dispatch.installGradRecorder(RECORDER);
    }

    /** Whether op calls on this thread are being recorded. */
    public static boolean isGradEnabled() {
        return ENABLED.get()[0];
    }

    /** A scope in which nothing is recorded on this thread (evaluation, optimizer arithmetic); restores on close. */
    public static Scope noGrad() {
        return setGradEnabled(false);
    }

    /** A scope in which recording is on again (inside a no-grad scope). */
    public static Scope enableGrad() {
        return setGradEnabled(true);
    }

    private static Scope setGradEnabled(boolean on) {
        install();
        boolean[] state = ENABLED.get();
        boolean previous = state[0];
        state[0] = on;
        return () -> state[0] = previous;
    }

    /** A grad-mode scope for try-with-resources; closing it restores the previous mode. */
    @FunctionalInterface
    public interface Scope extends AutoCloseable {
        @Override
        void close();
    }

    // ---------------------------------------------------------------- recording

    private static void record(Op op, Object[] args, Object result) {
        if (!(result instanceof Tensor out) || out.dtype() != DType.FLOAT32 || !ENABLED.get()[0]) {
            return;
        }
        boolean any = false;
        for (Object a : args) {
            if (a == out) {
                return; // the op handed back its input (contiguous, to): the input already carries the graph
            }
            if (a instanceof Tensor t) {
                any |= needsGrad(t);
            } else if (a instanceof Tensor[] ts) {
                for (Tensor t : ts) {
                    if (t == out) {
                        return;
                    }
                    any |= t != null && needsGrad(t);
                }
            }
        }
        if (!any) {
            return;
        }
        out.setGradFn(new Node(op, args, out, SEQUENCE.incrementAndGet()));
        out.setRequiresGrad(true);
    }

    /** True for a tensor that requires a gradient or was computed from one. */
    static boolean needsGrad(Tensor t) {
        return t.requiresGrad() || t.gradFn() != null;
    }

    /** True for a tensor that gets its gradient accumulated into {@link Tensor#grad()} (a parameter or input). */
    public static boolean isLeaf(Tensor t) {
        return t.gradFn() == null;
    }

    /**
     * Cuts {@code t} out of the graph: a tensor with the same data (shared) that requires no gradient, as
     * PyTorch's {@code detach()}.
     */
    public static Tensor detach(Tensor t) {
        Tensor d;
        try (Scope s = noGrad()) {
            d = t.reshape(t.shape()); // a view: a new tensor object over the same storage
        }
        if (d == t) {
            d = t.contiguous().reshape(t.shape());
        }
        d.setGradFn(null);
        d.setRequiresGrad(false);
        return d;
    }

    // ---------------------------------------------------------------- backward

    /** Backpropagates from a one-element {@code loss} (gradient 1). */
    public static void backward(Tensor loss) {
        if (loss.numel() != 1) {
            throw new TensorException("backward: the loss must have exactly one element, got shape "
                    + Arrays.toString(loss.shape()) + " (pass an explicit gradient for other shapes)");
        }
        backward(loss, Tensor.full(1f, loss.shape()));
    }

    /** Backpropagates {@code gradient} (the gradient of some scalar with respect to {@code output}). */
    public static void backward(Tensor output, Tensor gradient) {
        if (!needsGrad(output)) {
            throw new TensorException("backward: the output does not require a gradient (no parameter took part in"
                    + " computing it, or it was computed under no-grad)");
        }
        try (Scope s = noGrad()) {
            if (isLeaf(output)) {
                accumulate(output, gradient);
                return;
            }
            List<Node> order = topologicalOrder((Node) output.gradFn());
            Map<Tensor, Tensor> grads = new IdentityHashMap<>();
            grads.put(output, gradient);
            for (int i = order.size() - 1; i >= 0; i--) {
                Node node = order.get(i);
                Tensor g = grads.remove(node.result);
                if (g != null) {
                    propagate(node, g, grads);
                }
            }
        }
    }

    private static void propagate(Node node, Tensor g, Map<Tensor, Tensor> grads) {
        boolean[] need = new boolean[node.args.length];
        for (int i = 0; i < need.length; i++) {
            Object a = node.args[i];
            if (a instanceof Tensor t) {
                need[i] = needsGrad(t);
            } else if (a instanceof Tensor[] ts) {
                for (Tensor t : ts) {
                    need[i] |= t != null && needsGrad(t);
                }
            }
        }
        Object[] in;
        try {
            in = node.op.backward(node.args, node.result, g, need);
        } catch (RuntimeException e) {
            throw new TensorException("backward through " + node.op.name() + " (result shape "
                    + Arrays.toString(node.result.shape()) + "): " + e.getMessage(), e);
        }
        for (int i = 0; i < need.length; i++) {
            if (!need[i] || in == null || i >= in.length || in[i] == null) {
                continue;
            }
            if (node.args[i] instanceof Tensor t) {
                send(t, (Tensor) in[i], grads);
            } else if (node.args[i] instanceof Tensor[] ts) {
                Tensor[] gs = (Tensor[]) in[i];
                for (int k = 0; k < ts.length; k++) {
                    if (ts[k] != null && gs[k] != null && needsGrad(ts[k])) {
                        send(ts[k], gs[k], grads);
                    }
                }
            }
        }
    }

    private static void send(Tensor input, Tensor g, Map<Tensor, Tensor> grads) {
        if (!Arrays.equals(input.shape(), g.shape())) {
            throw new TensorException("backward: a rule returned a gradient of shape " + Arrays.toString(g.shape())
                    + " for an input of shape " + Arrays.toString(input.shape()));
        }
        if (isLeaf(input)) {
            if (input.requiresGrad()) {
                accumulate(input, g);
            }
            return;
        }
        Tensor previous = grads.get(input);
        grads.put(input, previous == null ? g : previous.add(g));
    }

    /** Adds {@code g} into a leaf's gradient, which is always a tensor of its own (never a view of another). */
    private static void accumulate(Tensor leaf, Tensor g) {
        Tensor current = leaf.grad();
        if (current == null) {
            Tensor own = Tensor.zeros(leaf.shape());
            InPlace.copy(own, g);
            leaf.setGrad(own);
        } else {
            InPlace.copy(current, current.add(g));
        }
    }

    /** Nodes reachable from {@code root}, each after all nodes it depends on (iterative DFS, argument order). */
    private static List<Node> topologicalOrder(Node root) {
        List<Node> order = new ArrayList<>();
        Map<Node, Boolean> state = new IdentityHashMap<>(); // false: on the stack, true: done
        ArrayDeque<Object[]> stack = new ArrayDeque<>();
        stack.push(new Object[] {root, inputsOf(root), 0});
        state.put(root, false);
        while (!stack.isEmpty()) {
            Object[] frame = stack.peek();
            Node node = (Node) frame[0];
            List<Node> inputs = (List<Node>) frame[1];
            int next = (Integer) frame[2];
            if (next < inputs.size()) {
                frame[2] = next + 1;
                Node child = inputs.get(next);
                if (!state.containsKey(child)) {
                    state.put(child, false);
                    stack.push(new Object[] {child, inputsOf(child), 0});
                }
            } else {
                stack.pop();
                state.put(node, true);
                order.add(node);
            }
        }
        return order;
    }

    private static List<Node> inputsOf(Node node) {
        List<Node> out = new ArrayList<>();
        for (Object a : node.args) {
            if (a instanceof Tensor t && t.gradFn() instanceof Node n) {
                out.add(n);
            } else if (a instanceof Tensor[] ts) {
                for (Tensor t : ts) {
                    if (t != null && t.gradFn() instanceof Node n) {
                        out.add(n);
                    }
                }
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- gradients of parameters

    /** Clears the gradient of every tensor given (sets it to null, so the next backward starts afresh). */
    public static void zeroGrad(Iterable<Tensor> parameters) {
        for (Tensor p : parameters) {
            p.setGrad(null);
        }
    }
}
