package dev.graft.kernels.x86;

import static dev.graft.kernels.x86.Gpr.R10;
import static dev.graft.kernels.x86.Gpr.R11;
import static dev.graft.kernels.x86.Gpr.R12;
import static dev.graft.kernels.x86.Gpr.R13;
import static dev.graft.kernels.x86.Gpr.R14;
import static dev.graft.kernels.x86.Gpr.R15;
import static dev.graft.kernels.x86.Gpr.R8;
import static dev.graft.kernels.x86.Gpr.R9;
import static dev.graft.kernels.x86.Gpr.RAX;
import static dev.graft.kernels.x86.Gpr.RBP;
import static dev.graft.kernels.x86.Gpr.RBX;
import static dev.graft.kernels.x86.Gpr.RCX;
import static dev.graft.kernels.x86.Gpr.RDI;
import static dev.graft.kernels.x86.Gpr.RDX;
import static dev.graft.kernels.x86.Gpr.RSI;
import static dev.graft.kernels.x86.Gpr.RSP;
import static dev.graft.kernels.x86.Tmm.tmm;
import static dev.graft.kernels.x86.Vec.zmm;

import dev.graft.kernels.x86.VnniGemmCode.Fault;
import dev.graft.kernels.x86.VnniGemmCode.Output;

/**
 * The machine code of the AMX INT8 GEMM (Intel Sapphire Rapids and later): u8 activations times s8 weights into
 * int32 with {@code tdpbusd}, which multiplies a 16 x 64 byte tile of activations by a 64 x 16 tile of weights
 * (sixteen groups of four K values, the VNNI layout) into a 16 x 16 int32 tile: 16,384 multiply-adds per
 * instruction, 8x a 512-bit {@code vpdpbusd}'s.
 *
 * <p>Same operands, weight layout, column constants and output stages as the {@link VnniGemmCode}
 * {@link VnniGemmCode.Operands#ACTIVATION_ROWS} form, so {@code JitInt8Gemm} calls either the same way. The block:
 * 16 rows by one 64-column panel, four accumulator tiles (tmm0-3, one per 16 columns), the activations in tmm4 and
 * the weights in tmm5-7 (rotating, so a load need not wait for the product before last). Per step of 64 K values:
 * one activation load, four weight loads, four products. The finished tiles go to a 4 KiB cache-aligned block on the
 * stack, and the output stage of {@link VnniGemmCode#outputVector} runs on them row by row, vector by vector, with
 * the usual column masks on the last panel.
 *
 * <p>Shapes the tile configuration carries: {@link #P_TILE_CONFIG} (16-row blocks) and {@link #P_TAIL_CONFIG} (the
 * last {@code m mod 16} rows, loaded once before them; {@code ldtilecfg} zeroes the tiles, so it never runs inside a
 * block). K is stepped in whole groups of sixteen: the weights are packed with their group count padded to a multiple
 * of 16 (zero weights), and each activation row is read for {@code 64 * steps} bytes, so the caller guarantees those
 * bytes exist (past K they meet zero weights). The code ends with {@code tilerelease}, so the thread carries no tile
 * state between calls.
 *
 * <p><b>Registers</b>: rdi params, rsi the row block's activations, r8 its output, r9 its row terms, r10 lda,
 * r11 ldo, rbx rows left; per block r12/r13/r14 the panel's weights/columns/output, rax panels left; in the K loop
 * rbp the moving activations, r15 the moving weights, rdx the weight row stride (256), rcx the step counter; in the
 * output stage rbp the tile rows on the stack, r15 the output row, rdx the row term, rcx rows left.
 * Stack: {@code [rsp]} the caller's rsp, {@code [rsp+8]} the weights, {@code [rsp+16]} the column constants,
 * {@code [rsp+64]} the four stored tiles.
 */
public final class AmxGemmCode {

    /** Rows of the activation and accumulator tiles. */
    public static final int TILE_ROWS = 16;
    /** K groups of four per step (rows of a weight tile). */
    public static final int GROUPS_PER_STEP = 16;

