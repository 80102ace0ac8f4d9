package dev.graft.bench;

import java.util.concurrent.TimeUnit;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The FP32 FMA ceiling of one core as the Vector API reaches it: twelve independent FMA chains on registers, no
 * memory traffic. The GEMM rows of {@link KernelBench} are read against it ("the Java ceiling").
 * GFLOP/s = calls/s x {@link #FLOPS_PER_CALL} / 1e9.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector"})
public class FmaPeakBench {

    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final int STEPS = 100_000;
    /** 12 chains x STEPS x lanes x 2 flops. */
    public static final long FLOPS_PER_CALL = 12L * STEPS * SPECIES.length() * 2;

    public float a = 1.0000001f;
    public float b = 0.9999999f;

    @Benchmark
    public float fmaChains() {
        FloatVector va = FloatVector.broadcast(SPECIES, a);
        FloatVector vb = FloatVector.broadcast(SPECIES, b);
        FloatVector c0 = FloatVector.zero(SPECIES), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
        FloatVector c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
        for (int i = 0; i < STEPS; i++) {
            c0 = va.fma(c0, vb);
            c1 = va.fma(c1, vb);
            c2 = va.fma(c2, vb);
            c3 = va.fma(c3, vb);
            c4 = va.fma(c4, vb);
            c5 = va.fma(c5, vb);
            c6 = va.fma(c6, vb);
            c7 = va.fma(c7, vb);
            c8 = va.fma(c8, vb);
            c9 = va.fma(c9, vb);
            c10 = va.fma(c10, vb);
            c11 = va.fma(c11, vb);
        }
        return c0.add(c1).add(c2).add(c3).add(c4).add(c5).add(c6).add(c7).add(c8).add(c9).add(c10).add(c11)
                .reduceLanes(VectorOperators.ADD);
    }
}
