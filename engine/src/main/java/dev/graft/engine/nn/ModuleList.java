package dev.graft.engine.nn;

import dev.graft.engine.Module;
import dev.graft.engine.ModuleException;
import dev.graft.ops.Tensor;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/** An indexed list of children "0", "1", ...; the parent decides how to call them. It has no forward of its own. */
public class ModuleList extends Module implements Iterable<Module> {

    public ModuleList(Module... modules) {
        for (Module m : modules) {
            add(m);
        }
    }

    public final ModuleList add(Module m) {
        registerModule(Integer.toString(children().size()), m);
        return this;
    }

    /** The module in slot {@code i} now (it may have been replaced by a traced block). */
    public Module get(int i) {
        if (i < 0 || i >= size()) {
            throw new ModuleException("ModuleList: index " + i + " out of range for size " + size());
        }
        return child(Integer.toString(i));
    }

    public int size() {
        return children().size();
    }

    @Override
    public Iterator<Module> iterator() {
        List<Module> snapshot = new ArrayList<>(children().values());
        return snapshot.iterator();
    }

    @Override
    protected Tensor forward(Tensor... inputs) {
        throw new ModuleException("ModuleList is a container; call its elements");
    }
}
