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
import static dev.graft.kernels.x86.Vec.zmm;

/**
 * The machine code of the AVX-512 VNNI INT8 GEMM: u8 activations times s8 weights into int32 with
 * {@code vpdpbusd}, a register tile of {@code rows x 16*vectors} accumulators, and the output stage applied to the
 * finished tile before it leaves the registers. The loops over K, over row tiles and over column panels all run
 * inside the generated code; one call covers {@code m} rows and a run of panels.
 *
 * <p><b>Operands</b> (System V: six pointer arguments in rdi, rsi, rdx, rcx, r8, r9):
 * <ul>
 *   <li>{@code params}: a {@code long[]} of the sizes, strides and constants at the {@code P_*} indices below;</li>
 *   <li>{@code a}: row 0 of the activations; row {@code i}'s groups of four bytes at {@code a + i*lda + 4g}, for
 *       {@code g < k4} (the caller pads K to a multiple of 4 where the bytes past K would leave the array);</li>
 *   <li>{@code w}: the first panel of weights in VNNI layout: per panel, per group {@code g}, per column {@code j}
 *       of the panel, the four s8 weights {@code W[j][4g..4g+3]} (zero past K and past N);</li>
 *   <li>{@code cols}: per panel, four runs of {@code 16*vectors} dwords: the int32 column term
 *       {@code -zx*colSum(j) + k*zx*zw(j)}, the float multiplier, the float bias term, and the int32 weight zero
 *       point {@code zw(j)} (used only by the asymmetric variant);</li>
 *   <li>{@code out}: element {@code (0, 0)} of the destination; row {@code i} at {@code out + i*ldo} bytes;</li>
 *   <li>{@code rows}: per row, {@code -sum_p x[i][p]} (int32), read only by the asymmetric variant.</li>
 * </ul>
 * The accumulator is then exactly {@code sum_p (x - zx)(w - zw)} in wrapping int32 arithmetic:
 * {@code sum x*w - zx*sum w - zw*sum x + k*zx*zw}.
 *
 * <p><b>Output stages</b>, each the same float32 operation sequence as {@code PreparedOutput} in Java:
 * {@link Output#INT32} stores the accumulators; {@link Output#REQUANTIZE} computes
 * {@code clamp(rint((float(acc) + bias) * mult) + zp, lb, 255)} with rint as {@code vcvtps2dq {rn-sae}} after
 * clamping to +-512 (outside that range the clamp decides anyway, and {@code vcvtps2dq} would overflow) and NaN
 * mapped to 0 as Java's {@code (long) NaN}; {@link Output#DEQUANTIZE} computes {@code float(acc) * mult} and
 * {@link Output#DEQUANTIZE_BIAS} {@code fma(float(acc), mult, bias)}. Column tails are masked stores, with the masks
 * taken from {@code params} for the last panel.
 *
 * <p><b>Registers</b>: rdi params, rsi the row tile's activations, rdx/rcx/r8 the panel's weights/columns/output,
 * r9 the row tile's row terms, r10 lda, r11 ldo, rax panels left, rbx rows left, r12 the tile's output, r13/r14 the
 * moving activation pointers of rows 0 and 3, r15 the moving weight pointer, rbp the K counter;
 * {@code zmm(i*vectors + c)} the accumulators, {@code zmm24..} the weights of one group, zmm28/29 the broadcast
 * activations, zmm30/31 the requantize clamp bounds; k1..k4 the column masks, k7 the NaN lanes.
 */
public final class VnniGemmCode {

    /** What the generated code does with a finished accumulator tile. */
    public enum Output { INT32, REQUANTIZE, DEQUANTIZE, DEQUANTIZE_BIAS }

    /**
     * Deliberate defects, for the tests that prove the guards work: a kernel that computes a wrong result (the
     * start-up self-test must refuse it) and one that executes an invalid instruction (it kills the JVM with
     * SIGILL, which a test shows in a subprocess). Never used outside tests.
     */
    public enum Fault { NONE, WRONG_RESULT, INVALID_INSTRUCTION }

    /**
     * Which operand the rows of the tile are.
     * <ul>
     *   <li>{@link #ACTIVATION_ROWS}: rows are activations (u8, four bytes broadcast per row and K group), columns
     *       are output channels loaded from the packed weights; per-channel constants come from {@code cols} as
     *       vectors. A linear layer: {@code out[token][channel]}.</li>
     *   <li>{@link #WEIGHT_ROWS}: rows are output channels, read straight from the packed weights (s8, four bytes
     *       broadcast per channel and group: channel {@code i} of a panel at {@code 4i}, group {@code g} at
     *       {@code 256g}), columns are activations packed like weights (per panel of 64, per group, four u8 per
     *       column); per-channel constants come from {@code rows} (four runs of 64 dwords: column term, multiplier,
     *       bias term, zero point) as broadcasts, and the per-activation term from {@code cols}. A convolution:
     *       {@code out[channel][pixel]}, NCHW with no transpose. One call covers at most the 64 channels of one
     *       weight panel.</li>
     * </ul>
     */
    public enum Operands { ACTIVATION_ROWS, WEIGHT_ROWS }

