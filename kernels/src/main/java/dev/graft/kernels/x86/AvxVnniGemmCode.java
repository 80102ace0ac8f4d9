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
import static dev.graft.kernels.x86.Vec.xmm;
import static dev.graft.kernels.x86.Vec.ymm;

import dev.graft.kernels.x86.VnniGemmCode.Fault;
import dev.graft.kernels.x86.VnniGemmCode.Operands;
import dev.graft.kernels.x86.VnniGemmCode.Output;

/**
 * The machine code of the INT8 GEMM for CPUs with AVX-VNNI but no AVX-512 (Intel Alder Lake and later client
 * parts): the VEX-encoded 256-bit {@code vpdpbusd}, sixteen ymm registers, no opmasks. It computes exactly what
 * {@link VnniGemmCode} computes, from the same operands, the same {@code params} indices and the same packed layouts
 * (panels of 64 columns, K in groups of four), so one Java driver calls either; see that class for the operands,
 * the zero-point algebra and the two {@link Operands operand forms}.
 *
 * <p><b>Tile</b>: {@code rows x 16} (6x16: twelve accumulators {@code ymm0-11}, two weight vectors {@code ymm12-13}
 * of one K group, two broadcast registers {@code ymm14-15}: every register in use). A 64-column panel is four such
 * 16-column <em>slices</em>, 64 bytes apart in every 256-byte K group; the code runs slice by slice (the slice's
 * weights stay in L1 while the row tiles stream past), so the loop over slices replaces {@link VnniGemmCode}'s loop
 * over panels, with a panel step every four slices and only the slices that hold columns run in the last panel.
 *
 * <p><b>What VEX lacks</b>, and what stands in for it:
 * <ul>
 *   <li>column masks: {@code vpmaskmovd}/{@code vmaskmovps} with the mask in a ymm register, read from per-slice
 *       blocks in {@code params} ({@link #putSliceBlocks}); masked-off lanes are never written;</li>
 *   <li>u8 stores ({@code vpmovdb}): the two vectors of a row are packed to 16 bytes
 *       ({@code vpackusdw}, {@code vpermq}, {@code vextracti128}, {@code vpackuswb}); a slice with fewer valid
 *       columns goes through a 16-byte stack buffer and a scalar byte loop, so not one byte past the last column
 *       is written;</li>
 *   <li>embedded broadcasts: {@code vpbroadcastd}/{@code vbroadcastss} into a temporary;</li>
 *   <li>embedded rounding ({@code {rn-sae}}): {@code vcvtps2dq} follows MXCSR, which the JVM keeps at round to
 *       nearest even for Java code (Java's own float arithmetic needs it); the self-test checks exact .5 ties;</li>
 *   <li>the NaN mask ({@code k7}): {@code vcmpunordps} into a ymm, then {@code vpandn} zeroes those lanes.</li>
 * </ul>
 * Besides AVX-VNNI the code uses AVX2 (integer ymm arithmetic, {@code vpbroadcastd}, {@code vpermq},
 * {@code vpmaskmovd}) and FMA ({@code vfmadd213ps}); {@link CpuFeatures#avxVnniUsable()} requires all three.
 * The constructor checks that no EVEX or opmask instruction slipped in ({@link X86Assembler#usesAvx512()}): on the
 * CPUs this code is for it would be SIGILL, and the machines the tests run on (which have AVX-512) would not notice.
 *
 * <p><b>Registers</b>: as in {@link VnniGemmCode} (rdi params, rsi the row tile's row operand, rdx/rcx/r8 the
 * slice's panel operand/column data/output, r9 the row data, r10 lda, r11 ldo, rax panels left, rbx rows left, r12
 * the tile's output, r13/r14 the moving row pointers, r15 the moving panel pointer, rbp the K counter); the stack
 * holds the call's starts, the current slice block and the slices left, and the u8 tail buffer.
 */
public final class AvxVnniGemmCode {

    /** Columns of one slice (two ymm of eight dword lanes). */
    public static final int SLICE_WIDTH = 16;
    /** Slices per panel of {@link #PANEL_WIDTH} columns. */
    public static final int SLICES = 4;
    public static final int PANEL_WIDTH = SLICE_WIDTH * SLICES;

