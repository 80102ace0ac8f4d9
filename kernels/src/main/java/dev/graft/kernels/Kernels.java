package dev.graft.kernels;

import java.lang.System.Logger.Level;

/**
 * Start-up choice of kernel implementations: generated machine code for INT8 where the CPU has VNNI, the Vector API
 * versions when they can run, the scalar references otherwise.
 *
 * <ul>
 *   <li>INT8 GEMM: {@link JitInt8Gemm} (machine code generated at start-up) when native access is enabled, the
 *       CPU and OS support AMX-INT8 (Sapphire Rapids and later Xeons: tile code for the large linear GEMMs, with
 *       Linux's tile-data grant; refused grants fall back to the next), or AVX-512 VNNI, or else AVX-VNNI (256-bit,
 *       for CPUs without AVX-512 such as Intel Alder Lake and later client parts), executable memory is granted and
 *       the generated code passes its self-test; else {@link VectorInt8Gemm}; else {@link ScalarInt8Gemm}. The
 *       system property {@value #ISA_PROPERTY} forces the instruction set of the generated code: {@code amx},
 *       {@code avx512-vnni} or {@code avx-vnni} (on a machine with several, {@code -Dgraft.jit.isa=avx512-vnni}
 *       runs the VNNI code); when the CPU lacks it, or the value is unknown, INT8 falls back to the Vector API and
 *       the log line says why.</li>
 *   <li>FP32 GEMM and the other kernels: the Vector API versions when the {@code jdk.incubator.vector} module is in
 *       the boot layer (the JVM was started with {@code --add-modules jdk.incubator.vector}), else scalar.</li>
 * </ul>
 * The system property {@code graft.kernels} forces a level: {@code jit}, {@code vector} or {@code scalar} (when the
 * forced level cannot run, the next one down is used and the log line says why). The choice is made once, on first
 * use, and reported in exactly one log line through {@link System.Logger}: INFO naming the implementations (and why
 * INT8 is not on generated code when it is not), or WARNING with the fix when the Vector API module is missing.
 *
 * <p>Classes that touch {@code jdk.incubator.vector} are loaded only after the module was found, so on a JVM
 * without the flag this class, and the scalar kernels, work normally.
 */
public final class Kernels {

    /** System property that forces a kernel level: {@code jit}, {@code vector} or {@code scalar}. */
    public static final String PROPERTY = "graft.kernels";

    /** System property that forces the ISA of the generated INT8 code: {@code amx}, {@code avx512-vnni} or {@code avx-vnni}. */
    public static final String ISA_PROPERTY = "graft.jit.isa";

    static final String VECTOR_MODULE = "jdk.incubator.vector";

    private Kernels() {
    }

    /** The FP32 GEMM chosen at start-up; stateless and thread-safe, so it may be shared. */
    public static FloatGemm floatGemm() {
        return Holder.GEMM;
    }

    /** The INT8 GEMM chosen at start-up; stateless and thread-safe. */
    public static Int8Gemm int8Gemm() {
        return Holder.INT8;
    }

    /**
     * Every INT8 GEMM this JVM can run, the scalar reference first, then the Vector API kernel (when its module is
     * present) and the generated kernel (when it is available here; on a CPU with both AVX-512 VNNI and AVX-VNNI,
     * the 256-bit variant as well): conformance tests run each in turn. Pack
     * weights for each with {@link PackedInt8Weights#pack(byte[], int, int, int, float[], int[], Int8Gemm)}.
     */
    public static java.util.List<Int8Gemm> availableInt8Gemms() {
        java.util.List<Int8Gemm> all = new java.util.ArrayList<>();
        all.add(new ScalarInt8Gemm());
        if (vectorModulePresent()) {
            all.add(newVectorInt8Gemm());
        }
        try {
            JitInt8Gemm chosen = JitInt8Gemm.create(Parallel.shared());
            all.add(chosen);
            for (JitInt8Gemm.Isa isa : JitInt8Gemm.Isa.values()) {
                if (isa != chosen.isa()) {
                    try {
                        all.add(JitInt8Gemm.create(Parallel.shared(), isa));
                    } catch (JitInt8Gemm.UnavailableException e) {
                        // This CPU has only the chosen ISA.
                    }
                }
            }
        } catch (JitInt8Gemm.UnavailableException e) {
            // Not on this machine or JVM; the selection's log line says why.
        }
        return java.util.List.copyOf(all);
    }

    /** Panel width {@link PackedInt8Weights#pack} uses: the chosen INT8 kernel's. */
    static int int8PanelWidth() {
        return switch (Holder.INT8) {
            case JitInt8Gemm jit -> JitInt8Gemm.PANEL_WIDTH;
            case ScalarInt8Gemm scalar -> PackedInt8Weights.DEFAULT_PANEL_WIDTH;
            default -> Holder.VECTOR_PANEL_WIDTH;
        };
    }

    /** The weight layout the chosen INT8 kernel reads. */
    static PackedInt8Weights.Layout int8Layout() {
        return Holder.INT8 instanceof JitInt8Gemm ? PackedInt8Weights.Layout.VNNI : PackedInt8Weights.Layout.PANELS;
    }

