package dev.graft.bench;

import java.util.Random;
import java.util.concurrent.TimeUnit;

import dev.graft.kernels.FloatGemm;
import dev.graft.kernels.ScalarFloatGemm;
import dev.graft.kernels.VectorFloatGemm;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Scalar vs Vector API FP32 GEMM, {@code C[M][N] = A[M][K] x B[K][N]}, all row-major, single thread.
 * The shapes are BERT-base's: 128 tokens through a 768x768 projection and the 768x3072 feed-forward layer, and the
 * same layer for a single token (a memory-bound matrix-vector product).
 *
 * <p>Scores are GEMM calls per second; GFLOP/s = score * 2*M*K*N / 1e9 (e.g. 128x768x3072: score * 0.604).
 * Run: {@code java -jar jmh/target/graft-benchmarks.jar FloatGemmBench}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-XX:+UseParallelGC"})
public class FloatGemmBench {

    /** {@code MxKxN}. */
    @Param({"128x768x768", "128x768x3072", "1x768x3072"})
    public String shape;

    @Param({"scalar", "vector"})
    public String impl;

    private FloatGemm gemm;
    private int m;
    private int k;
    private int n;
    private float[] a;
    private float[] b;
    private float[] c;

    @Setup
    public void setUp() {
        String[] dims = shape.split("x");
        m = Integer.parseInt(dims[0]);
        k = Integer.parseInt(dims[1]);
        n = Integer.parseInt(dims[2]);
        gemm = switch (impl) {
            case "scalar" -> new ScalarFloatGemm();
            case "vector" -> new VectorFloatGemm();
            default -> throw new IllegalArgumentException("impl must be scalar or vector, got " + impl);
        };
        Random random = new Random(7);
        a = randomArray(m * k, random);
        b = randomArray(k * n, random);
        c = new float[m * n];
    }

    @Benchmark
    public float[] gemm() {
        gemm.gemm(m, n, k, a, 0, k, 1, b, 0, n, 1, c, 0, n, false);
        return c;
    }

    private static float[] randomArray(int length, Random random) {
        float[] data = new float[length];
        for (int i = 0; i < length; i++) {
            data[i] = random.nextFloat() * 2 - 1;
        }
        return data;
    }
}
