package dev.graft.engine.graph;

/**
 * A traced block's assumption about its inputs: input {@code input} had size {@code size} in dimension {@code dim}
 * when traced, and the traced code read that size (so the graph has it baked in).
 */
public record Guard(int input, int dim, int size) {
    @Override
    public String toString() {
        return "input" + input + ".size(" + dim + ") == " + size;
    }
}
