package dev.graft.engine.graph;

import dev.graft.ops.Op;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One operation in a {@link Graph}: a name, a typed target, arguments and the nodes that use its value.
 *
 * <p>Arguments are nodes (values computed earlier), plain constants (Integer, Float, Boolean, int[], float[],
 * enums, null) or a {@code List} of those, which stands for a {@code Tensor[]} argument (the inputs of cat).
 * Setting the arguments keeps every input's {@link #users()} right, so passes never edit use lists by hand.
 */
public final class Node {
    final Graph graph;
    private final String name;
    private final Target target;
    private List<Object> args = List.of();
    private final Set<Node> users = new LinkedHashSet<>();
    private final Map<Meta.Key<?>, Object> meta = new LinkedHashMap<>();
    Node prev;
    Node next;
    boolean erased;

    Node(Graph graph, String name, Target target) {
        this.graph = graph;
        this.name = name;
        this.target = target;
    }

    public String name() {
        return name;
    }

    public Target target() {
        return target;
    }

    public NodeKind kind() {
        return target.kind();
    }

    public Graph graph() {
        return graph;
    }

    /** The operator of a call_function node. */
    public Op op() {
        if (target instanceof Target.Function f) {
            return f.op();
        }
        throw new GraphException("node " + name + " is a " + kind().display() + ", not a call_function");
    }

    /** The arguments (an unmodifiable list). */
    public List<Object> args() {
        return args;
    }

    /** Replaces the arguments, updating the users of old and new input nodes. */
    public void setArgs(List<Object> newArgs) {
        for (Node in : inputNodes()) {
            in.users.remove(this);
        }
        List<Object> copy = new ArrayList<>(newArgs.size());
        for (Object a : newArgs) {
            copy.add(copyArg(a));
        }
        args = Collections.unmodifiableList(copy);
        for (Node in : inputNodes()) {
            if (in.graph != graph) {
                throw new GraphException("node " + name + " would use node " + in.name + " of another graph");
            }
            in.users.add(this);
        }
    }

    /** Sets one argument. */
    public void setArg(int index, Object value) {
        List<Object> a = new ArrayList<>(args);
        a.set(index, value);
        setArgs(a);
    }

    /** The nodes this one reads, in argument order, each once. */
    public List<Node> inputNodes() {
        Set<Node> out = new LinkedHashSet<>();
        collectNodes(args, out);
        return List.copyOf(out);
    }

    private static void collectNodes(Object a, Set<Node> out) {
        if (a instanceof Node n) {
            out.add(n);
        } else if (a instanceof List<?> list) {
            for (Object o : list) {
                collectNodes(o, out);
            }
        }
    }

    /** The nodes that use this node's value (insertion order). */
    public Set<Node> users() {
        return Collections.unmodifiableSet(users);
    }

    /** The annotation under {@code key}, or null. */
    public <T> T meta(Meta.Key<T> key) {
        Object v = meta.get(key);
        return v == null ? null : key.cast(v);
    }

    /** Sets (or with null removes) the annotation under {@code key}. */
    public <T> void putMeta(Meta.Key<T> key, T value) {
        if (value == null) {
            meta.remove(key);
        } else {
            meta.put(key, key.cast(value));
        }
    }

    public boolean hasMeta(Meta.Key<?> key) {
        return meta.containsKey(key);
    }

    /** Every annotation of {@code other}, added to (or replacing) this node's. */
    public void copyMetaFrom(Node other) {
        meta.putAll(other.meta);
    }

    /** The annotations in the order they were set (what a saved graph writes). */
    public Map<Meta.Key<?>, Object> metaEntries() {
        return Collections.unmodifiableMap(meta);
    }

    /** Makes every user of this node use {@code replacement} instead. Returns the former users. */
    public List<Node> replaceAllUsesWith(Node replacement) {
        if (replacement == this) {
            return List.of();
        }
        List<Node> former = new ArrayList<>(users);
        for (Node user : former) {
            user.replaceInput(this, replacement);
        }
        return former;
    }

    /** Replaces every occurrence of {@code old} among this node's arguments. */
    public void replaceInput(Node old, Node replacement) {
        List<Object> a = new ArrayList<>(args.size());
        for (Object o : args) {
            a.add(substitute(o, old, replacement));
        }
        setArgs(a);
    }

    private static Object substitute(Object a, Node old, Node replacement) {
        if (a == old) {
            return replacement;
        }
        if (a instanceof List<?> list) {
            List<Object> out = new ArrayList<>(list.size());
            for (Object o : list) {
                out.add(substitute(o, old, replacement));
            }
            return out;
        }
        return a;
    }

    /** The previous node in graph order (null at the start). */
    public Node previous() {
        return prev == graph.root ? null : prev;
    }

    /** The next node in graph order (null at the end). */
    public Node nextNode() {
        return next == graph.root ? null : next;
    }

    public boolean isErased() {
        return erased;
    }

    /** The shape recorded at trace time, or null. */
    public int[] shape() {
        int[] s = meta(Meta.SHAPE);
        return s == null ? null : s.clone();
    }

    private static Object copyArg(Object a) {
        if (a instanceof int[] v) {
            return v.clone();
        }
        if (a instanceof float[] v) {
            return v.clone();
        }
        if (a instanceof List<?> list) {
            List<Object> out = new ArrayList<>(list.size());
            for (Object o : list) {
                out.add(copyArg(o));
            }
            return Collections.unmodifiableList(out);
        }
        if (a instanceof Object[] arr) {
            throw new GraphException("node argument arrays must be Lists (a List stands for a Tensor[]), got "
                    + Arrays.toString(arr));
        }
        return a;
    }

    /** One readable line: {@code relu_1 = call_function[relu](linear) :: [2, 8]}. */
    public String format() {
        StringBuilder sb = new StringBuilder(name).append(" = ").append(kind().display()).append('[')
                .append(target).append("](");
        for (int i = 0; i < args.size(); i++) {
            if (i > 0) {
                sb.append(", ");
            }
            sb.append(formatArg(args.get(i)));
        }
        sb.append(')');
        int[] s = shape();
        if (s != null) {
            sb.append(" :: ").append(Arrays.toString(s));
        }
        return sb.toString();
    }

    static String formatArg(Object a) {
        if (a instanceof Node n) {
            return n.name;
        }
        if (a instanceof int[] v) {
            return Arrays.toString(v);
        }
        if (a instanceof float[] v) {
            return Arrays.toString(v);
        }
        if (a instanceof List<?> list) {
            StringBuilder sb = new StringBuilder("[");
            for (int i = 0; i < list.size(); i++) {
                sb.append(i > 0 ? ", " : "").append(formatArg(list.get(i)));
            }
            return sb.append(']').toString();
        }
        return String.valueOf(a);
    }

    @Override
    public String toString() {
        return name;
    }
}
