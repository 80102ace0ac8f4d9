package dev.graft.kernels;

import java.util.Objects;

/**
 * Quantized elementwise add (PyTorch {@code quantized::add} / {@code add_relu}, quint8), as fbgemm computes it:
 * <pre>
 *   c = float(sA) * (a - zA) + float(sB) * (b - zB)        (float32: two products, one sum)
 *   c = max(c, 0)                                          (add_relu only)
 *   q = clamp(zOut + rint(c * (1 / float(sOut))), 0, 255)  (1/sOut rounded to float once)
 * </pre>
 * Golden case k_21 pins it. {@link #add} uses the vector kernel when available; {@link #addReference} is the
 * scalar reference.
 */
public final class QuantizedAdd {

    private QuantizedAdd() {
    }

    /** Quantization of one operand or the output. */
    public record QParams(float scale, int zeroPoint) {
    }

    /** {@code out[outOff + i] = add(a[aOff + i], b[bOff + i])} for {@code i < len}. */
    public static void add(byte[] a, int aOff, QParams qa, byte[] b, int bOff, QParams qb, QParams qo, boolean relu,
                           byte[] out, int outOff, int len) {
        check(a, aOff, b, bOff, out, outOff, len);
        if (Kernels.vectorKernels()) {
            VectorQuantizedAdd.add(a, aOff, qa, b, bOff, qb, qo, relu, out, outOff, len);
        } else {
            addReference(a, aOff, qa, b, bOff, qb, qo, relu, out, outOff, len);
        }
    }

    /** Scalar reference of {@link #add}. */
    public static void addReference(byte[] a, int aOff, QParams qa, byte[] b, int bOff, QParams qb, QParams qo,
                                    boolean relu, byte[] out, int outOff, int len) {
        check(a, aOff, b, bOff, out, outOff, len);
        float inverse = 1f / qo.scale();
        for (int i = 0; i < len; i++) {
            out[outOff + i] = (byte) one(a[aOff + i] & 0xFF, qa, b[bOff + i] & 0xFF, qb, inverse, qo.zeroPoint(),
                    relu);
        }
    }

    static int one(int a, QParams qa, int b, QParams qb, float inverseOut, int zo, boolean relu) {
        float c = qa.scale() * (float) (a - qa.zeroPoint()) + qb.scale() * (float) (b - qb.zeroPoint());
        if (relu) {
            c = Math.max(c, 0f);
        }
        long q = zo + (long) Math.rint(c * inverseOut);
        return (int) Math.max(0, Math.min(255, q));
    }

    /** {@code torch.relu} on a quint8 tensor: the qparams stay, {@code q = max(q, zeroPoint)}. */
    public static void relu(byte[] x, int off, int len, int zeroPoint, byte[] out, int outOff) {
        Objects.checkFromIndexSize(off, len, x.length);
        Objects.checkFromIndexSize(outOff, len, out.length);
        for (int i = 0; i < len; i++) {
            out[outOff + i] = (byte) Math.max(x[off + i] & 0xFF, zeroPoint);
        }
    }

    private static void check(byte[] a, int aOff, byte[] b, int bOff, byte[] out, int outOff, int len) {
        Objects.checkFromIndexSize(aOff, len, a.length);
        Objects.checkFromIndexSize(bOff, len, b.length);
        Objects.checkFromIndexSize(outOff, len, out.length);
    }
}
