package dev.graft.kernels;

import java.util.Objects;

/**
 * Elementwise float32 activations over array ranges: {@code erf} and GELU (erf form). {@link #gelu} and {@link #erf}
 * use the Vector API when it was chosen at start-up, {@link FastFloatMath} otherwise; both give bit-identical
 * results (the vector lanes and the scalar tail run the same operations). {@link #geluReference} and
 * {@link #erfReference} are the double-precision references (correctly rounded almost always).
 *
 * <p>Long ranges are split into fixed chunks spread over {@link Parallel#shared()}; every element is computed the
 * same way whichever thread takes its chunk, so results do not depend on the thread count.
 */
public final class Elementwise {

    /** Elements per parallel task: large enough (64 KiB) that a task costs well above the hand-off. */
    static final int CHUNK = 1 << 14;

    private Elementwise() {
    }

    /** {@code out[outOff + i] = gelu(in[inOff + i])} for {@code i < n}, {@code gelu(x) = x/2 (1 + erf(x/sqrt 2))}. */
    public static void gelu(float[] in, int inOff, float[] out, int outOff, int n) {
        check(in, inOff, out, outOff, n);
        boolean vector = Kernels.vectorKernels();
        chunked(n, (start, len) -> {
            if (vector) {
                VectorElementwise.gelu(in, inOff + start, out, outOff + start, len);
            } else {
                for (int i = 0; i < len; i++) {
                    out[outOff + start + i] = FastFloatMath.gelu(in[inOff + start + i]);
                }
            }
        });
    }

    /** {@code out[outOff + i] = erf(in[inOff + i])} for {@code i < n}. */
    public static void erf(float[] in, int inOff, float[] out, int outOff, int n) {
        check(in, inOff, out, outOff, n);
        boolean vector = Kernels.vectorKernels();
        chunked(n, (start, len) -> {
            if (vector) {
                VectorElementwise.erf(in, inOff + start, out, outOff + start, len);
            } else {
                for (int i = 0; i < len; i++) {
                    out[outOff + start + i] = FastFloatMath.erf(in[inOff + start + i]);
                }
            }
        });
    }

    /**
     * Reference of {@link #gelu}: {@code x/2 erfc(-x/sqrt 2)} in double ({@link ScalarMath#erfc}), rounded once. The
     * erfc form keeps relative accuracy for negative x, where {@code 1 + erf} cancels to 0 in double below -8.
     */
    public static void geluReference(float[] in, int inOff, float[] out, int outOff, int n) {
        check(in, inOff, out, outOff, n);
        for (int i = 0; i < n; i++) {
            float x = in[inOff + i];
            out[outOff + i] = (float) (0.5 * x * ScalarMath.erfc(-x * 0.7071067811865476));
        }
    }

    /** Reference of {@link #erf}: {@link ScalarMath#erf(double)} rounded once. */
    public static void erfReference(float[] in, int inOff, float[] out, int outOff, int n) {
        check(in, inOff, out, outOff, n);
        for (int i = 0; i < n; i++) {
            out[outOff + i] = ScalarMath.erf(in[inOff + i]);
        }
    }

    /** A range task: elements {@code [start, start + len)} of the call's range. */
    interface Range {
        void run(int start, int len);
    }

    /** Runs {@code body} over {@code [0, n)} in chunks of {@link #CHUNK}, in parallel when there are several. */
    static void chunked(int n, Range body) {
        int tasks = (n + CHUNK - 1) / CHUNK;
        if (tasks <= 1) {
            body.run(0, n);
            return;
        }
        Parallel.shared().forEach(tasks, t -> {
            int start = t * CHUNK;
            body.run(start, Math.min(CHUNK, n - start));
        });
    }

    private static void check(float[] in, int inOff, float[] out, int outOff, int n) {
        Objects.checkFromIndexSize(inOff, n, in.length);
        Objects.checkFromIndexSize(outOff, n, out.length);
    }
}
