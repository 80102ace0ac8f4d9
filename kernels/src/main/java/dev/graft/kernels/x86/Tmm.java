package dev.graft.kernels.x86;

/**
 * An AMX tile register, {@code tmm0}-{@code tmm7}: up to 16 rows of 64 bytes each, shaped by the tile configuration
 * that {@code ldtilecfg} loads (rows and bytes per row per register).
 *
 * @param index the register number, 0-7
 */
public record Tmm(int index) {

    public Tmm {
        if (index < 0 || index > 7) {
            throw new IllegalArgumentException("tile register " + index + " is outside 0-7");
        }
    }

    public static Tmm tmm(int index) {
        return new Tmm(index);
    }

    /** The disassembler's name, e.g. {@code tmm3}. */
    public String name() {
        return "tmm" + index;
    }

    @Override
    public String toString() {
        return name();
    }
}
