package dev.graft.kernels.x86;

/**
 * A vector register: {@code zmm}, {@code ymm} or {@code xmm} number {@code index} (0-31; VEX encodings reach 0-15).
 *
 * @param index the register number
 * @param bits  512, 256 or 128
 */
public record Vec(int index, int bits) {

    public Vec {
        if (index < 0 || index > 31) {
            throw new IllegalArgumentException("vector register " + index + " is outside 0-31");
        }
        if (bits != 128 && bits != 256 && bits != 512) {
            throw new IllegalArgumentException("vector width " + bits + " is not 128, 256 or 512");
        }
    }

    public static Vec zmm(int index) {
        return new Vec(index, 512);
    }

    public static Vec ymm(int index) {
        return new Vec(index, 256);
    }

    public static Vec xmm(int index) {
        return new Vec(index, 128);
    }

    /** Bytes in the register. */
    public int bytes() {
        return bits / 8;
    }

    /** The disassembler's name, e.g. {@code zmm17}. */
    public String name() {
        return (bits == 512 ? "zmm" : bits == 256 ? "ymm" : "xmm") + index;
    }

    /** The size keyword of a memory operand as wide as this register ({@code ZMMWORD}...). */
    String memoryKeyword() {
        return bits == 512 ? "ZMMWORD" : bits == 256 ? "YMMWORD" : "XMMWORD";
    }

    @Override
    public String toString() {
        return name();
    }
}