    /** Steps of 64 K values per row block and panel. */
    public static final int P_K_STEPS = VnniGemmCode.PARAMS;
    /** The 64-byte tile configuration of full 16-row blocks (eight longs). */
    public static final int P_TILE_CONFIG = P_K_STEPS + 1;
    /** The configuration of the last {@code m mod 16} rows (eight longs). */
    public static final int P_TAIL_CONFIG = P_TILE_CONFIG + 8;
    public static final int PARAMS = P_TAIL_CONFIG + 8;

    private static final int TILE_BYTES = 1024;
    private static final int SCRATCH = 64;
    private static final int FRAME = SCRATCH + 4 * TILE_BYTES + 64;

    private final Output output;
    private final boolean asymmetric;
    private final Fault fault;
    private final X86Assembler asm = new X86Assembler();

    /** The code for one output stage and weight symmetry (and, in tests only, a deliberate defect). */
    public AmxGemmCode(Output output, boolean asymmetric, Fault fault) {
        this.output = output;
        this.asymmetric = asymmetric;
        this.fault = fault;
        generate();
    }

    /** The assembled code. */
    public X86Assembler assembler() {
        return asm;
    }

    /**
     * Writes a tile configuration into {@code params} at {@code at} (eight longs, little-endian bytes): palette 1,
     * tmm0-4 with {@code rows} rows (accumulators and activations), tmm5-7 with 16 (weights), every row 64 bytes.
     */
    public static void putTileConfig(long[] params, int at, int rows) {
        if (rows < 1 || rows > TILE_ROWS) {
            throw new IllegalArgumentException("tile rows " + rows + " outside 1-" + TILE_ROWS);
        }
        byte[] config = new byte[64];
        config[0] = 1; // palette 1: eight tiles of up to 16 rows x 64 bytes
        for (int t = 0; t < 8; t++) {
            config[16 + 2 * t] = 64; // bytes per row, a little-endian word
            config[48 + t] = (byte) (t < 5 ? rows : GROUPS_PER_STEP);
        }
        for (int i = 0; i < 8; i++) {
            long v = 0;
            for (int b = 7; b >= 0; b--) {
                v = v << 8 | (config[8 * i + b] & 0xFF);
            }
            params[at + i] = v;
        }
    }

    private static Mem param(int index) {
        return Mem.at(RDI, 8 * index);
    }

    private static Mask columnMask(int vector) {
        return Mask.k(1 + vector);
    }

    private void generate() {
        X86Assembler a = asm;
        if (fault == Fault.INVALID_INSTRUCTION) {
            a.ud2();
        }
        for (Gpr saved : new Gpr[] {RBX, RBP, R12, R13, R14, R15}) {
            a.push(saved);
        }
        a.mov(RAX, RSP);
        a.sub(RSP, FRAME);
        a.and(RSP, -64);
        a.mov(Mem.at(RSP, 0), RAX);
        a.mov(Mem.at(RSP, 8), RDX);
        a.mov(Mem.at(RSP, 16), RCX);
        a.mov(R10, param(VnniGemmCode.P_LDA));
        a.mov(R11, param(VnniGemmCode.P_LDO));
        a.mov(RBX, param(VnniGemmCode.P_M));
        a.ldtilecfg(param(P_TILE_CONFIG));

        Label rowLoop = new Label();
        Label tail = new Label();
        Label done = new Label();
        a.bind(rowLoop);
        a.cmp(RBX, TILE_ROWS);
        a.j(X86Assembler.Cond.L, tail);
        block(true);
        a.add(RSI, param(VnniGemmCode.P_A_TILE_BYTES));
        a.add(R8, param(VnniGemmCode.P_OUT_TILE_BYTES));
        a.add(R9, 4 * TILE_ROWS);
        a.sub(RBX, TILE_ROWS);
        a.jmp(rowLoop);

        a.bind(tail);
        a.cmp(RBX, 0);
        a.j(X86Assembler.Cond.E, done);
        a.ldtilecfg(param(P_TAIL_CONFIG));
        block(false);

        a.bind(done);
        a.tilerelease();
        a.mov(RSP, Mem.at(RSP, 0));
        for (Gpr saved : new Gpr[] {R15, R14, R13, R12, RBP, RBX}) {
            a.pop(saved);
        }
        a.vzeroupper();
        a.ret();
    }