    // params beyond VnniGemmCode's: two sets of SLICES blocks (the panels before the last, then the last panel's),
    // each block two dword masks of eight lanes (all ones: store the lane) and the slice's valid column count.
    /** Index of the first slice block in {@code params}. */
    public static final int P_SLICE_BLOCKS = VnniGemmCode.PARAMS;
    /** longs per slice block: 4 + 4 for the masks, 1 for the count, padding to 96 bytes. */
    static final int BLOCK_LONGS = 12;
    private static final int BLOCK_BYTES = 8 * BLOCK_LONGS;
    private static final int BLOCK_COUNT = 64;
    /** Index of the number of slices with columns in the call's last panel (1-4). */
    public static final int P_LAST_SLICES = P_SLICE_BLOCKS + 2 * SLICES * BLOCK_LONGS;
    public static final int PARAMS = P_LAST_SLICES + 1;

    // Stack slots.
    private static final int S_ROW_OPERAND = 0;
    private static final int S_ROW_DATA = 8;
    private static final int S_BLOCK = 16;
    private static final int S_SLICES_LEFT = 24;
    private static final int S_PANEL_OPERAND = 32;
    private static final int S_COLUMN_DATA = 40;
    private static final int S_OUTPUT = 48;
    private static final int S_BYTES = 64;
    private static final int STACK = 80;

    /** Bytes between the four per-column runs of a panel's column data (64 dwords). */
    private static final int RUN = 256;
    /** Bytes of one K group of a panel: 64 columns of four bytes. */
    private static final int GROUP = 256;

    private final int rows;
    private final Output output;
    private final boolean asymmetric;
    private final Operands operands;
    private final Fault fault;
    private final int elementBytes;
    private final X86Assembler asm = new X86Assembler();

    /**
     * Generates the code for a {@code rows x 16} tile.
     *
     * @param rows       rows per register tile, 1-6
     * @param output     the output stage
     * @param asymmetric whether weight zero points (and so row sums) take part
     * @param operands   which operand the rows are
     * @param fault      a deliberate defect, {@link Fault#NONE} outside tests
     */
    public AvxVnniGemmCode(int rows, Output output, boolean asymmetric, Operands operands, Fault fault) {
        if (rows < 1 || rows > 6) {
            throw new IllegalArgumentException("tile of " + rows + " rows: need 1-6");
        }
        this.rows = rows;
        this.output = output;
        this.asymmetric = asymmetric;
        this.operands = operands;
        this.fault = fault;
        this.elementBytes = output == Output.REQUANTIZE ? 1 : 4;
        generate();
        if (asm.usesAvx512()) {
            throw new IllegalStateException("the AVX-VNNI kernel contains an AVX-512 instruction");
        }
    }

    /** The assembled code (call {@link X86Assembler#toBytes()} or {@link NativeCode#install}). */
    public X86Assembler assembler() {
        return asm;
    }

    /**
     * Writes the slice blocks into {@code params}: full masks for every panel but the call's last, and for the last
     * one the masks of its {@code lastPanelColumns} (1-64) columns, with the number of slices it needs.
     */
    public static void putSliceBlocks(long[] params, int lastPanelColumns) {
        if (lastPanelColumns < 1 || lastPanelColumns > PANEL_WIDTH) {
            throw new IllegalArgumentException("last panel of " + lastPanelColumns + " columns");
        }
        for (int set = 0; set < 2; set++) {
            int columns = set == 0 ? PANEL_WIDTH : lastPanelColumns;
            for (int s = 0; s < SLICES; s++) {
                int base = P_SLICE_BLOCKS + (set * SLICES + s) * BLOCK_LONGS;
                int valid = Math.max(0, Math.min(SLICE_WIDTH, columns - SLICE_WIDTH * s));
                for (int pair = 0; pair < 8; pair++) { // two dword lanes per long, lanes 2*pair and 2*pair+1
                    long low = 2 * pair < valid ? 0xFFFFFFFFL : 0;
                    long high = 2 * pair + 1 < valid ? 0xFFFFFFFF00000000L : 0;
                    params[base + pair] = low | high;
                }
                params[base + BLOCK_COUNT / 8] = valid;
            }
        }
        params[P_LAST_SLICES] = (lastPanelColumns + SLICE_WIDTH - 1) / SLICE_WIDTH;
    }

