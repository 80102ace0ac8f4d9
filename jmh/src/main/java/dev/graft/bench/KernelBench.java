package dev.graft.bench;

import java.util.Random;
import java.util.concurrent.TimeUnit;

import dev.graft.kernels.Conv2dKernels;
import dev.graft.kernels.FloatGemm;
import dev.graft.kernels.Int8Conv2d;
import dev.graft.kernels.Int8Gemm;
import dev.graft.kernels.Int8Output;
import dev.graft.kernels.JitInt8Gemm;
import dev.graft.kernels.PackedConvWeights;
import dev.graft.kernels.PackedFloatWeights;
import dev.graft.kernels.PackedInt8Weights;
import dev.graft.kernels.Parallel;
import dev.graft.kernels.VectorFloatGemm;
import dev.graft.kernels.VectorInt8Gemm;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * FP32 beside INT8 on the shapes, 1 or 2 threads. Scores are calls per second; {@link #ops(String)} gives
 * the multiply-add count (x2 = FLOP or OP) per call, from which {@link KernelBenchMain} prints GFLOP/s and GOP/s.
 *
 * <p>Linear shapes are {@code MxKxN} with a {@code [N][K]} weight, the layout of a linear layer: FP32 reads it as a
 * pre-packed {@link PackedFloatWeights} with the bias fused (the unpacked GEMV loop for one row), INT8 from
 * {@link PackedInt8Weights} packed once at conversion, requantizing to u8. Both are packed once, so neither pays
 * for packing weights per call.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-XX:+UseParallelGC",
        "--enable-native-access=ALL-UNNAMED"})
public class KernelBench {

    @Param({"linear:128x768x768", "linear:128x768x3072", "linear:1x768x3072", "linear:512x512x512",
            "conv3x3:1x64x56x56", "dw3x3:1x116x52x52", "minilm:128"})
    public String shape;

    /**
     * {@code fp32}, {@code int8} (the Vector API kernel), {@code jit} (the generated kernel this JVM selects: AMX
     * where the CPU has it, else VNNI) or {@code jit-vnni} (the generated AVX-512 VNNI kernel, forced).
     */
    @Param({"fp32", "int8", "jit", "jit-vnni"})
    public String precision;

    @Param({"1", "2"})
    public int threads;

    private Parallel pool;
    private Runnable call;

    /** Multiply-adds per call of {@code shape}. */
    public static long macs(String shape) {
        String[] kind = shape.split(":");
        int[] d = dims(kind[1]);
        return switch (kind[0]) {
            case "linear" -> (long) d[0] * d[1] * d[2];
            case "conv3x3" -> (long) d[0] * d[1] * d[1] * 9 * d[2] * d[3];
            case "dw3x3" -> (long) d[0] * d[1] * 9 * d[2] * d[3];
            case "minilm" -> MiniLm.macs(d[0]);
            default -> throw new IllegalArgumentException(shape);
        };
    }

    static int[] dims(String s) {
        String[] parts = s.split("x");
        int[] d = new int[parts.length];
        for (int i = 0; i < d.length; i++) {
            d[i] = Integer.parseInt(parts[i]);
        }
        return d;
    }

    @Setup(Level.Trial)
    public void setUp() {
        pool = new Parallel(threads);
        FloatGemm fp32 = new VectorFloatGemm(pool);
        Int8Gemm int8 = int8Gemm(precision, pool);
        boolean q = !precision.equals("fp32");
        Random r = new Random(7);
        String[] kind = shape.split(":");
        int[] d = dims(kind[1]);
        call = switch (kind[0]) {
            case "linear" -> q ? int8Linear(int8, d[0], d[1], d[2], r) : fp32Linear(fp32, d[0], d[1], d[2], r);
            case "conv3x3" -> conv(fp32, int8, q, d, d[1], 1, r);
            case "dw3x3" -> conv(fp32, int8, q, d, d[1], d[1], r);
            case "minilm" -> new MiniLm(d[0], q, fp32, int8, r)::run;
            default -> throw new IllegalArgumentException(shape);
        };
    }