    /** Panel width of {@link PackedFloatWeights}: the vector micro-kernel's, or a default for scalar builds. */
    static int floatPanelWidth() {
        return Holder.VECTOR ? Holder.VECTOR_PANEL_WIDTH : PackedInt8Weights.DEFAULT_PANEL_WIDTH;
    }

    /** True when the Vector API kernels were chosen at start-up (callers use it to pick vector helpers). */
    static boolean vectorKernels() {
        return Holder.VECTOR;
    }

    /** One line for humans (the CLI prints it), e.g. {@code FP32 GEMM: vector (...); INT8 GEMM: jit (...)}. */
    public static String description() {
        return Holder.DESCRIPTION;
    }

    /** The requested level, from the property ({@code null} or blank: the best available). */
    enum Tier { JIT, VECTOR, SCALAR }

    /** What was chosen for the Vector API kernels, and why when it is not them. */
    enum Choice { VECTOR, SCALAR_BY_PROPERTY, SCALAR_NO_MODULE }

    /** The requested level, or null for "best available" (blank or unknown values). */
    static Tier requested(String property) {
        if (property == null) {
            return null;
        }
        return switch (property.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "jit" -> Tier.JIT;
            case "vector" -> Tier.VECTOR;
            case "scalar" -> Tier.SCALAR;
            default -> null;
        };
    }

    /** The decision for the Vector API kernels, separate from instantiation and logging so tests cover every case. */
    static Choice choose(String property, boolean vectorModulePresent) {
        if (requested(property) == Tier.SCALAR) {
            return Choice.SCALAR_BY_PROPERTY;
        }
        return vectorModulePresent ? Choice.VECTOR : Choice.SCALAR_NO_MODULE;
    }

    /** Whether to try the generated INT8 kernels: unless a lower level was asked for. */
    static boolean tryJit(String property) {
        Tier level = requested(property);
        return level == null || level == Tier.JIT;
    }

    static boolean vectorModulePresent() {
        return ModuleLayer.boot().findModule(VECTOR_MODULE).isPresent();
    }

    /**
     * The only place that names {@link VectorFloatGemm}. Called solely after the module check, so a JVM without the
     * module never loads it (loading it would fail on the first Vector API class).
     */
    private static FloatGemm newVectorFloatGemm() {
        return new VectorFloatGemm();
    }

    private static Int8Gemm newVectorInt8Gemm() {
        return new VectorInt8Gemm();
    }

    private static int vectorPanelWidth() {
        return VectorInt8Gemm.panelWidth();
    }

    /** Lazy holder: the choice runs, and logs, the first time a kernel is asked for. */
    private static final class Holder {
        static final FloatGemm GEMM;
        static final Int8Gemm INT8;
        static final boolean VECTOR;
        static final int VECTOR_PANEL_WIDTH;
        static final String DESCRIPTION;

        static {
            String property = System.getProperty(PROPERTY);
            Choice choice = choose(property, vectorModulePresent());
            System.Logger log = System.getLogger(Kernels.class.getName());
            String unknown = property == null || property.isBlank() || requested(property) != null ? ""
                    : " (ignored unknown " + PROPERTY + "=" + property + "; use jit, vector or scalar)";
            VECTOR = choice == Choice.VECTOR;
            VECTOR_PANEL_WIDTH = VECTOR ? vectorPanelWidth() : PackedInt8Weights.DEFAULT_PANEL_WIDTH;
            GEMM = VECTOR ? newVectorFloatGemm() : new ScalarFloatGemm();
            Int8Gemm jit = null;
            String noJit;
            if (tryJit(property)) {
                try {
                    jit = JitInt8Gemm.create(Parallel.shared());
                    noJit = null;
                } catch (JitInt8Gemm.UnavailableException e) {
                    noJit = e.getMessage();
                }
            } else {
                noJit = PROPERTY + "=" + property.trim();
            }
            INT8 = jit != null ? jit : VECTOR ? newVectorInt8Gemm() : new ScalarInt8Gemm();
            String fp32 = switch (choice) {
                case VECTOR -> GEMM.toString();
                case SCALAR_BY_PROPERTY -> "scalar (" + PROPERTY + "=scalar)";
                case SCALAR_NO_MODULE -> "scalar (module " + VECTOR_MODULE + " not present)";
            };
            String int8 = INT8 + (noJit == null ? "" : "; not generated code: " + noJit);
            String noAmx = JitInt8Gemm.amxRefusal();
            if (INT8 instanceof JitInt8Gemm && noAmx != null) {
                int8 += "; AMX not used: " + noAmx;
            }
            DESCRIPTION = "FP32 GEMM: " + fp32 + "; INT8 GEMM: " + int8;
            if (choice == Choice.SCALAR_NO_MODULE) {
                log.log(Level.WARNING, "Graft kernels: " + VECTOR_MODULE + " is not present, falling back to the"
                        + " slower scalar kernels; run the JVM with --add-modules " + VECTOR_MODULE + unknown
                        + " [" + DESCRIPTION + "]");
            } else {
                // A value the user set and Graft ignores is worth a warning, which a quiet CLI still shows.
                log.log(unknown.isEmpty() ? Level.INFO : Level.WARNING, "Graft kernels: " + DESCRIPTION + unknown);
            }
        }
    }
}