    private static Mem param(int index) {
        return Mem.at(RDI, 8 * index);
    }

    private static Mem stack(int slot) {
        return Mem.at(RSP, slot);
    }

    private static Vec acc(int row, int vector) {
        return ymm(2 * row + vector);
    }

    private static Vec weight(int vector) {
        return ymm(12 + vector);
    }

    private static Vec broadcast(int row) {
        return ymm(14 + (row & 1));
    }

    // The store phase reuses the weight and broadcast registers.
    private static final Vec TEMP = ymm(12);
    private static final Vec TEMP2 = ymm(13);
    private static final Vec CLAMP_HIGH = ymm(13);
    private static final Vec CLAMP_LOW = ymm(14);
    private static final Vec ZERO_POINT = ymm(15);

    private static Vec columnMask(int vector) {
        return ymm(14 + vector);
    }

    private void generate() {
        X86Assembler a = asm;
        if (fault == Fault.INVALID_INSTRUCTION) {
            a.ud2();
        }
        a.pushCalleeSaved();
        a.sub(RSP, STACK);
        a.mov(stack(S_ROW_OPERAND), RSI);
        a.mov(stack(S_ROW_DATA), R9);
        a.mov(R10, param(VnniGemmCode.P_LDA));
        a.mov(R11, param(VnniGemmCode.P_LDO));
        a.mov(RAX, param(VnniGemmCode.P_PANELS));

        Label panelLoop = new Label();
        Label fullPanel = new Label();
        Label slicesSet = new Label();
        Label sliceLoop = new Label();
        Label rowLoop = new Label();
        Label remainder = new Label();
        Label sliceNext = new Label();
        a.bind(panelLoop);
        // The last panel of the call has its own slice blocks and may need fewer slices.
        a.cmp(RAX, 1);
        a.j(X86Assembler.Cond.NE, fullPanel);
        a.lea(R15, param(P_SLICE_BLOCKS + SLICES * BLOCK_LONGS));
        a.mov(RBP, param(P_LAST_SLICES));
        a.jmp(slicesSet);
        a.bind(fullPanel);
        a.lea(R15, param(P_SLICE_BLOCKS));
        a.mov(RBP, SLICES);
        a.bind(slicesSet);
        a.mov(stack(S_BLOCK), R15);
        a.mov(stack(S_SLICES_LEFT), RBP);
        a.mov(stack(S_PANEL_OPERAND), RDX);
        a.mov(stack(S_COLUMN_DATA), RCX);
        a.mov(stack(S_OUTPUT), R8);

        a.bind(sliceLoop);
        a.mov(RSI, stack(S_ROW_OPERAND));
        a.mov(R9, stack(S_ROW_DATA));
        a.mov(R12, R8);
        a.mov(RBX, param(VnniGemmCode.P_M));

        a.bind(rowLoop);
        a.cmp(RBX, rows);
        a.j(X86Assembler.Cond.L, remainder);
        tile(rows);
        a.add(RSI, param(VnniGemmCode.P_A_TILE_BYTES));
        a.add(R12, param(VnniGemmCode.P_OUT_TILE_BYTES));
        a.add(R9, 4 * rows);
        a.sub(RBX, rows);
        a.jmp(rowLoop);

        a.bind(remainder);
        Label[] tails = new Label[rows];
        for (int r = 1; r < rows; r++) {
            tails[r] = new Label();
            a.cmp(RBX, r);
            a.j(X86Assembler.Cond.E, tails[r]);
        }
        a.jmp(sliceNext);
        for (int r = 1; r < rows; r++) {
            a.bind(tails[r]);
            tile(r);
            a.jmp(sliceNext);
        }

        // Next slice: 64 bytes on in every K group and in every run of column data, 16 elements on in the output.
        a.bind(sliceNext);
        a.add(RDX, 4 * SLICE_WIDTH);
        a.add(RCX, 4 * SLICE_WIDTH);
        a.add(R8, SLICE_WIDTH * elementBytes);
        a.mov(R15, stack(S_BLOCK));
        a.add(R15, BLOCK_BYTES);
        a.mov(stack(S_BLOCK), R15);
        a.mov(RBP, stack(S_SLICES_LEFT));
        a.dec(RBP);
        a.mov(stack(S_SLICES_LEFT), RBP);
        a.j(X86Assembler.Cond.NE, sliceLoop);

        // Next panel, from where this one started.
        a.mov(RDX, stack(S_PANEL_OPERAND));
        a.mov(RCX, stack(S_COLUMN_DATA));
        a.mov(R8, stack(S_OUTPUT));
        a.add(RDX, param(VnniGemmCode.P_W_PANEL_BYTES));
        a.add(RCX, param(VnniGemmCode.P_COL_PANEL_BYTES));
        a.add(R8, param(VnniGemmCode.P_OUT_PANEL_BYTES));
        a.dec(RAX);
        a.j(X86Assembler.Cond.NE, panelLoop);

        a.add(RSP, STACK);
        a.popCalleeSaved();
        a.vzeroupper();
        a.ret();
    }

