package dev.graft.kernels;

import static java.lang.foreign.ValueLayout.ADDRESS;

import dev.graft.kernels.x86.AmxGemmCode;
import dev.graft.kernels.x86.AmxPermission;
import dev.graft.kernels.x86.AvxVnniGemmCode;
import dev.graft.kernels.x86.CpuFeatures;
import dev.graft.kernels.x86.ExecutableMemory;
import dev.graft.kernels.x86.NativeCode;
import dev.graft.kernels.x86.VnniGemmCode;
import dev.graft.kernels.x86.X86Assembler;
import dev.graft.kernels.x86.VnniGemmCode.Output;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.Objects;

/**
 * {@link Int8Gemm} on machine code generated at start-up for AVX-512 VNNI ({@code vpdpbusd}: 64 u8 x s8 products
 * summed into 16 int32 lanes per instruction, four times the multiply-adds of an FP32 FMA), or, on CPUs without
 * AVX-512, for AVX-VNNI (the same instruction VEX-encoded on 256-bit registers): see {@link Isa}. The code comes from
 * {@link VnniGemmCode} or {@link AvxVnniGemmCode} (same operands, params and layouts), is installed by
 * {@link ExecutableMemory} and called through a critical FFM downcall with the heap arrays passed in place; no native
 * library ships with Graft.
 *
 * <p>Java's side of each call: check every bound ({@link PreparedOutput#checkGemm}), fold the zero points into
 * per-column and per-row int32 terms, lay out the output stage's per-column constants next to them, and cut the work
 * into calls of at most {@link #MACS_PER_CALL} multiply-adds (about half a millisecond: a critical call holds off
 * safepoints, so garbage collection waits for it). The generated code then runs the K loop, the row tiles, the
 * column panels and the output stage itself. The integer part is exact and the output stage per element, so the
 * result is bit-identical to {@link ScalarInt8Gemm} and to itself for any thread count.
 *
 * <p>Convolutions ({@link #gemmTransposedA}) use the generated code's weight-rows form, which writes NCHW planes
 * directly. Any other destination with a column stride other than 1 is computed row-major into a scratch array and
 * scattered in Java.
 */
public final class JitInt8Gemm implements Int8Gemm {

    /** Rows and 16-column vectors of the register tile (6x64: 24 zmm accumulators). */
    static final int TILE_ROWS = 6;
    static final int TILE_VECTORS = 4;
    /** Output channels per panel of the weights' {@link PackedInt8Weights.Layout#VNNI} layout. */
    static final int PANEL_WIDTH = 16 * TILE_VECTORS;
    /** Upper bound on the multiply-adds of one downcall. */
    static final long MACS_PER_CALL = 1L << 28;
    /** Below this many multiply-adds a GEMM runs on the calling thread alone. */
    private static final long MACS_PER_THREAD = 1L << 21;

