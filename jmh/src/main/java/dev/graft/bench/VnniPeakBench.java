package dev.graft.bench;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.invoke.MethodHandle;
import java.util.concurrent.TimeUnit;

import dev.graft.kernels.x86.ExecutableMemory;
import dev.graft.kernels.x86.Gpr;
import dev.graft.kernels.x86.Label;
import dev.graft.kernels.x86.NativeCode;
import dev.graft.kernels.x86.Vec;
import dev.graft.kernels.x86.X86Assembler;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The {@code vpdpbusd} ceiling of one core: generated code running 24 independent accumulator chains on registers,
 * no memory traffic (the INT8 counterpart of {@link FmaPeakBench}). The generated GEMM rows of {@link KernelBench}
 * are read against it. GOP/s = calls/s x {@link #OPS_PER_CALL} / 1e9 (64 multiply-adds per instruction).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class VnniPeakBench {

    private static final long STEPS = 100_000;
    private static final int CHAINS = 24;
    /** 24 chains x STEPS x 64 multiply-adds x 2. */
    public static final long OPS_PER_CALL = CHAINS * STEPS * 64 * 2;

    private MethodHandle chains;

    @Setup(Level.Trial)
    public void setUp() throws ExecutableMemory.UnavailableException {
        X86Assembler a = new X86Assembler();
        for (int i = 0; i < CHAINS; i++) {
            a.vpxord(Vec.zmm(i), Vec.zmm(i), Vec.zmm(i));
        }
        Label loop = new Label();
        a.bind(loop);
        for (int i = 0; i < CHAINS; i++) {
            a.vpdpbusd(Vec.zmm(i), Vec.zmm(28), Vec.zmm(29));
        }
        a.dec(Gpr.RDI);
        a.j(X86Assembler.Cond.NE, loop);
        a.vzeroupper();
        a.ret();
        chains = NativeCode.install("vpdpbusd chains", a).handle(FunctionDescriptor.ofVoid(JAVA_LONG), false);
    }

    @Benchmark
    public void vpdpbusdChains() throws Throwable {
        chains.invokeExact(STEPS);
    }
}