    /** Row operand of tile row {@code i} at the current K group: rows 0-2 from r13, rows 3-5 from r14. */
    private static Mem rowOperand(int i) {
        Gpr base = i < 3 ? R13 : R14;
        int step = i % 3;
        return step == 0 ? Mem.at(base) : Mem.at(base, R10, step, 0);
    }

    /** One {@code r x 16} tile of the current slice: zero, the K loop, then the output stage. */
    private void tile(int r) {
        X86Assembler a = asm;
        for (int i = 0; i < r; i++) {
            for (int c = 0; c < 2; c++) {
                a.vpxorVex(acc(i, c), acc(i, c), acc(i, c));
            }
        }
        a.mov(R13, RSI);
        if (r > 3) {
            a.lea(R14, Mem.at(RSI, R10, 2, 0));
            a.add(R14, R10);
        }
        a.mov(R15, RDX);
        a.mov(RBP, param(VnniGemmCode.P_K4));
        // Two K groups per iteration (half the loop overhead), then the odd one.
        int rowStep = operands == Operands.ACTIVATION_ROWS ? 4 : GROUP; // one K group of a row
        Label pairs = new Label();
        Label single = new Label();
        Label done = new Label();
        a.cmp(RBP, 2);
        a.j(X86Assembler.Cond.L, single);
        a.bind(pairs);
        group(r, 0, rowStep);
        group(r, 1, rowStep);
        a.add(R13, 2 * rowStep);
        if (r > 3) {
            a.add(R14, 2 * rowStep);
        }
        a.add(R15, 2 * GROUP);
        a.sub(RBP, 2);
        a.cmp(RBP, 2);
        a.j(X86Assembler.Cond.GE, pairs);
        a.bind(single);
        a.cmp(RBP, 0);
        a.j(X86Assembler.Cond.E, done);
        group(r, 0, rowStep);
        a.bind(done);
        store(r);
    }

    /** One K group ({@code u} groups past the moving pointers): the slice's 16 columns, then every row's products. */
    private void group(int r, int u, int rowStep) {
        X86Assembler a = asm;
        for (int c = 0; c < 2; c++) {
            a.vmovdquVex(weight(c), Mem.at(R15, u * GROUP + 32 * c));
        }
        for (int i = 0; i < r; i++) {
            Vec x = broadcast(i);
            a.vpbroadcastdVex(x, rowOperand(i).plus(u * rowStep));
            for (int c = 0; c < 2; c++) {
                // vpdpbusd multiplies unsigned bytes of its first source by signed bytes of its second.
                if (operands == Operands.ACTIVATION_ROWS) {
                    a.vpdpbusdVex(acc(i, c), x, weight(c));
                } else {
                    a.vpdpbusdVex(acc(i, c), weight(c), x);
                }
            }
        }
    }

