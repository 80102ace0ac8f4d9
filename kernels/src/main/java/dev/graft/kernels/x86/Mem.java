package dev.graft.kernels.x86;

import java.util.Objects;

/**
 * A memory operand {@code [base + index*scale + disp]}; {@code index} may be null. There is no RIP-relative form:
 * the kernels address only what their arguments point at.
 */
public record Mem(Gpr base, Gpr index, int scale, int disp) {

    public Mem {
        Objects.requireNonNull(base, "base");
        if (index == Gpr.RSP) {
            throw new IllegalArgumentException("rsp cannot be an index register");
        }
        if (scale != 1 && scale != 2 && scale != 4 && scale != 8) {
            throw new IllegalArgumentException("scale " + scale + " is not 1, 2, 4 or 8");
        }
    }

    /** {@code [base + disp]}. */
    public static Mem at(Gpr base, int disp) {
        return new Mem(base, null, 1, disp);
    }

    /** {@code [base]}. */
    public static Mem at(Gpr base) {
        return new Mem(base, null, 1, 0);
    }

    /** {@code [base + index*scale + disp]}. */
    public static Mem at(Gpr base, Gpr index, int scale, int disp) {
        return new Mem(Objects.requireNonNull(base, "base"), Objects.requireNonNull(index, "index"), scale, disp);
    }

    /** The same operand moved by {@code delta} bytes. */
    public Mem plus(int delta) {
        return new Mem(base, index, scale, Math.addExact(disp, delta));
    }

    /** As GNU objdump prints it in Intel syntax, e.g. {@code [r13+r10*2+0x40]}. */
    String text() {
        StringBuilder s = new StringBuilder("[").append(base.name64());
        if (index != null) {
            s.append('+').append(index.name64()).append('*').append(scale);
        }
        boolean forcedZero = disp == 0 && (base.code() & 7) == 5; // rbp/r13 need an explicit disp8 of 0
        if (disp != 0 || forcedZero) {
            s.append(disp < 0 ? "-0x" : "+0x").append(Long.toHexString(Math.abs((long) disp)));
        }
        return s.append(']').toString();
    }

    @Override
    public String toString() {
        return text();
    }
}
