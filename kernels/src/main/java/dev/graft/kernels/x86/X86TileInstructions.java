package dev.graft.kernels.x86;

/**
 * The AMX tile instructions of {@link X86Assembler} ({@code ldtilecfg}, {@code tilerelease}, {@code tilezero},
 * {@code tileloadd}, {@code tilestored}, {@code tdpbusd}): VEX-encoded in map 0F38 (Intel SDM volume 2, and the
 * AMX chapter of volume 1 for their semantics), listed as GNU objdump prints them like every other instruction. A
 * layer of their own between the encoder and the assembler, so the tile ISA reads in one place.
 */
abstract sealed class X86TileInstructions extends X86Encoder permits X86Assembler {

    /**
     * An AMX instruction: VEX.128.pp.0F38.W0 {@code opcode} with {@code reg} in ModRM.reg, {@code vvvv} the second
     * source (0 when the instruction has none) and either a register ({@code rm}) or a memory operand.
     */
    private void amx(String text, int pp, int opcode, int reg, int vvvv, int rm, Mem m) {
        int start = size;
        if (m == null) {
            vex(0, 0, 0, MAP_0F38, false, vvvv, false, pp);
            emit(opcode);
            modrmRegister(reg, rm);
        } else {
            vex(0, indexBit3(m), bit3(m.base().code()), MAP_0F38, false, vvvv, false, pp);
            emit(opcode);
            modrmMemory(reg, m, 1);
        }
        list(start, text);
    }

    /** Tile loads and stores address {@code [base + index*scale + disp]}: the index register holds the row stride. */
    private static Mem requireStride(Mem m) {
        if (m.index() == null) {
            throw new IllegalArgumentException("a tile load or store needs an index register (the row stride): " + m);
        }
        return m;
    }

    /** {@code ldtilecfg [m]}: loads the 64-byte tile configuration (palette, rows and bytes per row); zeroes every tile. */
    public void ldtilecfg(Mem m) {
        amx("ldtilecfg " + m.text(), PP_NONE, 0x49, 0, 0, 0, m);
    }

    /** {@code tilerelease}: returns the tiles to their initial state (no AMX state for the OS to save). */
    public void tilerelease() {
        amx("tilerelease", PP_NONE, 0x49, 0, 0, 0, null);
    }

    /** {@code tilezero t}: every byte of {@code t} to zero. */
    public void tilezero(Tmm t) {
        amx("tilezero " + t, PP_F2, 0x49, t.index(), 0, 0, null);
    }

    /** {@code tileloadd t, [base + stride*1 + disp]}: the configured rows of {@code t}, {@code stride} bytes apart. */
    public void tileloadd(Tmm t, Mem m) {
        amx("tileloadd " + t + "," + requireStride(m).text(), PP_F2, 0x4B, t.index(), 0, 0, m);
    }

    /** {@code tilestored [base + stride*1 + disp], t}. */
    public void tilestored(Mem m, Tmm t) {
        amx("tilestored " + requireStride(m).text() + "," + t, PP_F3, 0x4B, t.index(), 0, 0, m);
    }

    /**
     * {@code tdpbusd acc, a, b}: {@code acc[i][j] += sum over the four bytes of dword p of u8(a[i][4p..]) *
     * s8(b[p][4j..])}, a 16x16 int32 tile from a {@code 16 x 64} u8 tile and a {@code 16 x 64} s8 tile in the VNNI
     * layout (wrapping, no saturation). {@code a} is in ModRM.rm, {@code b} in VEX.vvvv.
     */
    public void tdpbusd(Tmm acc, Tmm a, Tmm b) {
        if (acc.equals(a) || acc.equals(b) || a.equals(b)) {
            throw new IllegalArgumentException("tdpbusd needs three different tiles (#UD otherwise): " + acc + ","
                    + a + "," + b);
        }
        amx("tdpbusd " + acc + "," + a + "," + b, PP_66, 0x5E, acc.index(), b.index(), a.index(), null);
    }
}
