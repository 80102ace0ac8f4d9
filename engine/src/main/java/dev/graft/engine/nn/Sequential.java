package dev.graft.engine.nn;

import dev.graft.engine.Module;
import dev.graft.ops.Tensor;

/** Children "0", "1", ... called in order, each on the previous one's output. */
public class Sequential extends Module {

    public Sequential(Module... modules) {
        for (int i = 0; i < modules.length; i++) {
            registerModule(Integer.toString(i), modules[i]);
        }
    }

    @Override
    protected Tensor forward(Tensor... inputs) {
        Tensor x = single(inputs);
        for (Module m : children().values()) {
            x = m.call(x);
        }
        return x;
    }

    public int size() {
        return children().size();
    }

    /** The module in slot {@code i} now. */
    public Module get(int i) {
        return child(Integer.toString(i));
    }
}
