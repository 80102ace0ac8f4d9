package dev.graft.kernels.x86;

/**
 * An AVX-512 opmask register {@code k0}-{@code k7}. As a write mask, {@code k0} means "no mask".
 *
 * @param index the register number
 */
public record Mask(int index) {

    public Mask {
        if (index < 0 || index > 7) {
            throw new IllegalArgumentException("opmask register " + index + " is outside k0-k7");
        }
    }

    public static Mask k(int index) {
        return new Mask(index);
    }

    public String name() {
        return "k" + index;
    }

    @Override
    public String toString() {
        return name();
    }
}