    private static final FunctionDescriptor SIGNATURE = FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, ADDRESS, ADDRESS,
            ADDRESS, ADDRESS);

    /**
     * The instruction set the code is generated for, chosen once per JVM: AVX-512 VNNI where the CPU and OS have
     * it, else AVX-VNNI; {@link Kernels#ISA_PROPERTY} forces one (a machine with both can test the 256-bit code).
     */
    public enum Isa {
        /**
         * AMX tiles ({@code tdpbusd}, 32 x 32 blocks: {@link AmxGemmCode}) for the linear form, with AVX-512 for the
         * output stage and the convolution form ({@link VnniGemmCode}); the process must be granted tile data.
         */
        AMX("AMX-INT8", "amx"),
        /** 512-bit {@code vpdpbusd} (EVEX), opmask tails, a 6x64 tile: {@link VnniGemmCode}. */
        AVX512_VNNI("AVX-512 VNNI", "avx512-vnni"),
        /** 256-bit {@code vpdpbusd} (VEX), no AVX-512 needed, 6x16 tiles in the same 64-column panels. */
        AVX_VNNI("AVX-VNNI", "avx-vnni");

        private final String title;
        private final String propertyValue;

        Isa(String title, String propertyValue) {
            this.title = title;
            this.propertyValue = propertyValue;
        }

        /** The name in logs, e.g. {@code AVX-VNNI}. */
        public String title() {
            return title;
        }

        /** The value of {@link Kernels#ISA_PROPERTY} that forces it. */
        public String propertyValue() {
            return propertyValue;
        }

        /** Why {@code cpu} cannot run this ISA's code, or null when it can. */
        String missing(CpuFeatures cpu) {
            return switch (this) {
                case AMX -> cpu.missingForAmx();
                case AVX512_VNNI -> cpu.missingForAvx512Vnni();
                case AVX_VNNI -> cpu.missingForAvxVnni();
            };
        }

        /** Rows of the register or tile block the linear form's code steps by. */
        int tileRows() {
            return this == AMX ? AmxGemmCode.TILE_ROWS : TILE_ROWS;
        }
    }

    private final Parallel pool;
    private final Code code;
    private final long macsPerCall;
    /** Tests only: every linear-form call on the AMX code, whatever {@link #amxPays} says. */
    private final boolean amxAlways;

    /**
     * The generated kernels, one per output stage and weight symmetry, installed once and shared by every instance.
     */
    static final class Code {
        /** Indexed by operand form, output stage and weight symmetry (for AMX: its AVX-512 VNNI code). */
        private final MethodHandle[][][] handles =
                new MethodHandle[VnniGemmCode.Operands.values().length][Output.values().length][2];
        /** AMX only: the tile code of the linear form, by output stage and weight symmetry. */
        private final MethodHandle[][] amx = new MethodHandle[Output.values().length][2];
        private final int bytes;
        final Isa isa;

        private Code(Isa isa, VnniGemmCode.Fault fault) throws ExecutableMemory.UnavailableException {
            this.isa = isa;
            int total = 0;
            for (Output o : Output.values()) {
                for (int asym = 0; asym < 2; asym++) {
                    for (VnniGemmCode.Operands form : VnniGemmCode.Operands.values()) {
                        X86Assembler gen = isa == Isa.AVX_VNNI
                                ? new AvxVnniGemmCode(TILE_ROWS, o, asym == 1, form, fault).assembler()
                                : new VnniGemmCode(TILE_ROWS, TILE_VECTORS, o, asym == 1, form, fault).assembler();
                        total += install(gen, isa.title() + " " + form + " " + o, asym == 1,
                                handles[form.ordinal()][o.ordinal()]);
                    }
                    if (isa == Isa.AMX) {
                        total += install(new AmxGemmCode(o, asym == 1, fault).assembler(), isa.title() + " " + o,
                                asym == 1, amx[o.ordinal()]);
                    }
                }
            }
            this.bytes = total;
        }

        /** Installs one kernel into {@code slot[asym]}; returns its size in bytes. */
        private static int install(X86Assembler gen, String what, boolean asym, MethodHandle[] slot)
                throws ExecutableMemory.UnavailableException {
            NativeCode installed = NativeCode.install("int8 gemm " + what + (asym ? " asymmetric" : ""), gen);
            slot[asym ? 1 : 0] = installed.handle(SIGNATURE, true);
            return installed.size();
        }

        MethodHandle handle(VnniGemmCode.Operands form, Output o, boolean asym) {
            return handles[form.ordinal()][o.ordinal()][asym ? 1 : 0];
        }

        MethodHandle amx(Output o, boolean asym) {
            return amx[o.ordinal()][asym ? 1 : 0];
        }
    }

    /** Why the generated kernels cannot be used here; the message is the log line's reason. */
    public static final class UnavailableException extends Exception {
        UnavailableException(String reason) {
            super(reason);
        }
    }

    private JitInt8Gemm(Parallel pool, Code code, long macsPerCall) {
        this(pool, code, macsPerCall, false);
    }

    private JitInt8Gemm(Parallel pool, Code code, long macsPerCall, boolean amxAlways) {
        this.pool = Objects.requireNonNull(pool, "pool");
        this.code = code;
        this.macsPerCall = macsPerCall;
        this.amxAlways = amxAlways;
    }

    /** The same kernels with a smaller bound per downcall, so tests reach every way a GEMM is cut into calls. */
    JitInt8Gemm withMacsPerCall(long macs) {
        return new JitInt8Gemm(pool, code, macs, amxAlways);
    }

    /** AMX code only: the same kernels with every linear-form GEMM on the tiles, so tests reach them on any shape. */
    JitInt8Gemm withAmxAlways() {
        if (code.isa != Isa.AMX) {
            throw new IllegalStateException("not AMX code: " + code.isa);
        }
        return new JitInt8Gemm(pool, code, macsPerCall, true);
    }

    /**
     * Whether a GEMM runs on the AMX tiles rather than on {@code vpdpbusd}: K runs in steps of 64 there, so the
     * tiles are used when at most a quarter of K is padding (attention's per-head products with K = 32 stay on
     * VNNI). Any row count pays: JMH on Sapphire Rapids, 1 thread (ops/s, tiles for every m vs VNNI below 32 rows):
     * 1x384x1536 22,036 vs 9,269; 8x384x384 162,404 vs 127,187; 20x384x1536 32,420 vs 20,313; 32x384x384 110,106
     * vs 54,465; 4x384x384 178,606 vs 182,650 (equal).
     */
    private boolean amxPays(PackedInt8Weights w) {
        if (code.isa != Isa.AMX) {
            return false;
        }
        int k4 = (w.k() + 3) / 4;
        return amxAlways || 4 * w.vnniGroups() <= 5 * k4;
    }

    /**
     * The kernels of this JVM (generated and self-tested on first use) on {@code pool}; benchmarks use it to run the
     * generated kernel beside the others. Most callers want {@link Kernels#int8Gemm()}.
     *
     * @throws UnavailableException when they cannot run here, with the reason
     */
    public static JitInt8Gemm create(Parallel pool) throws UnavailableException {
        return new JitInt8Gemm(pool, Shared.code(null), MACS_PER_CALL);
    }

    /**
     * {@link #create(Parallel)} for a given instruction set whatever the selection would choose (tests and
     * benchmarks run the AVX-VNNI code on machines that also have AVX-512).
     *
     * @throws UnavailableException when this CPU or JVM cannot run it, with the reason
     */
    public static JitInt8Gemm create(Parallel pool, Isa isa) throws UnavailableException {
        return new JitInt8Gemm(pool, Shared.code(Objects.requireNonNull(isa, "isa")), MACS_PER_CALL);
    }

    /** The instruction set of this instance's code. */
    public Isa isa() {
        return code.isa;
    }

    /**
     * The ISA to generate for: the one {@code property} ({@link Kernels#ISA_PROPERTY}) names, else AVX-512 VNNI
     * when {@code cpu} has it, else AVX-VNNI.
     *
     * @throws UnavailableException when the property is unknown or neither ISA can run, with the reason
     */
    static Isa isaFor(CpuFeatures cpu, String property) throws UnavailableException {
        if (property != null && !property.isBlank()) {
            String value = property.trim().toLowerCase(java.util.Locale.ROOT);
            for (Isa isa : Isa.values()) {
                if (isa.propertyValue().equals(value)) {
                    return isa;
                }
            }
            throw new UnavailableException("unknown " + Kernels.ISA_PROPERTY + "=" + property.trim() + " (use "
                    + Isa.AMX.propertyValue() + ", " + Isa.AVX512_VNNI.propertyValue() + " or "
                    + Isa.AVX_VNNI.propertyValue() + ")");
        }
        if (Isa.AMX.missing(cpu) == null) {
            return Isa.AMX;
        }
        if (Isa.AVX512_VNNI.missing(cpu) == null) {
            return Isa.AVX512_VNNI;
        }
        if (Isa.AVX_VNNI.missing(cpu) == null) {
            return Isa.AVX_VNNI;
        }
        throw new UnavailableException("no AVX-512 VNNI (" + Isa.AVX512_VNNI.missing(cpu) + ") and no AVX-VNNI ("
                + Isa.AVX_VNNI.missing(cpu) + ")");
    }

    /** Generates, installs and self-tests the kernels of the ISA {@code cpu} would get without the property. */
    static Code build(CpuFeatures cpu, VnniGemmCode.Fault fault) throws UnavailableException {
        return build(cpu, isaFor(cpu, null), fault);
    }

    /** Generates, installs and self-tests the kernels for {@code isa} on a CPU with {@code cpu}'s features. */
    static Code build(CpuFeatures cpu, Isa isa, VnniGemmCode.Fault fault) throws UnavailableException {
        String missing = isa.missing(cpu);
        if (missing == null && isa == Isa.AMX) {
            missing = AmxPermission.request(); // without the grant the first tile load would be SIGILL
        }
        if (missing != null) {
            throw new UnavailableException(isa.title() + ": " + missing);
        }
        Code code;
        try {
            code = new Code(isa, fault);
        } catch (ExecutableMemory.UnavailableException e) {
            throw new UnavailableException("executable memory was refused: " + e.getMessage());
        }
        String failure;
        try (Parallel one = new Parallel(1)) {
            JitInt8Gemm jit = new JitInt8Gemm(one, code, MACS_PER_CALL);
            failure = JitSelfTest.run(jit);
            if (failure == null && isa == Isa.AMX) {
                failure = JitSelfTest.run(jit.withAmxAlways()); // every shape on the tiles too, not only the large ones
            }
        }
        if (failure != null) {
            throw new UnavailableException("the start-up self-test failed: " + failure);
        }
        return code;
    }

    /**
     * Why the AMX code was tried and refused on this CPU (the grant, or its self-test), or null when it runs or was
     * never tried (no AMX here, or another ISA forced). The log line of {@link Kernels} shows it.
     */
    static String amxRefusal() {
        synchronized (Shared.class) {
            return Shared.amxRefused;
        }
    }

    /** The JVM-wide code: built once per ISA; a failure is remembered with its reason. */
    private static final class Shared {
        private static final Code[] CODE = new Code[Isa.values().length];
        private static final String[] FAILURE = new String[Isa.values().length];
        /** Why AMX was refused on a CPU and OS that have it (the grant, or the self-test); null otherwise. */
        private static String amxRefused;

        /** The built code of {@code isa}, building it on first use; null (reason in FAILURE) when it cannot run. */
        private static Code codeFor(CpuFeatures cpu, Isa isa) {
            int i = isa.ordinal();
            if (CODE[i] == null && FAILURE[i] == null) {
                try {
                    CODE[i] = build(cpu, isa, VnniGemmCode.Fault.NONE);
                } catch (UnavailableException e) {
                    FAILURE[i] = e.getMessage();
                    if (isa == Isa.AMX && isa.missing(cpu) == null) {
                        amxRefused = e.getMessage();
                    }
                }
            }
            return CODE[i];
        }

        /** The code of {@code forced}, or (null) of the ISA the property and the CPU select. */
        static synchronized Code code(Isa forced) throws UnavailableException {
            try {
                if (!ExecutableMemory.nativeAccessEnabled()) {
                    throw new UnavailableException("native access is not enabled (run the JVM with"
                            + " --enable-native-access=ALL-UNNAMED)");
                }
                CpuFeatures cpu;
                try {
                    cpu = CpuFeatures.detect();
                } catch (ExecutableMemory.UnavailableException e) {
                    throw new UnavailableException("executable memory was refused: " + e.getMessage());
                }
                String property = System.getProperty(Kernels.ISA_PROPERTY);
                Isa isa = forced != null ? forced : isaFor(cpu, property);
                Code code = codeFor(cpu, isa);
                if (code == null && isa == Isa.AMX && forced == null && (property == null || property.isBlank())) {
                    // AMX refused at run time (no grant, or the self-test): the 512-bit VNNI code is the next best.
                    code = codeFor(cpu, Isa.AVX512_VNNI);
                    if (code != null) {
                        return code;
                    }
                }
                if (code == null) {
                    throw new UnavailableException(FAILURE[isa.ordinal()]);
                }
                return code;
            } catch (RuntimeException | LinkageError e) {
                throw new UnavailableException("could not set up the generated kernels: " + e);
            }
        }
    }

    /** The threads this GEMM runs on. */
    Parallel pool() {
        return pool;
    }

    @Override
    public void gemm(int m, byte[] a, int aOff, int lda, int aZeroPoint, PackedInt8Weights w, Int8Output output) {
        PreparedOutput out = PreparedOutput.checkGemm("JitInt8Gemm", m, a, aOff, lda, aZeroPoint, w, output);
        requireVnni(w);
        if (m == 0) {
            return;
        }
        int n = w.n();
        int k = w.k();
        boolean amx = amxPays(w);
        int rowBytes = amx ? 4 * w.vnniGroups() : 4 * ((k + 3) / 4); // AMX reads whole steps of 64 K values
        if (aOff + (long) (m - 1) * lda + rowBytes > a.length) {
            // The last group (or AMX step) reads past K; copy the rows so those bytes exist (they meet zero weights).
            byte[] padded = new byte[m * rowBytes];
            for (int i = 0; i < m; i++) {
                System.arraycopy(a, aOff + i * lda, padded, i * rowBytes, k);
            }
            a = padded;
            aOff = 0;
            lda = rowBytes;
        }
        Destination dst = Destination.of(out.stage);
        boolean direct = dst.colStride == 1 && (m == 1 || dst.rowStride >= n);
        if (direct) {
            run(m, a, aOff, lda, aZeroPoint, w, out, dst.array, dst.off, dst.rowStride, amx);
        } else {
            Object scratch = dst.newRowMajor(m, n);
            run(m, a, aOff, lda, aZeroPoint, w, out, scratch, 0, n, amx);
            dst.scatter(scratch, m, n);
        }
    }

    /** The destination of an output stage, unpacked. */
    private record Destination(Object array, int off, int rowStride, int colStride) {
        static Destination of(Int8Output stage) {
            return switch (stage) {
                case Int8Output.Int32 s -> new Destination(s.out(), s.off(), s.rowStride(), s.colStride());
                case Int8Output.Requantize r -> new Destination(r.out(), r.off(), r.rowStride(), r.colStride());
                case Int8Output.Dequantize d -> new Destination(d.out(), d.off(), d.rowStride(), d.colStride());
            };
        }

        Object newRowMajor(int m, int n) {
            return switch (array) {
                case byte[] b -> new byte[m * n];
                case float[] f -> new float[m * n];
                default -> new int[m * n];
            };
        }

        /** Copies row-major {@code [m][n]} into the strided destination, row by row. */
        void scatter(Object rowMajor, int m, int n) {
            switch (array) {
                case byte[] to -> {
                    byte[] from = (byte[]) rowMajor;
                    for (int i = 0; i < m; i++) {
                        for (int j = 0, at = off + i * rowStride; j < n; j++, at += colStride) {
                            to[at] = from[i * n + j];
                        }
                    }
                }
                case float[] to -> {
                    float[] from = (float[]) rowMajor;
                    for (int i = 0; i < m; i++) {
                        for (int j = 0, at = off + i * rowStride; j < n; j++, at += colStride) {
                            to[at] = from[i * n + j];
                        }
                    }
                }
                default -> {
                    int[] to = (int[]) array;
                    int[] from = (int[]) rowMajor;
                    for (int i = 0; i < m; i++) {
                        for (int j = 0, at = off + i * rowStride; j < n; j++, at += colStride) {
                            to[at] = from[i * n + j];
                        }
                    }
                }
            }
        }
    }

    /**
     * {@link #gemm} with the activations stored transposed, {@code X[i][p] = a[aOff + p*ldaT + i]}: an im2col matrix.
     * Where the destination's rows are contiguous ({@code rowStride == 1}: a convolution's NCHW output, pixels along
     * a channel plane), the generated {@code WEIGHT_ROWS} form computes {@code out[channel][pixel]} directly from
     * activations packed like weights ({@link VnniActivations}); any other destination goes through {@link #gemm}.
     * Same bits as {@link #gemm} on the transposed matrix.
     */
    void gemmTransposedA(int m, byte[] a, int aOff, int ldaT, int aZeroPoint, PackedInt8Weights w,
                         Int8Output output) {
        Objects.requireNonNull(a, "a");
        int k = w.k();
        if (m > 0 && (ldaT < m || aOff < 0 || aOff + (long) (k - 1) * ldaT + m > a.length)) {
            throw new IllegalArgumentException("JitInt8Gemm: transposed activations [" + k + " x " + m
                    + "] at offset " + aOff + " with row stride " + ldaT + " do not fit in " + a.length + " bytes");
        }
        // The row-major check with lda = k only looks at the zero point, weights and output here.
        PreparedOutput out = PreparedOutput.checkGemm("JitInt8Gemm", Math.min(m, 1), a, 0, k, aZeroPoint, w, output);
        out.check("JitInt8Gemm", m, w.n());
        requireVnni(w);
        if (m == 0) {
            return;
        }
        Destination dst = Destination.of(out.stage);
        if (dst.rowStride != 1 || (w.n() > 1 && dst.colStride < m)) {
            byte[] rows = new byte[m * k];
            for (int p = 0; p < k; p++) {
                for (int i = 0; i < m; i++) {
                    rows[i * k + p] = a[aOff + p * ldaT + i];
                }
            }
            gemm(m, rows, 0, k, aZeroPoint, w, output);
            return;
        }
        // Bytes past K and past m are never cleared: they meet zero weights or masked-off columns.
        byte[] packed = ByteScratch.take(VnniActivations.packedBytes(m, k));
        try {
            VnniActivations.pack(a, aOff, ldaT, m, k, packed);
            weightRows(m, a, aOff, ldaT, aZeroPoint, w, out, dst, packed);
        } finally {
            ByteScratch.give(packed);
        }
    }

    private void weightRows(int m, byte[] a, int aOff, int ldaT, int aZeroPoint, PackedInt8Weights w,
                            PreparedOutput out, Destination dst, byte[] packed) {
        int n = w.n();
        int k = w.k();
        int k4 = (k + 3) / 4;
        boolean asym = !w.symmetric();
        int[] pixelTerms = asym ? VnniActivations.negatedPixelSums(a, aOff, ldaT, m, k) : new int[1];
        Output kind = outputOf(out);
        MethodHandle kernel = code.handle(VnniGemmCode.Operands.WEIGHT_ROWS, kind, asym);
        int channelPanels = (n + PANEL_WIDTH - 1) / PANEL_WIDTH;
        int[] cols = columnTerms(w, out, aZeroPoint, channelPanels);
        Call[] calls = new Call[channelPanels];
        for (int q = 0; q < channelPanels; q++) {
            // The channel constants of panel q, the four runs the WEIGHT_ROWS code broadcasts from.
            int[] rowData = java.util.Arrays.copyOfRange(cols, q * 4 * PANEL_WIDTH, (q + 1) * 4 * PANEL_WIDTH);
            Isa rowsIsa = code.isa == Isa.AMX ? Isa.AVX512_VNNI : code.isa; // AMX builds this form as VNNI code
            calls[q] = new Call(kernel, rowsIsa, kind, w.vnni().asSlice(q * w.vnniPanelBytes()), 4,
                    Math.min(PANEL_WIDTH, n - q * PANEL_WIDTH), MemorySegment.ofArray(packed), (long) k4 * 256,
                    MemorySegment.ofArray(pixelTerms), asym ? 256 : 0, MemorySegment.ofArray(rowData), dst.array,
                    dst.off + (long) q * PANEL_WIDTH * dst.colStride, dst.colStride, m, k4, out.zeroPoint,
                    out.lowerBound, 0, macsPerCall);
        }
        int pixelPanels = (m + PANEL_WIDTH - 1) / PANEL_WIDTH;
        long macs = (long) m * n * k;
        int threads = (int) Math.min(pool.threads(), Math.max(1, macs / MACS_PER_THREAD));
        if (threads <= 1) {
            for (Call call : calls) {
                call.rowsAndPanels(0, call.rowCount(), 0, pixelPanels);
            }
        } else if (pixelPanels >= threads) {
            pool.forEach(threads, t -> {
                for (Call call : calls) {
                    call.rowsAndPanels(0, call.rowCount(), pixelPanels * t / threads, pixelPanels * (t + 1) / threads);
                }
            });
        } else {
            pool.forEach(channelPanels, q -> calls[q].rowsAndPanels(0, calls[q].rowCount(), 0, pixelPanels));
        }
    }

    private static void requireVnni(PackedInt8Weights w) {
        if (w.layout() != PackedInt8Weights.Layout.VNNI || w.panelWidth() != PANEL_WIDTH) {
            throw new IllegalArgumentException("JitInt8Gemm: weights packed as " + w + "; this kernel needs the VNNI"
                    + " layout in panels of " + PANEL_WIDTH + " (pack with PackedInt8Weights.pack)");
        }
    }

    private void run(int m, byte[] a, int aOff, int lda, int zx, PackedInt8Weights w, PreparedOutput out,
                     Object dst, int dstOff, int ldo, boolean amx) {
        int n = w.n();
        int k = w.k();
        int panels = (n + PANEL_WIDTH - 1) / PANEL_WIDTH;
        Output kind = outputOf(out);
        boolean asym = !w.symmetric();
        int[] cols = columnTerms(w, out, zx, panels);
        int[] rows = asym ? rowTerms(m, a, aOff, lda, k) : new int[m];
        int k4 = (k + 3) / 4;
        Isa isa = amx ? Isa.AMX : code.isa == Isa.AMX ? Isa.AVX512_VNNI : code.isa;
        MethodHandle kernel = amx ? code.amx(kind, asym) : code.handle(VnniGemmCode.Operands.ACTIVATION_ROWS, kind, asym);
        Call call = new Call(kernel, isa, kind,
                MemorySegment.ofArray(a).asSlice(aOff), lda, m,
                w.vnni(), w.vnniPanelBytes(), MemorySegment.ofArray(cols), 4L * 4 * PANEL_WIDTH,
                MemorySegment.ofArray(rows), dst, dstOff, ldo, n, k4, out.zeroPoint, out.lowerBound,
                w.vnniGroups() / AmxGemmCode.GROUPS_PER_STEP, macsPerCall);
        int tileRows = isa.tileRows();

        long macs = (long) m * n * k;
        int threads = (int) Math.min(pool.threads(), Math.max(1, macs / MACS_PER_THREAD));
        if (threads <= 1) {
            call.rowsAndPanels(0, m, 0, panels);
        } else if (panels >= 2 * threads || m < 2 * tileRows * threads) {
            int tasks = Math.min(threads, panels);
            pool.forEach(tasks, t -> call.rowsAndPanels(0, m, panels * t / tasks, panels * (t + 1) / tasks));
        } else {
            int tiles = (m + tileRows - 1) / tileRows;
            pool.forEach(threads, t -> call.rowsAndPanels(Math.min(m, tiles * t / threads * tileRows),
                    Math.min(m, tiles * (t + 1) / threads * tileRows), 0, panels));
        }
    }

    private static Output outputOf(PreparedOutput out) {
        return switch (out.kind) {
            case INT32 -> Output.INT32;
            case REQUANTIZE -> Output.REQUANTIZE;
            case DEQUANTIZE -> out.biasTerm == null ? Output.DEQUANTIZE : Output.DEQUANTIZE_BIAS;
        };
    }

    /**
     * Per panel, four runs of {@link #PANEL_WIDTH} dwords: the zero-point column term, the multiplier, the bias term
     * and the weight zero point (the layout {@link VnniGemmCode} reads).
     */
    private static int[] columnTerms(PackedInt8Weights w, PreparedOutput out, int zx, int panels) {
        int n = w.n();
        int k = w.k();
        int[] cols = new int[panels * 4 * PANEL_WIDTH];
        for (int j = 0; j < n; j++) {
            int base = j / PANEL_WIDTH * 4 * PANEL_WIDTH + j % PANEL_WIDTH;
            int zw = w.zeroPoint(j);
            cols[base] = -zx * w.columnSum(j) + k * zx * zw;
            if (out.multiplier != null) {
                cols[base + PANEL_WIDTH] = Float.floatToRawIntBits(out.multiplier[j]);
            }
            if (out.biasTerm != null) {
                cols[base + 2 * PANEL_WIDTH] = Float.floatToRawIntBits(out.biasTerm[j]);
            }
            cols[base + 3 * PANEL_WIDTH] = zw;
        }
        return cols;
    }

    /** {@code -sum_p x[i][p]} per row: the weights' zero points multiply it. */
    private static int[] rowTerms(int m, byte[] a, int aOff, int lda, int k) {
        int[] rows = new int[m];
        int words = k >> 3;
        for (int i = 0; i < m; i++) {
            int at = aOff + i * lda;
            // Eight bytes at a time: the even and odd bytes of each word land in four 16-bit lanes (at most 510 per
            // word), emptied every 128 words before they can overflow; the sum is exact, as the byte loop's.
            long lanes = 0;
            int sum = 0;
            for (int w = 0; w < words; w++) {
                long v = (long) EIGHT_BYTES.get(a, at + 8 * w);
                lanes += (v & 0x00FF00FF00FF00FFL) + ((v >>> 8) & 0x00FF00FF00FF00FFL);
                if ((w & 127) == 127) {
                    sum += laneSum(lanes);
                    lanes = 0;
                }
            }
            sum += laneSum(lanes);
            for (int p = 8 * words; p < k; p++) {
                sum += a[at + p] & 0xFF;
            }
            rows[i] = -sum;
        }
        return rows;
    }

    /** Eight bytes of a byte[] as one little-endian long. */
    private static final java.lang.invoke.VarHandle EIGHT_BYTES = java.lang.invoke.MethodHandles
            .byteArrayViewVarHandle(long[].class, java.nio.ByteOrder.LITTLE_ENDIAN);

    /** The sum of four unsigned 16-bit lanes. */
    private static int laneSum(long lanes) {
        return (int) ((lanes & 0xFFFF) + ((lanes >>> 16) & 0xFFFF) + ((lanes >>> 32) & 0xFFFF) + (lanes >>> 48));
    }

    /**
     * One GEMM's operands as the generated code sees them (a row operand, a run of column panels, per-panel and
     * per-row constants, a destination), cut into downcalls of bounded work.
     *
     * @param rowOperand   row 0 of the broadcast operand; row {@code i} at {@code i * rowStride} bytes
     * @param panelOperand panel 0 of the vector operand, {@code panelBytes} per panel
     * @param columnData   per-panel constants, {@code columnDataBytes} per panel
     * @param rowData      per-row constants (dwords), row {@code i} at {@code 4i}
     * @param out          the destination array, element {@code (0, 0)} at index {@code outOff}, rows {@code ldo}
     *                     elements apart, columns contiguous
     * @param columns      columns in all (the last panel's tail is masked)
     * @param kSteps       AMX only: steps of 64 K values (the weights' padded groups / 16)
     */
    private record Call(MethodHandle kernel, Isa isa, Output kind, MemorySegment rowOperand, long rowStride, int rowCount,
                        MemorySegment panelOperand, long panelBytes, MemorySegment columnData, long columnDataBytes,
                        MemorySegment rowData, Object out, long outOff, long ldo, int columns, int k4,
                        int zeroPoint, int lowerBound, int kSteps, long macsPerCall) {

        int panels() {
            return (columns + PANEL_WIDTH - 1) / PANEL_WIDTH;
        }

        void rowsAndPanels(int i0, int i1, int q0, int q1) {
            if (i0 >= i1 || q0 >= q1) {
                return;
            }
            long panelMacs = (long) PANEL_WIDTH * 4 * k4;
            int tile = isa.tileRows();
            long rowsPerCall = Math.max(tile, macsPerCall / panelMacs / tile * tile);
            for (int r0 = i0; r0 < i1; r0 += (int) Math.min(rowsPerCall, i1 - r0)) {
                int rowsNow = (int) Math.min(rowsPerCall, i1 - r0);
                int panelsPerCall = (int) Math.max(1, macsPerCall / (panelMacs * rowsNow));
                for (int p0 = q0; p0 < q1; p0 += panelsPerCall) {
                    invoke(r0, rowsNow, p0, Math.min(q1, p0 + panelsPerCall));
                }
            }
        }

        private void invoke(int r0, int rowsNow, int p0, int p1) {
            int elem = kind == Output.REQUANTIZE ? 1 : 4;
            long[] params = new long[switch (isa) {
                case AMX -> AmxGemmCode.PARAMS;
                case AVX512_VNNI -> VnniGemmCode.PARAMS;
                case AVX_VNNI -> AvxVnniGemmCode.PARAMS;
            }];
            int tile = isa.tileRows();
            params[VnniGemmCode.P_M] = rowsNow;
            params[VnniGemmCode.P_PANELS] = p1 - p0;
            params[VnniGemmCode.P_K4] = k4;
            params[VnniGemmCode.P_LDA] = rowStride;
            params[VnniGemmCode.P_LDO] = ldo * elem;
            params[VnniGemmCode.P_W_PANEL_BYTES] = panelBytes;
            params[VnniGemmCode.P_COL_PANEL_BYTES] = columnDataBytes;
            params[VnniGemmCode.P_OUT_PANEL_BYTES] = (long) PANEL_WIDTH * elem;
            params[VnniGemmCode.P_A_TILE_BYTES] = tile * rowStride;
            params[VnniGemmCode.P_OUT_TILE_BYTES] = tile * ldo * elem;
            params[VnniGemmCode.P_MASK_FULL] = 0xFFFF;
            int panels = panels();
            int tail = p1 == panels ? columns - (panels - 1) * PANEL_WIDTH : PANEL_WIDTH;
            for (int c = 0; c < TILE_VECTORS; c++) {
                int lanes = Math.max(0, Math.min(16, tail - 16 * c));
                params[VnniGemmCode.P_MASK_TAIL + c] = (1 << lanes) - 1;
            }
            if (isa == Isa.AVX_VNNI) {
                AvxVnniGemmCode.putSliceBlocks(params, tail); // its masks are vectors, and slices of 16 columns
            }
            if (isa == Isa.AMX) {
                params[AmxGemmCode.P_K_STEPS] = kSteps;
                AmxGemmCode.putTileConfig(params, AmxGemmCode.P_TILE_CONFIG, tile);
                AmxGemmCode.putTileConfig(params, AmxGemmCode.P_TAIL_CONFIG, rowsNow % tile == 0 ? tile : rowsNow % tile);
            }
            // The requantize constants of PreparedOutput's per-element formula.
            params[VnniGemmCode.P_CLAMP_HIGH] = Float.floatToRawIntBits(VnniGemmCode.CLAMP);
            params[VnniGemmCode.P_CLAMP_LOW] = Float.floatToRawIntBits(-VnniGemmCode.CLAMP);
            params[VnniGemmCode.P_ZERO_POINT] = zeroPoint;
            params[VnniGemmCode.P_LOWER_BOUND] = lowerBound;
            params[VnniGemmCode.P_UPPER_BOUND] = 255;
            MemorySegment dst = switch (out) {
                case byte[] b -> MemorySegment.ofArray(b);
                case float[] f -> MemorySegment.ofArray(f);
                default -> MemorySegment.ofArray((int[]) out);
            };
            long outOffset = (outOff + r0 * ldo + (long) p0 * PANEL_WIDTH) * elem;
            try {
                kernel.invokeExact(MemorySegment.ofArray(params),
                        rowOperand.asSlice(r0 * rowStride),
                        panelOperand.asSlice(p0 * panelBytes),
                        columnData.asSlice(p0 * columnDataBytes),
                        dst.asSlice(outOffset),
                        rowData.asSlice(4L * r0));
            } catch (Throwable t) {
                throw new IllegalStateException("JitInt8Gemm: the generated kernel call failed", t);
            }
        }
    }

    @Override
    public String name() {
        return "jit";
    }

    @Override
    public String toString() {
        String tile = switch (code.isa) {
            case AMX -> AmxGemmCode.TILE_ROWS + "x32 blocks of 16x16 tiles in panels of " + PANEL_WIDTH;
            case AVX512_VNNI -> TILE_ROWS + "x" + PANEL_WIDTH + " tile";
            case AVX_VNNI -> TILE_ROWS + "x" + AvxVnniGemmCode.SLICE_WIDTH + " tiles in panels of " + PANEL_WIDTH;
        };
        return "jit (" + code.isa.title() + " machine code generated at start-up, " + tile + ", " + code.bytes
                + " bytes of code, " + pool.threads() + " threads)";
    }
}