    /** One row block (16 rows, or the tail's rbx rows) across every panel of the call. */
    private void block(boolean full) {
        X86Assembler a = asm;
        a.mov(R12, Mem.at(RSP, 8));
        a.mov(R13, Mem.at(RSP, 16));
        a.mov(R14, R8);
        a.mov(RAX, param(VnniGemmCode.P_PANELS));

        Label panelLoop = new Label();
        Label fullMasks = new Label();
        Label masksDone = new Label();
        a.bind(panelLoop);
        a.cmp(RAX, 1);
        a.j(X86Assembler.Cond.NE, fullMasks);
        for (int c = 0; c < 4; c++) {
            a.kmovw(columnMask(c), param(VnniGemmCode.P_MASK_TAIL + c));
        }
        a.jmp(masksDone);
        a.bind(fullMasks);
        for (int c = 0; c < 4; c++) {
            a.kmovw(columnMask(c), param(VnniGemmCode.P_MASK_FULL));
        }
        a.bind(masksDone);

        for (int c = 0; c < 4; c++) {
            a.tilezero(tmm(c));
        }
        a.mov(RDX, 4 * 64);
        a.mov(R15, R12);
        a.mov(RBP, RSI);
        a.mov(RCX, param(P_K_STEPS));
        Label steps = new Label();
        a.bind(steps);
        a.tileloadd(tmm(4), Mem.at(RBP, R10, 1, 0));
        for (int c = 0; c < 4; c++) {
            Tmm w = tmm(5 + c % 3);
            a.tileloadd(w, Mem.at(R15, RDX, 1, 64 * c));
            if (fault == Fault.WRONG_RESULT && c == 3) {
                continue; // drops the last 16 columns' products: the self-test must notice
            }
            a.tdpbusd(tmm(c), tmm(4), w);
        }
        a.add(RBP, 64);
        a.add(R15, GROUPS_PER_STEP * 256);
        a.dec(RCX);
        a.j(X86Assembler.Cond.NE, steps);

        a.mov(RCX, 64);
        a.lea(RBP, Mem.at(RSP, SCRATCH));
        for (int c = 0; c < 4; c++) {
            a.tilestored(Mem.at(RBP, RCX, 1, c * TILE_BYTES), tmm(c));
        }
        if (output == Output.REQUANTIZE) {
            a.vbroadcastss(zmm(30), param(VnniGemmCode.P_CLAMP_HIGH));
            a.vbroadcastss(zmm(31), param(VnniGemmCode.P_CLAMP_LOW));
        }
        a.mov(R15, R14);
        a.mov(RDX, R9);
        if (full) {
            a.mov(RCX, TILE_ROWS);
        } else {
            a.mov(RCX, RBX);
        }
        int section = 4 * 64; // bytes of one per-column run of the column constants
        Label rows = new Label();
        a.bind(rows);
        for (int c = 0; c < 4; c++) {
            a.vmovdqu32(zmm(c), Mem.at(RBP, c * TILE_BYTES));
        }
        for (int c = 0; c < 4; c++) {
            VnniGemmCode.outputVector(a, output, asymmetric, Fault.NONE, true, zmm(c), zmm(24 + c),
                    Mem.at(R13, 64 * c), Mem.at(R13, section + 64 * c), Mem.at(R13, 2 * section + 64 * c),
                    Mem.at(R13, 3 * section + 64 * c), Mem.at(RDX), Mem.at(R15), c, columnMask(c));
        }
        a.add(RBP, 64);
        a.add(R15, R11);
        a.add(RDX, 4);
        a.dec(RCX);
        a.j(X86Assembler.Cond.NE, rows);

        a.add(R12, param(VnniGemmCode.P_W_PANEL_BYTES));
        a.add(R13, param(VnniGemmCode.P_COL_PANEL_BYTES));
        a.add(R14, param(VnniGemmCode.P_OUT_PANEL_BYTES));
        a.dec(RAX);
        a.j(X86Assembler.Cond.NE, panelLoop);
    }
}
