package dev.graft.kernels.x86;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The encoding machinery under {@link X86Assembler}: the code buffer and its objdump-style listing, labels, and the
 * ModRM/SIB, REX, VEX and EVEX encoders (Intel SDM volume 2, chapter 2) that every instruction method composes. The
 * instructions themselves, one method per mnemonic, are in {@link X86Assembler} (the AMX tile ones in
 * {@link X86TileInstructions}, between the two).
 */
abstract sealed class X86Encoder permits X86TileInstructions {

    // Instruction prefixes' pp and map fields.
    static final int PP_NONE = 0;
    static final int PP_66 = 1;
    static final int PP_F3 = 2;
    static final int PP_F2 = 3;
    static final int MAP_0F = 1;
    static final int MAP_0F38 = 2;
    static final int MAP_0F3A = 3;

    byte[] code = new byte[4096];
    int size;
    final List<Line> listing = new ArrayList<>();

    /** Whether an EVEX or opmask instruction was emitted: code for CPUs without AVX-512 must have none. */
    boolean usesAvx512;

    /** One listed instruction; jumps get their target text once the label is bound. */
    record Line(int offset, String text, Label target) {
    }

    /**
     * True when the code contains an AVX-512 instruction (EVEX-encoded, or an opmask move). The AVX-VNNI kernels
     * check it is false: such an instruction would be SIGILL on their CPUs, and a machine with AVX-512 (where the
     * tests run) would not notice.
     */
    public boolean usesAvx512() {
        return usesAvx512;
    }

    /** Bytes emitted so far. */
    public int size() {
        return size;
    }

    /** A copy of the machine code; every label used by a jump must be bound. */
    public byte[] toBytes() {
        for (Line line : listing) {
            if (line.target() != null && line.target().position < 0) {
                throw new IllegalStateException("jump at 0x" + Integer.toHexString(line.offset())
                        + " targets a label that was never bound");
            }
        }
        return Arrays.copyOf(code, size);
    }

    /** The instructions as objdump would print them, one per line, with each line's offset. */
    public List<String> listing() {
        List<String> lines = new ArrayList<>(listing.size());
        for (Line line : listing) {
            String text = line.target() == null ? line.text()
                    : line.text() + " 0x" + Integer.toHexString(line.target().position);
            lines.add(Integer.toHexString(line.offset()) + ": " + text);
        }
        return lines;
    }

    void emit(int b) {
        if (size == code.length) {
            code = Arrays.copyOf(code, code.length * 2);
        }
        code[size++] = (byte) b;
    }

    void emit32(int v) {
        emit(v);
        emit(v >>> 8);
        emit(v >>> 16);
        emit(v >>> 24);
    }

    void list(int start, String text) {
        listing.add(new Line(start, text, null));
    }

    /** ModRM with a register in {@code rm} (mod = 11). */
    void modrmRegister(int reg, int rm) {
        emit(0xC0 | (reg & 7) << 3 | (rm & 7));
    }

    /**
     * ModRM, SIB and displacement for a memory operand. {@code n} scales an 8-bit displacement (EVEX's compressed
     * disp8*N; 1 for legacy and VEX encodings): a displacement that is a multiple of {@code n} and within
     * {@code [-128, 127] * n} takes one byte, any other four.
     */
    void modrmMemory(int reg, Mem m, int n) {
        int baseLow = m.base().code() & 7;
        int disp = m.disp();
        int mod;
        if (disp == 0 && baseLow != 5) {
            mod = 0;
        } else if (disp % n == 0 && disp / n >= -128 && disp / n <= 127) {
            mod = 1;
        } else {
            mod = 2;
        }
        boolean sib = m.index() != null || baseLow == 4;
        emit(mod << 6 | (reg & 7) << 3 | (sib ? 4 : baseLow));
        if (sib) {
            int indexLow = m.index() == null ? 4 : m.index().code() & 7;
            emit(Integer.numberOfTrailingZeros(m.scale()) << 6 | indexLow << 3 | baseLow);
        }
        if (mod == 1) {
            emit(disp / n);
        } else if (mod == 2) {
            emit32(disp);
        }
    }

    static int bit3(int code) {
        return code >> 3 & 1;
    }

    static int indexBit3(Mem m) {
        return m.index() == null ? 0 : bit3(m.index().code());
    }