    /** Bytes between the per-channel runs of {@code rows} in {@link Operands#WEIGHT_ROWS} (64 dwords). */
    public static final int ROW_SECTION_BYTES = 256;

    // Indices into params (each a long; 32-bit constants in the low half, read as dwords).
    public static final int P_M = 0;
    public static final int P_PANELS = 1;
    public static final int P_K4 = 2;
    public static final int P_LDA = 3;
    public static final int P_LDO = 4;
    public static final int P_W_PANEL_BYTES = 5;
    public static final int P_COL_PANEL_BYTES = 6;
    public static final int P_OUT_PANEL_BYTES = 7;
    public static final int P_A_TILE_BYTES = 8;
    public static final int P_OUT_TILE_BYTES = 9;
    public static final int P_ZERO_POINT = 10;
    public static final int P_LOWER_BOUND = 11;
    public static final int P_UPPER_BOUND = 12;
    public static final int P_CLAMP_HIGH = 13;
    public static final int P_CLAMP_LOW = 14;
    public static final int P_MASK_FULL = 15;
    /** {@code vectors} masks of the last panel's column vectors follow. */
    public static final int P_MASK_TAIL = 16;
    public static final int PARAMS = P_MASK_TAIL + 4;

    /** The clamp applied before rounding: beyond it every value saturates to 0 or 255 anyway. */
    public static final float CLAMP = 512f;

    private static final int STACK = 24;

    private final int rows;
    private final int vectors;
    private final Output output;
    private final boolean asymmetric;
    private final Fault fault;
    private final Operands operands;
    private final X86Assembler asm = new X86Assembler();

    /**
     * Generates the code for a {@code rows x 16*vectors} tile.
     *
     * @param rows       rows per register tile, 1-6
     * @param vectors    16-column vectors per tile, 1-4 ({@code rows*vectors <= 24})
     * @param output     the output stage
     * @param asymmetric whether weight zero points (and so row sums) take part
     */
    public VnniGemmCode(int rows, int vectors, Output output, boolean asymmetric) {
        this(rows, vectors, output, asymmetric, Operands.ACTIVATION_ROWS, Fault.NONE);
    }

    /** {@link #VnniGemmCode(int, int, Output, boolean)} with a deliberate defect (tests only). */
    public VnniGemmCode(int rows, int vectors, Output output, boolean asymmetric, Fault fault) {
        this(rows, vectors, output, asymmetric, Operands.ACTIVATION_ROWS, fault);
    }

    /** The code for {@code operands} (and, in tests only, a deliberate defect). */
    public VnniGemmCode(int rows, int vectors, Output output, boolean asymmetric, Operands operands, Fault fault) {
        if (operands == Operands.WEIGHT_ROWS && vectors != 4) {
            throw new IllegalArgumentException("weight rows read panels of 64 channels: need 4 vectors");
        }
        if (rows < 1 || rows > 6 || vectors < 1 || vectors > 4) {
            throw new IllegalArgumentException("tile " + rows + " x " + vectors + " vectors: need 1-6 rows and 1-4"
                    + " vectors");
        }
        this.rows = rows;
        this.vectors = vectors;
        this.output = output;
        this.asymmetric = asymmetric;
        this.fault = fault;
        this.operands = operands;
        generate();
    }

    /** Columns per panel. */
    public int panelWidth() {
        return 16 * vectors;
    }

    /** Bytes of one output element. */
    public int elementBytes() {
        return output == Output.REQUANTIZE ? 1 : 4;
    }

    /** The assembled code (call {@link X86Assembler#toBytes()} or {@link NativeCode#install}). */
    public X86Assembler assembler() {
        return asm;
    }

    /** The {@code params} entry {@code index} (rdi holds params in every kernel of this package). */
    static Mem param(int index) {
        return Mem.at(RDI, 8 * index);
    }

    private Vec acc(int row, int vector) {
        return zmm(row * vectors + vector);
    }

    private Vec weight(int vector) {
        return zmm(24 + vector);
    }

    /** The opmask of a tile's column vector {@code vector} (k1-k4). */
    static Mask columnMask(int vector) {
        return Mask.k(1 + vector);
    }

