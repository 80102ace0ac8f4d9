package dev.graft.kernels;

/**
 * An activation applied in a GEMM's epilogue, on each output while it is still in cache: the values are exactly
 * those of the separate elementwise kernel ({@code max(v, 0)}; {@link Elementwise#gelu}, lane for lane).
 */
public enum Activation {
    NONE, RELU, GELU
}
