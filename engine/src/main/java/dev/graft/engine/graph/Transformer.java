package dev.graft.engine.graph;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Rebuilds a graph node by node, the base of rewriting passes: each node kind has a method that by default copies
 * the node (with its arguments mapped to the new graph and its meta copied). Override one to replace a node by
 * other nodes; return the node that stands for its value.
 */
public class Transformer {
    protected final Graph source;
    protected final Graph result = new Graph();
    private final Map<Node, Node> mapped = new IdentityHashMap<>();

    public Transformer(Graph source) {
        this.source = source;
    }

    public Graph transform() {
        for (Node n : source) {
            List<Object> args = mapArgs(n.args());
            Node out = switch (n.kind()) {
                case PLACEHOLDER -> placeholder(n);
                case GET_ATTR -> getAttr(n);
                case CALL_MODULE -> callModule(n, args);
                case CALL_FUNCTION -> callFunction(n, args);
                case OUTPUT -> output(n, args);
            };
            mapped.put(n, out);
        }
        return result;
    }

    protected Node placeholder(Node n) {
        return copy(n, List.of());
    }

    protected Node getAttr(Node n) {
        return copy(n, List.of());
    }

    protected Node callModule(Node n, List<Object> args) {
        return copy(n, args);
    }

    protected Node callFunction(Node n, List<Object> args) {
        return copy(n, args);
    }

    protected Node output(Node n, List<Object> args) {
        return copy(n, args);
    }

    /** The same target and meta in the new graph, with the given (already mapped) arguments. */
    protected final Node copy(Node n, List<Object> args) {
        Node out = result.create(n.target(), args, n.name());
        out.meta().putAll(n.meta());
        return out;
    }

    /** The new node that stands for an old node's value. */
    protected final Node mapped(Node old) {
        Node n = mapped.get(old);
        if (n == null) {
            throw new GraphException("Transformer: node " + old.name() + " used before it was transformed");
        }
        return n;
    }

    private List<Object> mapArgs(List<Object> args) {
        List<Object> out = new ArrayList<>(args.size());
        for (Object a : args) {
            out.add(mapArg(a));
        }
        return out;
    }

    private Object mapArg(Object a) {
        if (a instanceof Node n) {
            return mapped(n);
        }
        if (a instanceof List<?> list) {
            List<Object> out = new ArrayList<>(list.size());
            for (Object o : list) {
                out.add(mapArg(o));
            }
            return out;
        }
        return a;
    }
}