    /** Output row {@code i} of the tile: rows 0-2 from r12, rows 3-5 from r13 (= r12 + 3*ldo). */
    private static Mem outputRow(int i, int disp) {
        Gpr base = i < 3 ? R12 : R13;
        int step = i % 3;
        return step == 0 ? Mem.at(base, disp) : Mem.at(base, R11, step, disp);
    }

    private void store(int r) {
        X86Assembler a = asm;
        if (r > 3) {
            a.lea(R13, Mem.at(R12, R11, 2, 0));
            a.add(R13, R11);
        }
        if (output == Output.REQUANTIZE) {
            a.vbroadcastssVex(CLAMP_HIGH, param(VnniGemmCode.P_CLAMP_HIGH));
            a.vbroadcastssVex(CLAMP_LOW, param(VnniGemmCode.P_CLAMP_LOW));
            a.vpbroadcastdVex(ZERO_POINT, param(VnniGemmCode.P_ZERO_POINT));
        } else {
            a.mov(R15, stack(S_BLOCK));
            a.vmovdquVex(columnMask(0), Mem.at(R15));
            a.vmovdquVex(columnMask(1), Mem.at(R15, 32));
        }
        boolean perColumn = operands == Operands.ACTIVATION_ROWS; // where the channel constants live
        for (int i = 0; i < r; i++) {
            for (int c = 0; c < 2; c++) {
                Vec v = acc(i, c);
                // Run `run` of the channel constants: a vector of this slice's columns, or row i's broadcast.
                Mem columnTerm = channelConstant(0, i, c);
                if (fault != Fault.WRONG_RESULT) {
                    if (perColumn) {
                        a.vpadddVex(v, v, columnTerm);
                    } else {
                        a.vpbroadcastdVex(TEMP, columnTerm);
                        a.vpadddVex(v, v, TEMP);
                    }
                }
                if (asymmetric) {
                    // acc += zw * (-sum x): zw per channel, the sum per activation row/column.
                    if (perColumn) {
                        a.vpbroadcastdVex(TEMP, Mem.at(R9, 4 * i));
                        a.vpmulldVex(TEMP, TEMP, Mem.at(RCX, 3 * RUN + 32 * c));
                    } else {
                        a.vpbroadcastdVex(TEMP, Mem.at(R9, 3 * VnniGemmCode.ROW_SECTION_BYTES + 4 * i));
                        a.vpmulldVex(TEMP, TEMP, Mem.at(RCX, 32 * c));
                    }
                    a.vpadddVex(v, v, TEMP);
                }
                Mem mult = channelConstant(1, i, c);
                Mem bias = channelConstant(2, i, c);
                switch (output) {
                    case INT32 -> a.vpmaskmovdVex(outputRow(i, 32 * c), columnMask(c), v);
                    case DEQUANTIZE -> {
                        a.vcvtdq2psVex(v, v);
                        if (perColumn) {
                            a.vmulpsVex(v, v, mult);
                        } else {
                            a.vbroadcastssVex(TEMP, mult);
                            a.vmulpsVex(v, v, TEMP);
                        }
                        a.vmaskmovpsVex(outputRow(i, 32 * c), columnMask(c), v);
                    }
                    case DEQUANTIZE_BIAS -> {
                        a.vcvtdq2psVex(v, v);
                        if (perColumn) {
                            a.vmovdquVex(TEMP, mult);
                            a.vfmadd213psVex(v, TEMP, bias);
                        } else {
                            a.vbroadcastssVex(TEMP, mult);
                            a.vbroadcastssVex(TEMP2, bias);
                            a.vfmadd213psVex(v, TEMP, TEMP2);
                        }
                        a.vmaskmovpsVex(outputRow(i, 32 * c), columnMask(c), v);
                    }
                    case REQUANTIZE -> requantize(v, mult, bias, perColumn);
                }
            }
            if (output == Output.REQUANTIZE) {
                storeBytes(i);
            }
        }
    }

