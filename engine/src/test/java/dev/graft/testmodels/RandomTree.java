package dev.graft.testmodels;

import dev.graft.engine.Module;
import dev.graft.engine.Submodule;
import dev.graft.engine.nn.Linear;
import dev.graft.ops.F;
import dev.graft.ops.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A randomly shaped module tree for partition properties. Each node runs its own Linear, then its children (with
 * a residual add), and, when {@code controlFlow} is set, branches on the data — so exactly the subtrees without
 * control flow anywhere inside can be traced.
 */
public final class RandomTree extends Module {
    private final boolean controlFlow;
    private final Submodule own;
    private final List<Submodule> kids = new ArrayList<>();

    /** A tree description: whether this node branches, and its children. */
    public record Shape(boolean controlFlow, List<Shape> children) {
        public boolean cleanSubtree() {
            return !controlFlow && children.stream().allMatch(Shape::cleanSubtree);
        }
    }

    public RandomTree(Shape shape, int width, Random rng) {
        this.controlFlow = shape.controlFlow();
        this.own = submodule("own", new Linear(width, width, true, rng));
        for (int i = 0; i < shape.children().size(); i++) {
            kids.add(submodule("child" + i, new RandomTree(shape.children().get(i), width, rng)));
        }
    }

    @Override
    protected Tensor forward(Tensor... inputs) {
        Tensor x = F.tanh(own.call(single(inputs)));
        for (Submodule k : kids) {
            x = x.add(k.call(x));
        }
        if (controlFlow) {
            if (x.mean().item() > 0f) {
                x = x.mul(0.5f);
            } else {
                x = x.sub(0.25f);
            }
        }
        return x;
    }
}
