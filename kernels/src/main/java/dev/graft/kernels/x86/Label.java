package dev.graft.kernels.x86;

import java.util.ArrayList;
import java.util.List;

/** A jump target: bound once to a code position; jumps emitted before that are patched when it is bound. */
public final class Label {
    int position = -1;
    final List<Integer> fixups = new ArrayList<>();

    /** Code offset, or -1 while unbound. */
    public int position() {
        return position;
    }
}
