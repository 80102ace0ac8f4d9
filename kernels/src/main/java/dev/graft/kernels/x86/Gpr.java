package dev.graft.kernels.x86;

import java.util.Locale;

/** The sixteen x86-64 general-purpose registers; {@link #code()} is the 4-bit number the encodings carry. */
public enum Gpr {
    RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15;

    /** The register number, 0-15 (bit 3 goes into a REX/VEX/EVEX prefix). */
    public int code() {
        return ordinal();
    }

    /** The 64-bit name, as a disassembler prints it ({@code rax}, {@code r12}). */
    public String name64() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The 8-bit name of the low byte ({@code al}, {@code bpl}, {@code r14b}); bpl/spl/sil/dil need a REX prefix. */
    public String name8() {
        if (ordinal() >= 8) {
            return name64() + "b";
        }
        return switch (this) {
            case RAX -> "al";
            case RCX -> "cl";
            case RDX -> "dl";
            case RBX -> "bl";
            default -> name64().substring(1) + "l";
        };
    }

    /** The 32-bit name ({@code eax}, {@code r12d}). */
    public String name32() {
        if (ordinal() >= 8) {
            return name64() + "d";
        }
        return "e" + name64().substring(1);
    }
}
