package dev.graft.engine.quant.nn;

import dev.graft.engine.LeafModule;
import dev.graft.engine.Module;
import dev.graft.ops.DType;
import dev.graft.ops.F;
import dev.graft.ops.QParams;
import dev.graft.ops.QuantOps;
import dev.graft.ops.QuantizedOps;
import dev.graft.ops.Tensor;

import java.util.Arrays;

/**
 * Softmax on quint8 activations, quint8 out. Softmax is not elementwise, so no 256-entry table gives the answer;
 * but its numerators are: with {@code m} the row's largest integer, {@code exp(s*(q - zp) - s*(m - zp))} depends on
 * {@code d = m - q} alone, one of 256 values. Two ways:
 * <ul>
 *   <li>{@link Mode#FP32}: dequantize, Graft's float {@link F#softmax}, quantize: the FP32 path bit for bit
 *       (the default);</li>
 *   <li>{@link Mode#EXP_TABLE}: {@code e[d] = exp(-s*d)} from a table per input scale (in double, rounded to
 *       float), the row sum in double, {@code q = quantize(e / sum)}: no exp per element, and no error beyond the
 *       final rounding's but not bit-identical to the FP32 path (a different float rounding of the exponent).</li>
 * </ul>
 * Default output qparams are PyTorch's fixed ones for softmax: scale 1/256, zero point 0.
 */
public final class QuantizedSoftmax extends Module implements LeafModule {

    /** How the exponentials are computed. */
    public enum Mode { FP32, EXP_TABLE }

    /** PyTorch's fixed output scale for softmax ({@code default_fixed_qparams_range_0to1}). */
    public static final float DEFAULT_OUTPUT_SCALE = 1f / 256f;

    private final int dim;
    private final float outputScale;
    private final int outputZeroPoint;
    private final Mode mode;
    private volatile ExpTable expTable;

    private record ExpTable(float scale, double[] exp) {
    }

    /** Softmax over {@code dim}, output qparams 1/256 and 0, FP32 mode. */
    public QuantizedSoftmax(int dim) {
        this(dim, DEFAULT_OUTPUT_SCALE, 0, Mode.FP32);
    }

    public QuantizedSoftmax(int dim, float outputScale, int outputZeroPoint, Mode mode) {
        QuantizedWeights.checkOutput("QuantizedSoftmax", outputScale, outputZeroPoint);
        this.dim = dim;
        this.outputScale = outputScale;
        this.outputZeroPoint = outputZeroPoint;
        this.mode = mode;
    }

    @Override
    protected Tensor forward(Tensor... inputs) {
        Tensor x = single(inputs);
        QParams.PerTensor qx = QuantizedOps.requireQuint8("QuantizedSoftmax", x, "input");
        if (mode == Mode.FP32) {
            return F.softmax(x.dequantize(), dim).quantize(outputScale, outputZeroPoint, DType.UINT8);
        }
        return withExpTable(x, qx);
    }

    private Tensor withExpTable(Tensor x, QParams.PerTensor qx) {
        int[] shape = x.shape();
        int d = dim < 0 ? dim + shape.length : dim;
        if (d < 0 || d >= shape.length) {
            throw new IllegalArgumentException("QuantizedSoftmax: dim " + dim + " out of range for shape "
                    + Arrays.toString(shape));
        }
        double[] e = table(qx.scale());
        int len = shape[d];
        int inner = 1;
        for (int i = d + 1; i < shape.length; i++) {
            inner *= shape[i];
        }
        int outer = len == 0 || inner == 0 ? 0 : x.numel() / (len * inner);
        byte[] in = QuantizedOps.bytesOf(x);
        byte[] out = new byte[in.length];
        double[] row = new double[len];
        for (int o = 0; o < outer; o++) {
            for (int j = 0; j < inner; j++) {
                int base = o * len * inner + j;
                int max = 0;
                for (int i = 0; i < len; i++) {
                    max = Math.max(max, in[base + i * inner] & 0xFF);
                }
                double sum = 0;
                for (int i = 0; i < len; i++) {
                    row[i] = e[max - (in[base + i * inner] & 0xFF)];
                    sum += row[i];
                }
                for (int i = 0; i < len; i++) {
                    out[base + i * inner] = (byte) QuantOps.quantize((float) (row[i] / sum), outputScale,
                            outputZeroPoint, 0, 255);
                }
            }
        }
        return QuantizedOps.wrapQuint8(out, shape, new QParams.PerTensor(outputScale, outputZeroPoint));
    }

    /** {@code exp(-scale * d)} for {@code d = 0..255}, float-rounded, per input scale (cached). */
    double[] table(float scale) {
        ExpTable t = expTable;
        if (t != null && t.scale() == scale) {
            return t.exp();
        }
        double[] e = new double[256];
        for (int d = 0; d < 256; d++) {
            e[d] = (float) Math.exp(-(double) scale * d);
        }
        expTable = new ExpTable(scale, e);
        return e;
    }

    public int dim() {
        return dim;
    }

    public Mode mode() {
        return mode;
    }

    public float outputScale() {
        return outputScale;
    }

    public int outputZeroPoint() {
        return outputZeroPoint;
    }

    @Override
    protected String extraRepr() {
        return "dim=" + dim + ", scale=" + outputScale + ", zero_point=" + outputZeroPoint + ", mode="
                + mode.name().toLowerCase(java.util.Locale.ROOT);
    }
}