    /**
     * Where run {@code run} (0 column term, 1 multiplier, 2 bias term) of the output channels' constants is for
     * vector {@code c} of tile row {@code i}: eight columns' values in the column data, or row {@code i}'s value in
     * the row data (the weight-rows form, broadcast by the caller).
     */
    private Mem channelConstant(int run, int i, int c) {
        return operands == Operands.ACTIVATION_ROWS ? Mem.at(RCX, run * RUN + 32 * c)
                : Mem.at(R9, run * VnniGemmCode.ROW_SECTION_BYTES + 4 * i);
    }

    /**
     * {@code clamp(rint((float(acc) + bias) * mult) + zp, lb, 255)}, PreparedOutput's per-element operations: the
     * float clamp to +-512 keeps NaN (it is the second source of vminps/vmaxps), the conversion rounds to nearest
     * even (MXCSR), NaN lanes become 0 as {@code (long) Math.rint(NaN)} does, then the integer zero point and bounds.
     */
    private void requantize(Vec v, Mem mult, Mem bias, boolean perColumn) {
        X86Assembler a = asm;
        a.vcvtdq2psVex(v, v);
        if (perColumn) {
            a.vaddpsVex(v, v, bias);
            a.vmulpsVex(v, v, mult);
        } else {
            a.vbroadcastssVex(TEMP, bias);
            a.vaddpsVex(v, v, TEMP);
            a.vbroadcastssVex(TEMP, mult);
            a.vmulpsVex(v, v, TEMP);
        }
        a.vcmppsVex(TEMP, v, v, X86Assembler.CmpPredicate.UNORD); // all ones in the NaN lanes
        a.vminpsVex(v, CLAMP_HIGH, v);
        a.vmaxpsVex(v, CLAMP_LOW, v);
        a.vcvtps2dqVex(v, v);
        a.vpandnVex(v, TEMP, v);
        a.vpadddVex(v, v, ZERO_POINT);
        a.vpbroadcastdVex(TEMP, param(VnniGemmCode.P_LOWER_BOUND));
        a.vpmaxsdVex(v, v, TEMP);
        a.vpbroadcastdVex(TEMP, param(VnniGemmCode.P_UPPER_BOUND));
        a.vpminsdVex(v, v, TEMP);
    }

    /**
     * Row {@code i}'s sixteen requantized lanes (already in [0, 255]) as bytes: whole when the slice has sixteen
     * valid columns, else through the stack buffer, byte by byte for the valid ones only.
     */
    private void storeBytes(int i) {
        X86Assembler a = asm;
        Vec low = acc(i, 0);
        Vec high = acc(i, 1);
        // Per 128-bit lane, packs interleave their sources: words [lo0-3, hi0-3 | lo4-7, hi4-7]; vpermq 0xD8 puts
        // the qwords in order 0, 2, 1, 3: [lo0-7 | hi0-7]; then the two halves pack to 16 bytes in column order.
        a.vpackusdwVex(TEMP, low, high);
        a.vpermqVex(TEMP, TEMP, 0xD8);
        a.vextracti128Vex(xmm(low.index()), TEMP, 1);
        a.vpackuswbVex(xmm(TEMP.index()), xmm(TEMP.index()), xmm(low.index()));
        Label partial = new Label();
        Label copy = new Label();
        Label stored = new Label();
        a.mov(R14, stack(S_BLOCK));
        a.mov(R14, Mem.at(R14, BLOCK_COUNT));
        a.cmp(R14, SLICE_WIDTH);
        a.j(X86Assembler.Cond.NE, partial);
        a.vmovdquVex(outputRow(i, 0), xmm(TEMP.index()));
        a.jmp(stored);
        a.bind(partial);
        a.vmovdquVex(stack(S_BYTES), xmm(TEMP.index()));
        a.lea(R15, outputRow(i, 0));
        a.bind(copy); // bytes count-1 .. 0 (count >= 1: the last panel runs only slices with columns)
        a.movzxByte(RBP, Mem.at(RSP, R14, 1, S_BYTES - 1));
        a.movByte(Mem.at(R15, R14, 1, -1), RBP);
        a.dec(R14);
        a.j(X86Assembler.Cond.NE, copy);
        a.bind(stored);
    }
}