    /** REX prefix (emitted only when some bit is set). */
    void rex(boolean w, int r, int x, int b) {
        int rex = 0x40 | (w ? 8 : 0) | (r & 1) << 2 | (x & 1) << 1 | (b & 1);
        if (rex != 0x40) {
            emit(rex);
        }
    }

    /** VEX prefix: the 2-byte form where it can express the instruction, else the 3-byte form. */
    void vex(int r, int x, int b, int map, boolean w, int vvvv, boolean l256, int pp) {
        if (x == 0 && b == 0 && !w && map == MAP_0F) {
            emit(0xC5);
            emit((~r & 1) << 7 | (~vvvv & 15) << 3 | (l256 ? 4 : 0) | pp);
        } else {
            emit(0xC4);
            emit((~r & 1) << 7 | (~x & 1) << 6 | (~b & 1) << 5 | map);
            emit((w ? 0x80 : 0) | (~vvvv & 15) << 3 | (l256 ? 4 : 0) | pp);
        }
    }

    /**
     * EVEX prefix. {@code reg} is the ModRM.reg operand's full number (vector 0-31 or mask 0-7), {@code x} and
     * {@code b} the extension bits of the rm side (for a vector rm register: its bits 4 and 3), {@code vvvv} the
     * second source (0-31; 0 when unused), {@code ll} the vector length (or the rounding mode when {@code bcst} is
     * set on a register form), {@code aaa} the opmask.
     */
    void evex(int reg, int x, int b, int map, boolean w, int vvvv, int ll, boolean bcst, int aaa,
                      boolean zeroing, int pp) {
        usesAvx512 = true;
        emit(0x62);
        emit((~reg >> 3 & 1) << 7 | (~x & 1) << 6 | (~b & 1) << 5 | (~reg >> 4 & 1) << 4 | map);
        emit((w ? 0x80 : 0) | (~vvvv & 15) << 3 | 4 | pp);
        emit((zeroing ? 0x80 : 0) | ll << 5 | (bcst ? 0x10 : 0) | (~vvvv >> 4 & 1) << 3 | aaa);
    }

    static int lengthCode(Vec v) {
        return v.bits() == 512 ? 2 : v.bits() == 256 ? 1 : 0;
    }

    /** An EVEX instruction {@code op dst, src1, src2} with all three in registers. */
    void evexRRR(int pp, int map, int opcode, int dst, int src1, Vec src2, int ll, int aaa, boolean zeroing) {
        evex(dst, src2.index() >> 4, src2.index() >> 3, map, false, src1, ll, false, aaa, zeroing, pp);
        emit(opcode);
        modrmRegister(dst, src2.index());
    }

    /** An EVEX instruction with a memory operand; {@code n} is the disp8 scale of its tuple type. */
    void evexRRM(int pp, int map, int opcode, int reg, int src1, Mem m, int ll, boolean bcst, int aaa,
                         boolean zeroing, int n) {
        evex(reg, indexBit3(m), bit3(m.base().code()), map, false, src1, ll, bcst, aaa, zeroing, pp);
        emit(opcode);
        modrmMemory(reg, m, n);
    }

    static String maskText(Mask k, boolean zeroing) {
        if (k == null || k.index() == 0) {
            return "";
        }
        return "{" + k.name() + "}" + (zeroing ? "{z}" : "");
    }

    static int maskCode(Mask k) {
        return k == null ? 0 : k.index();
    }

    static void requireSameWidth(Vec... regs) {
        for (Vec v : regs) {
            if (v.bits() != regs[0].bits()) {
                throw new IllegalArgumentException("operands of different widths: " + Arrays.toString(regs));
            }
        }
    }

    /** Binds {@code label} to the current position and patches the jumps already emitted to it. */
    public void bind(Label label) {
        if (label.position >= 0) {
            throw new IllegalStateException("label bound twice");
        }
        label.position = size;
        for (int at : label.fixups) {
            patch(at, size);
        }
        label.fixups.clear();
    }

    void patch(int at, int target) {
        int rel = target - (at + 4);
        code[at] = (byte) rel;
        code[at + 1] = (byte) (rel >>> 8);
        code[at + 2] = (byte) (rel >>> 16);
        code[at + 3] = (byte) (rel >>> 24);
    }

    void jumpTarget(Label label) {
        int at = size;
        emit32(0);
        if (label.position >= 0) {
            patch(at, label.position);
        } else {
            label.fixups.add(at);
        }
    }

