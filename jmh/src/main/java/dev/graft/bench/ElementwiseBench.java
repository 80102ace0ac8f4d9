package dev.graft.bench;

import java.util.Random;
import java.util.concurrent.TimeUnit;

import dev.graft.kernels.Elementwise;
import dev.graft.kernels.Normalization;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * GELU, softmax and layer norm on one MiniLM layer's shapes at 128 tokens: GELU over 128 x 1536, softmax over
 * 12 x 128 rows of 128, layer norm over 128 rows of 384. {@code ...Reference} is the old double-precision scalar
 * code (the ops' path before the kernels), the others the vector kernels. Single-threaded sizes: the element counts
 * stay below one parallel chunk except GELU, so run with {@code -Dgraft.threads=1} for one-thread figures.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Dgraft.threads=1"})
public class ElementwiseBench {

    private final float[] ffn = new float[128 * 1536];
    private final float[] scores = new float[12 * 128 * 128];
    private final float[] hidden = new float[128 * 384];
    private final float[] weight = new float[384];
    private final float[] bias = new float[384];
    private final float[] out = new float[128 * 1536 + 12 * 128 * 128];

    @Setup
    public void setUp() {
        Random r = new Random(1);
        for (float[] a : new float[][] {ffn, scores, hidden, weight, bias}) {
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) (3 * r.nextGaussian());
            }
        }
    }

    @Benchmark
    public float gelu() {
        Elementwise.gelu(ffn, 0, out, 0, ffn.length);
        return out[7];
    }

    @Benchmark
    public float geluReference() {
        Elementwise.geluReference(ffn, 0, out, 0, ffn.length);
        return out[7];
    }

    @Benchmark
    public float softmax() {
        Normalization.softmaxRows(scores, 0, 12 * 128, 128, out, 0);
        return out[7];
    }

    @Benchmark
    public float softmaxReference() {
        Normalization.softmaxRowsReference(scores, 0, 12 * 128, 128, out, 0);
        return out[7];
    }

    @Benchmark
    public float layerNorm() {
        Normalization.layerNormRows(hidden, 0, 128, 384, weight, bias, 1e-12f, out, 0);
        return out[7];
    }

    @Benchmark
    public float layerNormReference() {
        Normalization.layerNormRowsReference(hidden, 0, 128, 384, weight, bias, 1e-12f, out, 0);
        return out[7];
    }
}
