package dev.graft.kernels;

import java.lang.System.Logger.Level;

/**
 * Start-up choice of kernel implementations: the Vector API versions when they can run, the scalar references
 * otherwise.
 *
 * <p>The vector kernels are chosen when the {@code jdk.incubator.vector} module is in the boot layer (the JVM was
 * started with {@code --add-modules jdk.incubator.vector}, or this module sits on the module path) and the system
 * property {@code graft.kernels} is not {@code scalar}. The choice is made once, on first use, and reported in
 * exactly one log line through {@link System.Logger}: INFO naming the implementation and vector width, or WARNING
 * with the fix when the module is missing.
 *
 * <p>Classes that touch {@code jdk.incubator.vector} are loaded only after the module was found, so on a JVM
 * without the flag this class, and the scalar kernels, work normally.
 */
public final class Kernels {

    /** System property that forces the scalar kernels when set to {@code scalar}. */
    public static final String PROPERTY = "graft.kernels";

    static final String VECTOR_MODULE = "jdk.incubator.vector";

    private Kernels() {
    }

    /** The FP32 GEMM chosen at start-up; stateless and thread-safe, so it may be shared. */
    public static FloatGemm floatGemm() {
        return Holder.GEMM;
    }

    /** The INT8 GEMM chosen at start-up (same choice as {@link #floatGemm()}); stateless and thread-safe. */
    public static Int8Gemm int8Gemm() {
        return Holder.INT8;
    }

    /** Panel width {@link PackedInt8Weights#pack} uses: the vector kernel's, or a fixed width for the scalar one. */
    static int int8PanelWidth() {
        return Holder.INT8 instanceof ScalarInt8Gemm ? PackedInt8Weights.DEFAULT_PANEL_WIDTH
                : Holder.INT8_PANEL_WIDTH;
    }

    /** True when the Vector API kernels were chosen at start-up (callers use it to pick vector helpers). */
    static boolean vectorKernels() {
        return !(Holder.INT8 instanceof ScalarInt8Gemm);
    }

    /** One line for humans (the CLI prints it), e.g. {@code FP32 GEMM: vector (512-bit FloatVector, ...)}. */
    public static String description() {
        return Holder.DESCRIPTION;
    }

    /** What was chosen, and why when it is not the vector kernels. */
    enum Choice { VECTOR, SCALAR_BY_PROPERTY, SCALAR_NO_MODULE }

    /** The decision alone, separate from instantiation and logging so tests can cover every case. */
    static Choice choose(String property, boolean vectorModulePresent) {
        if (property != null && property.trim().equalsIgnoreCase("scalar")) {
            return Choice.SCALAR_BY_PROPERTY;
        }
        return vectorModulePresent ? Choice.VECTOR : Choice.SCALAR_NO_MODULE;
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
        static final int INT8_PANEL_WIDTH;
        static final String DESCRIPTION;

        static {
            String property = System.getProperty(PROPERTY);
            Choice choice = choose(property, vectorModulePresent());
            System.Logger log = System.getLogger(Kernels.class.getName());
            String unknown = property == null || property.isBlank()
                    || property.trim().equalsIgnoreCase("scalar") || property.trim().equalsIgnoreCase("vector")
                    ? "" : " (ignored unknown " + PROPERTY + "=" + property + "; use scalar or vector)";
            switch (choice) {
                case VECTOR -> {
                    GEMM = newVectorFloatGemm();
                    INT8 = newVectorInt8Gemm();
                    INT8_PANEL_WIDTH = vectorPanelWidth();
                    DESCRIPTION = "FP32 GEMM: " + GEMM + "; INT8 GEMM: " + INT8;
                    log.log(Level.INFO, "Graft kernels: " + DESCRIPTION + unknown);
                }
                case SCALAR_BY_PROPERTY -> {
                    GEMM = new ScalarFloatGemm();
                    INT8 = new ScalarInt8Gemm();
                    INT8_PANEL_WIDTH = PackedInt8Weights.DEFAULT_PANEL_WIDTH;
                    DESCRIPTION = "FP32 GEMM: scalar (" + PROPERTY + "=scalar); INT8 GEMM: scalar";
                    log.log(Level.INFO, "Graft kernels: " + DESCRIPTION);
                }
                default -> {
                    GEMM = new ScalarFloatGemm();
                    INT8 = new ScalarInt8Gemm();
                    INT8_PANEL_WIDTH = PackedInt8Weights.DEFAULT_PANEL_WIDTH;
                    DESCRIPTION = "FP32 GEMM: scalar (module " + VECTOR_MODULE + " not present); INT8 GEMM: scalar";
                    log.log(Level.WARNING, "Graft kernels: " + VECTOR_MODULE + " is not present, falling back to the"
                            + " slower scalar kernels; run the JVM with --add-modules " + VECTOR_MODULE + unknown);
                }
            }
        }
    }
}