    /** The INT8 GEMM a precision names: the generated kernel for {@code jit} / {@code jit-vnni}, else the Vector API one. */
    static Int8Gemm int8Gemm(String precision, Parallel pool) {
        if (precision.endsWith("jit") || precision.endsWith("jit-vnni")) {
            try {
                return precision.endsWith("jit-vnni") ? JitInt8Gemm.create(pool, JitInt8Gemm.Isa.AVX512_VNNI)
                        : JitInt8Gemm.create(pool);
            } catch (JitInt8Gemm.UnavailableException e) {
                throw new IllegalStateException("the generated INT8 kernels cannot run here: " + e.getMessage(), e);
            }
        }
        return new VectorInt8Gemm(pool);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
    }

    @Benchmark
    public void run() {
        call.run();
    }

    /**
     * FP32 linear as a prepared model runs it: weights packed once ({@link PackedFloatWeights}) with the bias fused,
     * except for {@code m <= 4}, where the unpacked GEMV loop reading the {@code [N][K]} weight directly is faster.
     */
    static Runnable fp32Linear(FloatGemm g, int m, int k, int n, Random r) {
        float[] x = floats(m * k, r);
        float[] w = floats(n * k, r);
        float[] bias = floats(n, r);
        float[] y = new float[m * n];
        if (m <= 4) {
            return () -> g.gemm(m, n, k, x, 0, k, 1, w, 0, 1, k, y, 0, n, false);
        }
        PackedFloatWeights packed = PackedFloatWeights.pack(w, 0, n, k);
        VectorFloatGemm vg = (VectorFloatGemm) g;
        return () -> vg.linear(m, x, 0, k, packed, bias, false, y, 0, n);
    }

    static Runnable int8Linear(Int8Gemm g, int m, int k, int n, Random r) {
        byte[] x = bytes(m * k, r);
        PackedInt8Weights w = PackedInt8Weights.pack(bytes(n * k, r), 0, n, k, scales(n, r), null, g);
        float[] bias = floats(n, r);
        byte[] y = new byte[m * n];
        Int8Output out = new Int8Output.Requantize(0.02f, bias, 0.05f, 128, false, y, 0, n);
        return () -> g.gemm(m, x, 0, k, 120, w, out);
    }

    static Runnable conv(FloatGemm fp32, Int8Gemm int8, boolean q, int[] d, int oc, int groups, Random r) {
        int n = d[0], c = d[1], h = d[2], w = d[3];
        int cpg = c / groups;
        if (!q) {
            float[] x = floats(n * c * h * w, r);
            float[] wt = floats(oc * cpg * 9, r);
            float[] bias = floats(oc, r);
            float[] out = new float[n * oc * h * w];
            return () -> Conv2dKernels.conv2d(x, n, c, h, w, wt, bias, oc, 3, 3, 1, 1, 1, 1, 1, 1, groups, out, fp32);
        }
        var x = new Int8Conv2d.Activation(bytes(n * c * h * w, r), n, c, h, w, 0.02f, 100);
        PackedConvWeights wt = PackedConvWeights.pack(bytes(oc * cpg * 9, r), oc, cpg, 3, 3, groups, scales(oc, r),
                null, int8);
        float[] bias = floats(oc, r);
        byte[] out = new byte[n * oc * h * w];
        var geo = Int8Conv2d.Geometry.of(1, 1, 1);
        var rq = new Int8Conv2d.Requant(0.05f, 128, true);
        return () -> Int8Conv2d.conv2d(x, wt, bias, geo, rq, out, int8);
    }

    static float[] floats(int len, Random r) {
        float[] v = new float[len];
        for (int i = 0; i < len; i++) {
            v[i] = r.nextFloat() * 2 - 1;
        }
        return v;
    }

    static byte[] bytes(int len, Random r) {
        byte[] v = new byte[len];
        r.nextBytes(v);
        return v;
    }

    static float[] scales(int n, Random r) {
        float[] s = new float[n];
        for (int i = 0; i < n; i++) {
            s[i] = 0.001f + r.nextFloat() * 0.01f;
        }
        return s;
    }
}
