package dev.graft.engine.graph;

import dev.graft.ops.Op;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;

/**
 * An ordered list of {@link Node}s (a doubly linked list around a sentinel), in the manner of torch.fx. New nodes go
 * at the insertion point: the end, unless a {@link #insertBefore}/{@link #insertAfter} scope is open:
 * <pre>{@code
 * try (var at = graph.insertAfter(linear)) {
 *     Node obs = graph.callModule("observer_3", linear);
 *     linear.replaceAllUsesWith(obs);   // also rewires obs itself; fix it with obs.setArg(0, linear)
 * }
 * }</pre>
 */
public final class Graph implements Iterable<Node> {
    final Node root;
    private Node insertBeforeThis;
    private final Set<String> names = new HashSet<>();
    private final Map<String, Integer> nextSuffix = new HashMap<>();
    private int size;

    public Graph() {
        root = new Node(this, "<root>", new Target.Output());
        root.prev = root;
        root.next = root;
        insertBeforeThis = root;
    }

    // ---------------------------------------------------------------- creating nodes

    public Node placeholder(String name) {
        return create(new Target.Input(name), List.of(), name);
    }

    public Node getAttr(String path) {
        return create(new Target.Attr(path), List.of(), path);
    }

    public Node callModule(String path, Object... args) {
        return create(new Target.ModuleCall(path), List.of(args), path);
    }

    public Node callFunction(Op op, Object... args) {
        return create(new Target.Function(op), Arrays.asList(args), op.name());
    }

    /** The output node; {@code value} is a node, or a List of nodes for several outputs. */
    public Node output(Object value) {
        if (outputNode() != null) {
            throw new GraphException("graph already has an output node");
        }
        return create(new Target.Output(), java.util.Collections.singletonList(value), "output");
    }

    /** Creates a node at the insertion point, named uniquely after {@code nameHint}. */
    public Node create(Target target, List<Object> args, String nameHint) {
        Node n = new Node(this, uniqueName(nameHint), target);
        n.setArgs(args);
        link(n, insertBeforeThis);
        return n;
    }

    private void link(Node n, Node before) {
        n.prev = before.prev;
        n.next = before;
        before.prev.next = n;
        before.prev = n;
        size++;
    }

    /** A readable unique name: dots become underscores; "linear", then "linear_1", "linear_2", ... */
    private String uniqueName(String hint) {
        String base = hint.isEmpty() ? "node" : hint.replace('.', '_');
        if (!Character.isJavaIdentifierStart(base.charAt(0))) {
            base = "_" + base;
        }
        String candidate = base;
        while (names.contains(candidate)) {
            int k = nextSuffix.merge(base, 1, Integer::sum);
            candidate = base + "_" + k;
        }
        names.add(candidate);
        return candidate;
    }

    /**
     * A deep copy: the same nodes (names, targets, arguments, annotations) in the same order, with the same naming
     * state, so a pass run on the copy names the nodes it creates exactly as it would have on this graph. Passes
     * rewrite a copy; the graph a block was traced as stays untouched.
     */
    public Graph copy() {
        Graph g = new Graph();
        Map<Node, Node> mapped = new IdentityHashMap<>();
        for (Node n : this) {
            Node c = new Node(g, n.name(), n.target());
            c.setArgs(mapArgs(n.args(), mapped));
            c.copyMetaFrom(n);
            g.link(c, g.root);
            mapped.put(n, c);
        }
        g.names.addAll(names);
        g.nextSuffix.putAll(nextSuffix);
        return g;
    }