    private void generate() {
        X86Assembler a = asm;
        if (fault == Fault.INVALID_INSTRUCTION) {
            a.ud2();
        }
        a.pushCalleeSaved();
        a.sub(RSP, STACK);
        a.mov(Mem.at(RSP, 0), RSI);
        a.mov(Mem.at(RSP, 8), R9);
        a.mov(R10, param(P_LDA));
        a.mov(R11, param(P_LDO));
        a.mov(RAX, param(P_PANELS));

        Label panelLoop = new Label();
        Label fullMasks = new Label();
        Label masksDone = new Label();
        Label rowLoop = new Label();
        Label remainder = new Label();
        Label panelNext = new Label();
        a.bind(panelLoop);
        a.cmp(RAX, 1);
        a.j(X86Assembler.Cond.NE, fullMasks);
        for (int c = 0; c < vectors; c++) {
            a.kmovw(columnMask(c), param(P_MASK_TAIL + c));
        }
        a.jmp(masksDone);
        a.bind(fullMasks);
        for (int c = 0; c < vectors; c++) {
            a.kmovw(columnMask(c), param(P_MASK_FULL));
        }
        a.bind(masksDone);
        a.mov(RSI, Mem.at(RSP, 0));
        a.mov(R9, Mem.at(RSP, 8));
        a.mov(R12, R8);
        a.mov(RBX, param(P_M));

        a.bind(rowLoop);
        a.cmp(RBX, rows);
        a.j(X86Assembler.Cond.L, remainder);
        tile(rows);
        a.add(RSI, param(P_A_TILE_BYTES));
        a.add(R12, param(P_OUT_TILE_BYTES));
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
        a.jmp(panelNext);
        for (int r = 1; r < rows; r++) {
            a.bind(tails[r]);
            tile(r);
            a.jmp(panelNext);
        }

        a.bind(panelNext);
        a.add(RDX, param(P_W_PANEL_BYTES));
        a.add(RCX, param(P_COL_PANEL_BYTES));
        a.add(R8, param(P_OUT_PANEL_BYTES));
        a.dec(RAX);
        a.j(X86Assembler.Cond.NE, panelLoop);

        a.add(RSP, STACK);
        a.popCalleeSaved();
        a.vzeroupper();
        a.ret();
    }

    /** Activations of row {@code i} of the tile at the current K group: rows 0-2 from r13, rows 3-5 from r14. */
    private static Mem activationRow(int i) {
        Gpr base = i < 3 ? R13 : R14;
        int step = i % 3;
        return step == 0 ? Mem.at(base) : Mem.at(base, R10, step, 0);
    }

