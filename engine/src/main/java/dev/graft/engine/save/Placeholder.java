package dev.graft.engine.save;

import dev.graft.engine.Module;
import dev.graft.ops.Tensor;

/**
 * What a {@link Savable}'s {@code fromConfig} builds where a traced block will be grafted in (a backbone it could
 * not rebuild from the configuration alone). The loader refuses a model in which a placeholder is left, so one is
 * never called by mistake.
 */
public final class Placeholder extends Module {
    private final String what;

    public Placeholder(String what) {
        this.what = what;
    }

    /** What the placeholder stands for (for the loader's error). */
    public String what() {
        return what;
    }

    @Override
    protected Object forwardAny(Object... inputs) {
        throw new SavedModelException(what, "this module was to come from the saved file as a traced block, but the"
                + " file has no block for it");
    }

    @Override
    protected String extraRepr() {
        return what;
    }
}