    private static List<Object> mapArgs(List<Object> args, Map<Node, Node> mapped) {
        List<Object> out = new ArrayList<>(args.size());
        for (Object a : args) {
            if (a instanceof Node n) {
                out.add(mapped.get(n));
            } else if (a instanceof List<?> list) {
                @SuppressWarnings("unchecked")
                List<Object> items = (List<Object>) list;
                out.add(mapArgs(items, mapped));
            } else {
                out.add(a);
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- insertion scopes

    /** An open insertion scope; closing it restores the previous insertion point. */
    public final class InsertionPoint implements AutoCloseable {
        private final Node saved;

        private InsertionPoint(Node before) {
            saved = insertBeforeThis;
            insertBeforeThis = before;
        }

        @Override
        public void close() {
            insertBeforeThis = saved;
        }
    }

    /** New nodes go right before {@code n} until the scope closes. */
    public InsertionPoint insertBefore(Node n) {
        checkOwned(n);
        return new InsertionPoint(n);
    }

    /** New nodes go right after {@code n} (in creation order) until the scope closes. */
    public InsertionPoint insertAfter(Node n) {
        checkOwned(n);
        return new InsertionPoint(n.next);
    }

    // ---------------------------------------------------------------- removing nodes

    /** Removes a node nobody uses; refused while it has users. */
    public void erase(Node n) {
        checkOwned(n);
        if (!n.users().isEmpty()) {
            throw new GraphException("cannot erase node " + n.name() + ": still used by " + n.users());
        }
        n.setArgs(List.of());
        n.prev.next = n.next;
        n.next.prev = n.prev;
        n.erased = true;
        names.remove(n.name());
        size--;
        if (insertBeforeThis == n) {
            insertBeforeThis = n.next;
        }
    }

    /**
     * Removes nodes whose values nobody uses (all operators are pure), from the end backwards so chains of dead
     * nodes go in one pass. Placeholders and the output stay. Returns how many were removed.
     */
    public int eliminateDeadCode() {
        int removed = 0;
        for (Node n = root.prev; n != root; ) {
            Node before = n.prev;
            if (n.kind() != NodeKind.PLACEHOLDER && n.kind() != NodeKind.OUTPUT && n.users().isEmpty()) {
                erase(n);
                removed++;
            }
            n = before;
        }
        return removed;
    }

    private void checkOwned(Node n) {
        if (n.graph != this || n.erased || n == root) {
            throw new GraphException("node " + n.name() + " is not in this graph");
        }
    }

    // ---------------------------------------------------------------- queries

    public int size() {
        return size;
    }

    /** The nodes in order (a snapshot). */
    public List<Node> nodes() {
        List<Node> out = new ArrayList<>(size);
        for (Node n : this) {
            out.add(n);
        }
        return out;
    }

    public List<Node> placeholders() {
        List<Node> out = new ArrayList<>();
        for (Node n : this) {
            if (n.kind() == NodeKind.PLACEHOLDER) {
                out.add(n);
            }
        }
        return out;
    }

    /** The output node, or null while the graph is being built. */
    public Node outputNode() {
        Node last = root.prev;
        return last != root && last.kind() == NodeKind.OUTPUT ? last : null;
    }

    public Node find(String name) {
        for (Node n : this) {
            if (n.name().equals(name)) {
                return n;
            }
        }
        return null;
    }

    @Override
    public Iterator<Node> iterator() {
        return new Iterator<>() {
            private Node at = root.next;

            @Override
            public boolean hasNext() {
                return at != root;
            }

            @Override
            public Node next() {
                if (at == root) {
                    throw new NoSuchElementException();
                }
                Node n = at;
                at = at.next;
                return n;
            }
        };
    }

    // ---------------------------------------------------------------- checking and printing

    /**
     * Checks the invariants: every argument node is in this graph and comes earlier; use lists agree with
     * arguments; names are unique; placeholders come first; exactly one output, last; and, given the owner, that
     * every get_attr and call_module target exists.
     */
    public void lint(TargetResolver owner) {
        Set<Node> seen = new HashSet<>();
        Set<String> seenNames = new HashSet<>();
        boolean pastPlaceholders = false;
        int outputs = 0;
        for (Node n : this) {
            String where = "lint: node " + n.name() + ": ";
            if (n.graph != this || n.erased) {
                throw new GraphException(where + "does not belong to this graph");
            }
            if (!seenNames.add(n.name())) {
                throw new GraphException(where + "duplicate name");
            }
            if (n.kind() == NodeKind.PLACEHOLDER && pastPlaceholders) {
                throw new GraphException(where + "placeholder after other nodes");
            }
            pastPlaceholders |= n.kind() != NodeKind.PLACEHOLDER;
            if (n.kind() == NodeKind.OUTPUT) {
                outputs++;
                if (n.nextNode() != null) {
                    throw new GraphException(where + "output is not the last node");
                }
            }
            for (Node in : n.inputNodes()) {
                if (!seen.contains(in)) {
                    throw new GraphException(where + "uses " + in.name() + (in.graph != this || in.erased
                            ? ", which is not in this graph" : ", which comes later (not topologically ordered)"));
                }
                if (!in.users().contains(n)) {
                    throw new GraphException(where + "is missing from the users of its input " + in.name());
                }
            }
            for (Node user : n.users()) {
                if (!user.inputNodes().contains(n)) {
                    throw new GraphException(where + "lists user " + user.name() + " that does not use it");
                }
            }
            if (owner != null) {
                if (n.target() instanceof Target.ModuleCall mc && !owner.hasModule(mc.path())) {
                    throw new GraphException(where + "call_module target '" + mc.path() + "' does not exist");
                }
                if (n.target() instanceof Target.Attr at && !owner.hasAttr(at.path())) {
                    throw new GraphException(where + "get_attr target '" + at.path() + "' does not exist");
                }
            }
            seen.add(n);
        }
        if (outputs != 1) {
            throw new GraphException("lint: graph has " + outputs + " output nodes, needs exactly 1");
        }
    }

    /** What lint asks of the module that owns the graph. */
    public interface TargetResolver {
        boolean hasModule(String path);

        boolean hasAttr(String path);
    }

    /** One node per line, as torch.fx prints graphs. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("graph():\n");
        for (Node n : this) {
            sb.append("    ").append(n.format()).append('\n');
        }
        return sb.toString();
    }

    /** A table: name, kind, target, args, shape — aligned columns. */
    public String toTable() {
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"name", "kind", "target", "args", "shape"});
        for (Node n : this) {
            List<String> args = new ArrayList<>();
            for (Object a : n.args()) {
                args.add(Node.formatArg(a));
            }
            int[] s = n.shape();
            rows.add(new String[] {n.name(), n.kind().display(), n.target().toString(), String.join(", ", args),
                s == null ? "" : Arrays.toString(s)});
        }
        int[] widths = new int[5];
        for (String[] r : rows) {
            for (int i = 0; i < 5; i++) {
                widths[i] = Math.max(widths[i], r[i].length());
            }
        }
        StringBuilder sb = new StringBuilder();
        for (int r = 0; r < rows.size(); r++) {
            for (int i = 0; i < 5; i++) {
                sb.append(String.format("%-" + (widths[i] + 2) + "s", rows.get(r)[i]));
            }
            sb.setLength(sb.length() - 2);
            sb.append('\n');
            if (r == 0) {
                for (int i = 0; i < 5; i++) {
                    sb.append("-".repeat(widths[i])).append(i < 4 ? "  " : "");
                }
                sb.append('\n');
            }
        }
        return sb.toString();
    }
}
