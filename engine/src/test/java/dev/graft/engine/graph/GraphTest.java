package dev.graft.engine.graph;

import dev.graft.ops.MathOps;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GraphTest {

    /** x -> relu -> add(relu, x) -> output. */
    private static Graph small() {
        Graph g = new Graph();
        Node x = g.placeholder("x");
        Node r = g.callFunction(MathOps.RELU, x);
        Node a = g.callFunction(MathOps.ADD, r, x);
        g.output(a);
        return g;
    }

    @Test
    void usersFollowArgumentsAutomatically() {
        Graph g = small();
        Node x = g.find("x");
        Node relu = g.find("relu");
        Node add = g.find("add");
        assertEquals(Set.of(relu, add), x.users());
        add.setArgs(List.of(relu, relu));
        assertEquals(Set.of(relu), x.users());
        assertEquals(Set.of(add), relu.users());
        assertEquals(List.of(relu), add.inputNodes());
    }

    @Test
    void replaceAllUsesWithRewiresEveryUser() {
        Graph g = small();
        Node x = g.find("x");
        Node relu = g.find("relu");
        Node neg;
        try (var at = g.insertAfter(x)) {
            neg = g.callFunction(MathOps.NEG, x);
        }
        List<Node> former = x.replaceAllUsesWith(neg);
        neg.setArg(0, x); // the replacement itself was among the users
        assertEquals(3, former.size());
        assertEquals(Set.of(neg), x.users());
        assertEquals(Set.of(relu, g.find("add")), neg.users());
        assertEquals(neg, relu.previous());
        g.lint(null);
    }

    @Test
    void eraseIsRefusedWhileANodeHasUsersAndDeadCodeGoes() {
        Graph g = small();
        Node relu = g.find("relu");
        GraphException e = assertThrows(GraphException.class, () -> g.erase(relu));
        assertTrue(e.getMessage().contains("still used by [add]"), e.getMessage());
        Node x = g.find("x");
        Node dead1;
        try (var at = g.insertBefore(g.outputNode())) {
            dead1 = g.callFunction(MathOps.EXP, x);
            g.callFunction(MathOps.LOG, dead1);
        }
        assertEquals(6, g.size());
        assertEquals(2, g.eliminateDeadCode());
        assertEquals(4, g.size());
        assertTrue(dead1.isErased());
        g.lint(null);
    }

    @Test
    void namesAreUniqueAndReadable() {
        Graph g = new Graph();
        Node x = g.placeholder("x");
        Node r1 = g.callFunction(MathOps.RELU, x);
        Node r2 = g.callFunction(MathOps.RELU, r1);
        Node m = g.callModule("encoder.layer.0", r2);
        assertEquals(List.of("x", "relu", "relu_1", "encoder_layer_0"), List.of(x.name(), r1.name(), r2.name(),
                m.name()));
        g.output(m);
        assertThrows(GraphException.class, () -> g.output(m));
    }

    @Test
    void lintFindsOrderAndTargetProblems() {
        Graph g = small();
        Node x = g.find("x");
        Node add = g.find("add");
        try (var at = g.insertBefore(g.find("relu"))) {
            g.callFunction(MathOps.NEG, add); // uses a node that comes later
        }
        GraphException order = assertThrows(GraphException.class, () -> g.lint(null));
        assertTrue(order.getMessage().contains("comes later"), order.getMessage());

        Graph h = new Graph();
        Node in = h.placeholder("x");
        h.output(h.callModule("missing", in));
        Graph.TargetResolver none = new Graph.TargetResolver() {
            @Override
            public boolean hasModule(String path) {
                return false;
            }

            @Override
            public boolean hasAttr(String path) {
                return false;
            }
        };
        GraphException target = assertThrows(GraphException.class, () -> h.lint(none));
        assertTrue(target.getMessage().contains("call_module target 'missing' does not exist"), target.getMessage());

        Graph noOutput = new Graph();
        noOutput.placeholder("x");
        assertThrows(GraphException.class, () -> noOutput.lint(null));
        assertNull(noOutput.outputNode());
        assertTrue(x.users().size() > 0);
    }

    @Test
    void printsOneNodePerLineAndAsATable() {
        Graph g = small();
        g.find("relu").putMeta(Meta.SHAPE, new int[] {2, 3});
        String text = g.toString();
        assertTrue(text.contains("    relu = call_function[relu](x) :: [2, 3]\n"), text);
        assertTrue(text.contains("    add = call_function[add](relu, x)\n"), text);
        assertTrue(text.contains("    output = output[output](add)\n"), text);
        String table = g.toTable();
        assertTrue(table.startsWith("name"), table);
        assertTrue(table.lines().anyMatch(l -> l.startsWith("relu") && l.contains("call_function") && l.contains("[2, 3]")),
                table);
    }

    @Test
    void interpreterRunsAndReportsTheFailingNode() {
        Graph g = small();
        Interpreter in = new Interpreter(new dev.graft.engine.nn.Identity(), g);
        Tensor x = Tensor.of(new float[] {-1, 2}, 2);
        assertEquals(List.of(-1f, 4f), floats((Tensor) in.run(x)));
        GraphExecutionException e = assertThrows(GraphExecutionException.class,
                () -> in.run(x.quantize(0.1f, 0, dev.graft.ops.DType.UINT8)));
        assertTrue(e.getMessage().contains("while executing node"), e.getMessage());
    }

    @Test
    void aCopyIsIndependentAndNamesNewNodesAsTheOriginalWould() {
        Graph g = small();
        g.find("relu").putMeta(Meta.SHAPE, new int[] {2, 3});
        Graph copy = g.copy();
        copy.lint(null);
        assertEquals(g.toString(), copy.toString());
        // Rewrite the copy in place (the passes' style): relu -> sigmoid.
        Node relu = copy.find("relu");
        Node sigmoid;
        try (var at = copy.insertBefore(relu)) {
            sigmoid = copy.callFunction(MathOps.SIGMOID, relu.args().toArray());
        }
        sigmoid.copyMetaFrom(relu);
        relu.replaceAllUsesWith(sigmoid);
        copy.erase(relu);
        copy.lint(null);
        assertTrue(copy.toString().contains("sigmoid = call_function[sigmoid](x) :: [2, 3]"), copy.toString());
        assertTrue(copy.toString().contains("add = call_function[add](sigmoid, x)"), copy.toString());
        assertTrue(g.toString().contains("add = call_function[add](relu, x)"), "the original is untouched: " + g);
        // Both graphs continue the same naming: a second add is add_1 in each.
        assertEquals(g.callFunction(MathOps.ADD, g.find("x"), g.find("x")).name(),
                copy.callFunction(MathOps.ADD, copy.find("x"), copy.find("x")).name());
    }

    private static List<Float> floats(Tensor t) {
        float[] f = t.toFloatArray();
        java.util.List<Float> out = new java.util.ArrayList<>();
        for (float v : f) {
            out.add(v);
        }
        return out;
    }
}
