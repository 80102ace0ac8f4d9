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
 * instruction, 256 times a 512-bit {@code vpdpbusd}'s (at one every 16 cycles, 8-16x their throughput).
 *
 * <p>Same operands, weight layout, column constants and output stages as the {@link VnniGemmCode}
 * {@link VnniGemmCode.Operands#ACTIVATION_ROWS} form, so {@code JitInt8Gemm} calls either the same way. The block:
 * 32 rows (two halves of 16) by 32 columns (two tiles of 16), four accumulator tiles (tmm0/tmm1 the first half's
 * two column tiles, tmm2/tmm3 the second's), the two halves' activations in tmm4/tmm5 and the two column tiles'
 * weights in tmm6/tmm7: per step of 64 K values two activation loads, two weight loads and four products, so each
 * weight tile serves 32 rows (a 20-row GEMM loads its weights once, not twice). A 64-column panel is two such passes.
 * The finished tiles go to a 4 KiB cache-aligned block on the stack, and the output stage of
 * {@link VnniGemmCode#outputVector} runs on them row by row, vector by vector, with the usual column masks on the
 * last panel.
 *
 * <p>Shapes the tile configuration carries: {@link #P_TILE_CONFIG} (32-row blocks) and {@link #P_TAIL_CONFIG} (the
 * last {@code m mod 32} rows: 17-31 as a full first half and a short second one, 1-16 as a short first half alone),
 * loaded once before them ({@code ldtilecfg} zeroes the tiles, so it never runs inside a block). K is stepped in whole
 * groups of sixteen: the weights are packed with their group count padded to a multiple of 16 (zero weights), and
 * each activation row is read for {@code 64 * steps} bytes, so the caller guarantees those bytes exist (past K they
 * meet zero weights). The code ends with {@code tilerelease}, so the thread carries no tile state between calls.
 *
 * <p><b>Registers</b>: rdi params, rsi the row block's activations, r8 its output, r9 its row terms, r10 lda,
 * r11 ldo, rbx rows left; per block r12/r13/r14 the panel's weights/columns/output; in the K loop rbp and rax the two
 * halves' moving activations, r15 the moving weights, rdx the weight row stride (256), rcx the step counter; in the
 * output stage rbp the tile rows on the stack, r15 the output row, rdx the row term, rcx rows left.
 * Stack: {@code [rsp]} the caller's rsp, {@code [rsp+8]} the weights, {@code [rsp+16]} the column constants,
 * {@code [rsp+24]} the panels left, {@code [rsp+64]} the four stored tiles.
 */
public final class AmxGemmCode {

    /** Rows of one block: two halves of 16 (the rows of a tile). */
    public static final int TILE_ROWS = 32;
    private static final int HALF = 16;
    /** K groups of four per step (rows of a weight tile). */
    public static final int GROUPS_PER_STEP = 16;

    /** Steps of 64 K values per row block and panel. */
    public static final int P_K_STEPS = VnniGemmCode.PARAMS;
    /** The 64-byte tile configuration of full 32-row blocks (eight longs). */
    public static final int P_TILE_CONFIG = P_K_STEPS + 1;
    /** The configuration of the last {@code m mod 32} rows (eight longs). */
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
     * Writes the tile configuration of a block of {@code rows} rows (1-32) into {@code params} at {@code at} (eight
     * longs, little-endian bytes): palette 1; the first half (tmm0, tmm1, tmm4) with {@code min(rows, 16)} rows, the
     * second (tmm2, tmm3, tmm5) with {@code rows - 16} (16 when there is none: configured, never used), the weights
     * (tmm6, tmm7) with 16 groups; every row 64 bytes.
     */
    public static void putTileConfig(long[] params, int at, int rows) {
        if (rows < 1 || rows > TILE_ROWS) {
            throw new IllegalArgumentException("block rows " + rows + " outside 1-" + TILE_ROWS);
        }
        int first = Math.min(rows, HALF);
        int second = rows > HALF ? rows - HALF : HALF;
        int[] tileRows = {first, first, second, second, first, second, GROUPS_PER_STEP, GROUPS_PER_STEP};
        byte[] config = new byte[64];
        config[0] = 1; // palette 1: eight tiles of up to 16 rows x 64 bytes
        for (int t = 0; t < 8; t++) {
            config[16 + 2 * t] = 64; // bytes per row, a little-endian word
            config[48 + t] = (byte) tileRows[t];
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
        return VnniGemmCode.param(index);
    }

    private static Mask columnMask(int vector) {
        return VnniGemmCode.columnMask(vector);
    }

    private void generate() {
        X86Assembler a = asm;
        if (fault == Fault.INVALID_INSTRUCTION) {
            a.ud2();
        }
        a.pushCalleeSaved();
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
        Label singleHalf = new Label();
        Label done = new Label();
        a.bind(rowLoop);
        a.cmp(RBX, TILE_ROWS);
        a.j(X86Assembler.Cond.L, tail);
        block(Rows.FULL);
        a.add(RSI, param(VnniGemmCode.P_A_TILE_BYTES));
        a.add(R8, param(VnniGemmCode.P_OUT_TILE_BYTES));
        a.add(R9, 4 * TILE_ROWS);
        a.sub(RBX, TILE_ROWS);
        a.jmp(rowLoop);

        a.bind(tail);
        a.cmp(RBX, 0);
        a.j(X86Assembler.Cond.E, done);
        a.ldtilecfg(param(P_TAIL_CONFIG));
        a.cmp(RBX, HALF);
        a.j(X86Assembler.Cond.LE, singleHalf);
        block(Rows.SHORT_SECOND_HALF);
        a.jmp(done);
        a.bind(singleHalf);
        block(Rows.FIRST_HALF_ONLY);

        a.bind(done);
        a.tilerelease();
        a.mov(RSP, Mem.at(RSP, 0));
        a.popCalleeSaved();
        a.vzeroupper();
        a.ret();
    }

    /** Which rows a block covers: 32, 16 plus the tail's rbx - 16, or the tail's rbx (at most 16) alone. */
    private enum Rows { FULL, SHORT_SECOND_HALF, FIRST_HALF_ONLY }

    /** One row block across every panel of the call: per panel two passes of 32 columns. */
    private void block(Rows rows) {
        X86Assembler a = asm;
        a.mov(R12, Mem.at(RSP, 8));
        a.mov(R13, Mem.at(RSP, 16));
        a.mov(R14, R8);
        a.mov(RAX, param(VnniGemmCode.P_PANELS));
        a.mov(Mem.at(RSP, 24), RAX);

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
        for (int pass = 0; pass < 2; pass++) {
            columnPass(rows, pass);
        }
        a.add(R12, param(VnniGemmCode.P_W_PANEL_BYTES));
        a.add(R13, param(VnniGemmCode.P_COL_PANEL_BYTES));
        a.add(R14, param(VnniGemmCode.P_OUT_PANEL_BYTES));
        a.mov(RAX, Mem.at(RSP, 24));
        a.dec(RAX);
        a.mov(Mem.at(RSP, 24), RAX);
        a.j(X86Assembler.Cond.NE, panelLoop);
    }

    /** Columns {@code 32*pass .. 32*pass + 31} of the panel: the K loop, then the output stage of both halves. */
    private void columnPass(Rows rows, int pass) {
        X86Assembler a = asm;
        boolean second = rows != Rows.FIRST_HALF_ONLY;
        for (int t = 0; t < (second ? 4 : 2); t++) {
            a.tilezero(tmm(t));
        }
        a.mov(RDX, 4 * 64);
        a.lea(R15, Mem.at(R12, 2 * 64 * pass)); // the pass's first 16-column weight tile
        a.mov(RBP, RSI);
        if (second) {
            a.lea(RAX, Mem.at(RSI, R10, 8, 0));
            a.lea(RAX, Mem.at(RAX, R10, 8, 0)); // the second half: 16 rows on
        }
        a.mov(RCX, param(P_K_STEPS));
        Label steps = new Label();
        a.bind(steps);
        a.tileloadd(tmm(4), Mem.at(RBP, R10, 1, 0));
        a.tileloadd(tmm(6), Mem.at(R15, RDX, 1, 0));
        a.tileloadd(tmm(7), Mem.at(R15, RDX, 1, 64));
        a.tdpbusd(tmm(0), tmm(4), tmm(6));
        if (!(fault == Fault.WRONG_RESULT && pass == 1)) { // drops columns 48-63: the self-test must notice
            a.tdpbusd(tmm(1), tmm(4), tmm(7));
        }
        if (second) {
            a.tileloadd(tmm(5), Mem.at(RAX, R10, 1, 0));
            a.tdpbusd(tmm(2), tmm(5), tmm(6));
            a.tdpbusd(tmm(3), tmm(5), tmm(7));
            a.add(RAX, 64);
        }
        a.add(RBP, 64);
        a.add(R15, GROUPS_PER_STEP * 256);
        a.dec(RCX);
        a.j(X86Assembler.Cond.NE, steps);

        a.mov(RCX, 64);
        a.lea(RBP, Mem.at(RSP, SCRATCH));
        for (int t = 0; t < (second ? 4 : 2); t++) {
            a.tilestored(Mem.at(RBP, RCX, 1, t * TILE_BYTES), tmm(t));
        }
        if (output == Output.REQUANTIZE) {
            a.vbroadcastss(zmm(30), param(VnniGemmCode.P_CLAMP_HIGH));
            a.vbroadcastss(zmm(31), param(VnniGemmCode.P_CLAMP_LOW));
        }
        // First half: rows 0-15 (or the tail's rbx) from tiles 0 and 1.
        a.mov(R15, R14);
        a.mov(RDX, R9);
        if (rows == Rows.FIRST_HALF_ONLY) {
            a.mov(RCX, RBX);
        } else {
            a.mov(RCX, HALF);
        }
        outputRows(pass);
        if (second) {
            // Second half: rows 16-31 (or the tail's rbx - 16) from tiles 2 and 3; rbp is past tile 0's rows.
            a.lea(RBP, Mem.at(RSP, SCRATCH + 2 * TILE_BYTES));
            a.lea(R15, Mem.at(R14, R11, 8, 0));
            a.lea(R15, Mem.at(R15, R11, 8, 0));
            a.lea(RDX, Mem.at(R9, 4 * HALF));
            if (rows == Rows.FULL) {
                a.mov(RCX, HALF);
            } else {
                a.mov(RCX, RBX);
                a.sub(RCX, HALF);
            }
            outputRows(pass);
        }
    }

    /**
     * rcx rows of the output stage: row i's two vectors from the stored tiles at {@code rbp + 1024c} (rbp moving
     * 64 bytes a row), to columns {@code 32*pass + 16c} of the row at r15 (moving ldo), the row term at rdx.
     */
    private void outputRows(int pass) {
        X86Assembler a = asm;
        int section = 4 * 64; // bytes of one per-column run of the column constants
        Label rows = new Label();
        a.bind(rows);
        for (int c = 0; c < 2; c++) {
            a.vmovdqu32(zmm(c), Mem.at(RBP, c * TILE_BYTES));
        }
        for (int c = 0; c < 2; c++) {
            int v = 2 * pass + c; // the column vector of the panel
            VnniGemmCode.outputVector(a, output, asymmetric, Fault.NONE, true, zmm(c), zmm(24 + c),
                    Mem.at(R13, 64 * v), Mem.at(R13, section + 64 * v), Mem.at(R13, 2 * section + 64 * v),
                    Mem.at(R13, 3 * section + 64 * v), Mem.at(RDX), Mem.at(R15), v, columnMask(v));
        }
        a.add(RBP, 64);
        a.add(R15, R11);
        a.add(RDX, 4);
        a.dec(RCX);
        a.j(X86Assembler.Cond.NE, rows);
    }
}