    /** One {@code r x 16*vectors} tile: zero, the K loop, then the output stage. */
    private void tile(int r) {
        X86Assembler a = asm;
        for (int i = 0; i < r; i++) {
            for (int c = 0; c < vectors; c++) {
                a.vpxord(acc(i, c), acc(i, c), acc(i, c));
            }
        }
        a.mov(R13, RSI);
        if (r > 3) {
            a.lea(R14, Mem.at(RSI, R10, 2, 0));
            a.add(R14, R10);
        }
        a.mov(R15, RDX);
        a.mov(RBP, param(P_K4));
        // Two K groups per iteration (half the loop overhead, which shares ports with vpdpbusd), then the odd one.
        int rowStep = operands == Operands.ACTIVATION_ROWS ? 4 : 4 * 64; // one K group of a row
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
        a.add(R15, 2 * 64 * vectors);
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

    /** One K group ({@code u} groups past the moving pointers): load its weights, then every row's products. */
    private void group(int r, int u, int rowStep) {
        X86Assembler a = asm;
        for (int c = 0; c < vectors; c++) {
            a.vmovdqu32(weight(c), Mem.at(R15, u * 64 * vectors + 64 * c));
        }
        for (int i = 0; i < r; i++) {
            Vec x = zmm(28 + (i & 1));
            a.vpbroadcastd(x, activationRow(i).plus(u * rowStep));
            for (int c = 0; c < vectors; c++) {
                // vpdpbusd multiplies unsigned bytes of its first source by signed bytes of its second.
                if (operands == Operands.ACTIVATION_ROWS) {
                    a.vpdpbusd(acc(i, c), x, weight(c));
                } else {
                    a.vpdpbusd(acc(i, c), weight(c), x);
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
        int section = 64 * vectors; // bytes of one per-column run in cols
        if (r > 3) {
            a.lea(R13, Mem.at(R12, R11, 2, 0));
            a.add(R13, R11);
        }
        if (output == Output.REQUANTIZE) {
            a.vbroadcastss(zmm(30), param(P_CLAMP_HIGH));
            a.vbroadcastss(zmm(31), param(P_CLAMP_LOW));
        }
        Vec t = zmm(24);
        for (int i = 0; i < r; i++) {
            for (int c = 0; c < vectors; c++) {
                if (operands == Operands.ACTIVATION_ROWS) { // the channel constants are per column
                    outputVector(a, output, asymmetric, fault, true, acc(i, c), t, Mem.at(RCX, 64 * c),
                            Mem.at(RCX, section + 64 * c), Mem.at(RCX, 2 * section + 64 * c),
                            Mem.at(RCX, 3 * section + 64 * c), Mem.at(R9, 4 * i), outputRow(i, 0), c,
                            columnMask(c));
                } else {
                    outputVector(a, output, asymmetric, fault, false, acc(i, c), t, Mem.at(R9, 4 * i),
                            Mem.at(R9, ROW_SECTION_BYTES + 4 * i), Mem.at(R9, 2 * ROW_SECTION_BYTES + 4 * i),
                            Mem.at(RCX, 64 * c), Mem.at(R9, 3 * ROW_SECTION_BYTES + 4 * i), outputRow(i, 0), c,
                            columnMask(c));
                }
            }
        }
    }

    /**
     * The output stage of one accumulator vector {@code v} (16 int32 lanes, column vector {@code c} of an output
     * row), stored at {@code row} plus the vector's offset under {@code mask}; {@code t} is a scratch register. With
     * {@code perColumn} the column term, multiplier and bias are vectors (one per output column); otherwise they are
     * broadcast from one dword each (one per output row). The asymmetric term is {@code zeroPoints * sums}: a vector
     * times a broadcast. The requantize stage expects the clamp bounds in zmm30/zmm31 and {@code params} in rdi.
     * {@link AmxGemmCode} runs the same stage on rows it reads back from its tiles.
     */
    static void outputVector(X86Assembler a, Output output, boolean asymmetric, Fault fault, boolean perColumn,
                             Vec v, Vec t, Mem columnTerm, Mem mult, Mem bias, Mem zeroPoints, Mem sums, Mem row,
                             int c, Mask mask) {
        if (fault != Fault.WRONG_RESULT) {
            if (perColumn) {
                a.vpaddd(v, v, columnTerm);
            } else {
                a.vpadddBroadcast(v, v, columnTerm);
            }
        }
        if (asymmetric) {
            // acc += zw * (-sum x): zw per channel, the sum per activation row/column.
            a.vmovdqu32(t, zeroPoints);
            a.vpmulldBroadcast(t, t, sums);
            a.vpaddd(v, v, t);
        }
        switch (output) {
            case INT32 -> a.vmovdqu32(row.plus(64 * c), mask, v);
            case DEQUANTIZE -> {
                a.vcvtdq2ps(v, v);
                if (perColumn) {
                    a.vmulps(v, v, mult);
                } else {
                    a.vmulpsBroadcast(v, v, mult);
                }
                a.vmovups(row.plus(64 * c), mask, v);
            }
            case DEQUANTIZE_BIAS -> {
                a.vcvtdq2ps(v, v);
                if (perColumn) {
                    a.vmovups(t, mult);
                    a.vfmadd213ps(v, t, bias);
                } else {
                    a.vbroadcastss(t, mult);
                    a.vfmadd213psBroadcast(v, t, bias);
                }
                a.vmovups(row.plus(64 * c), mask, v);
            }
            case REQUANTIZE -> {
                a.vcvtdq2ps(v, v);
                if (perColumn) {
                    a.vaddps(v, v, bias);
                    a.vmulps(v, v, mult);
                } else {
                    a.vaddpsBroadcast(v, v, bias);
                    a.vmulpsBroadcast(v, v, mult);
                }
                Mask nan = Mask.k(7);
                a.vcmpps(nan, v, v, X86Assembler.CmpPredicate.UNORD);
                a.vminps(v, zmm(30), v); // NaN stays NaN: it is the second source
                a.vmaxps(v, zmm(31), v);
                a.vcvtps2dqRoundNearest(v, v);
                a.vpxord(v, nan, v, v);   // NaN lanes to 0, as (long) Math.rint(NaN) == 0
                a.vpadddBroadcast(v, v, param(P_ZERO_POINT));
                a.vpmaxsdBroadcast(v, v, param(P_LOWER_BOUND));
                a.vpminsdBroadcast(v, v, param(P_UPPER_BOUND));
                a.vpmovdb(row.plus(16 * c), mask, v);
            }
        }
    }

}