    /**
     * The common shape {@code op dst{k}{z}, src1, src2} with {@code src2} a register, for EVEX instructions of one
     * element size 4 (all of the ones here are dword or single-precision).
     */
    void evexOp(String mnemonic, int pp, int map, int opcode, Vec dst, Mask k, boolean zeroing, Vec src1,
                        Vec src2) {
        requireSameWidth(dst, src1, src2);
        int start = size;
        evexRRR(pp, map, opcode, dst.index(), src1.index(), src2, lengthCode(dst), maskCode(k), zeroing);
        list(start, mnemonic + " " + dst.name() + maskText(k, zeroing) + "," + src1.name() + "," + src2.name());
    }

    /** {@code op dst{k}{z}, src1, [m]} (full vector) or {@code [m]{1toN}} (broadcast dword) for EVEX. */
    void evexOp(String mnemonic, int pp, int map, int opcode, Vec dst, Mask k, boolean zeroing, Vec src1,
                        Mem m, boolean broadcast) {
        requireSameWidth(dst, src1);
        int start = size;
        evexRRM(pp, map, opcode, dst.index(), src1.index(), m, lengthCode(dst), broadcast, maskCode(k), zeroing,
                broadcast ? 4 : dst.bytes());
        String operand = broadcast ? "DWORD BCST " + m.text() : dst.memoryKeyword() + " PTR " + m.text();
        list(start, mnemonic + " " + dst.name() + maskText(k, zeroing) + "," + src1.name() + "," + operand);
    }

    static void requireVexRegisters(Vec... regs) {
        for (Vec v : regs) {
            if (v.index() > 15 || v.bits() == 512) {
                throw new IllegalArgumentException(v + " cannot be encoded with VEX (xmm/ymm 0-15 only)");
            }
        }
    }

    /**
     * A VEX instruction on registers only: {@code reg} in ModRM.reg (its width sets VEX.L), {@code src1} in vvvv
     * (null when the instruction has none), {@code rm} in ModRM.rm, an immediate byte unless {@code imm < 0}.
     */
    void vexRegisters(String text, int pp, int map, boolean w, int opcode, Vec reg, Vec src1, Vec rm,
                              int imm) {
        requireVexRegisters(reg, rm);
        if (src1 != null) {
            requireVexRegisters(src1);
        }
        int start = size;
        vex(bit3(reg.index()), 0, bit3(rm.index()), map, w, src1 == null ? 0 : src1.index(), reg.bits() == 256, pp);
        emit(opcode);
        modrmRegister(reg.index(), rm.index());
        if (imm >= 0) {
            emit(imm);
        }
        list(start, text);
    }

    /** {@link #vexRegisters} with a memory operand in ModRM.rm (VEX has no compressed displacement). */
    void vexMemory(String text, int pp, int map, boolean w, int opcode, Vec reg, Vec src1, Mem m) {
        requireVexRegisters(reg);
        if (src1 != null) {
            requireVexRegisters(src1);
        }
        int start = size;
        vex(bit3(reg.index()), indexBit3(m), bit3(m.base().code()), map, w, src1 == null ? 0 : src1.index(),
                reg.bits() == 256, pp);
        emit(opcode);
        modrmMemory(reg.index(), m, 1);
        list(start, text);
    }

    static String ops(String mnemonic, Object... operands) {
        StringBuilder s = new StringBuilder(mnemonic).append(' ');
        for (int i = 0; i < operands.length; i++) {
            s.append(i == 0 ? "" : ",").append(operands[i]);
        }
        return s.toString();
    }

    static String vectorMem(Vec width, Mem m) {
        return width.memoryKeyword() + " PTR " + m.text();
    }

    /** {@code op dst, a, b} for the VEX three-register arithmetic below. */
    void vex3(String mnemonic, int pp, int map, int opcode, Vec dst, Vec a, Vec b) {
        requireSameWidth(dst, a, b);
        vexRegisters(ops(mnemonic, dst, a, b), pp, map, false, opcode, dst, a, b, -1);
    }

    /** {@code op dst, a, [m]} with a full-width memory operand. */
    void vex3(String mnemonic, int pp, int map, int opcode, Vec dst, Vec a, Mem b) {
        requireSameWidth(dst, a);
        vexMemory(ops(mnemonic, dst, a, vectorMem(dst, b)), pp, map, false, opcode, dst, a, b);
    }
}
