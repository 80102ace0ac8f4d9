package dev.graft.engine.quant.nn;

import dev.graft.engine.LeafModule;
import dev.graft.engine.Module;
import dev.graft.ops.DType;
import dev.graft.ops.QParams;
import dev.graft.ops.QuantOps;
import dev.graft.ops.QuantizedOps;
import dev.graft.ops.Tensor;

/**
 * An elementwise activation on quint8 activations as an exact 256-entry lookup table (GELU, LeakyReLU,
 * sigmoid). A quint8 input takes only 256 values, so
 * {@code table[q] = quantize(f(dequantize(q, in)), out)}, computed with the FP32 operator itself, is the FP32 round
 * trip (dequantize, float f, quantize) with nothing lost: {@link #fp32Boundary} bit for bit, at one byte load per
 * element. The table is computed once per input qparams (a converted graph's are fixed) and cached.
 */
public abstract class QuantizedLookupActivation extends Module implements LeafModule {
    private final float outputScale;
    private final int outputZeroPoint;
    private volatile Lut lut;

    private record Lut(QParams.PerTensor input, byte[] table) {
    }

    protected QuantizedLookupActivation(float outputScale, int outputZeroPoint) {
        QuantizedWeights.checkOutput(getClass().getSimpleName(), outputScale, outputZeroPoint);
        this.outputScale = outputScale;
        this.outputZeroPoint = outputZeroPoint;
    }

    /** The FP32 activation the table tabulates. */
    protected abstract Tensor applyFloat(Tensor x);

    @Override
    protected Tensor forward(Tensor... inputs) {
        Tensor x = single(inputs);
        QParams.PerTensor qx = QuantizedOps.requireQuint8(getClass().getSimpleName(), x, "input");
        byte[] table = table(qx);
        byte[] in = QuantizedOps.bytesOf(x);
        byte[] out = new byte[in.length];
        for (int i = 0; i < in.length; i++) {
            out[i] = table[in[i] & 0xFF];
        }
        return QuantizedOps.wrapQuint8(out, x.shape(), new QParams.PerTensor(outputScale, outputZeroPoint));
    }

    /** The 256-entry table for inputs with qparams {@code input} (cached; the array must not be modified). */
    public byte[] table(QParams.PerTensor input) {
        Lut current = lut;
        if (current != null && current.input().equals(input)) {
            return current.table();
        }
        float[] real = new float[256];
        for (int q = 0; q < 256; q++) {
            real[q] = QuantOps.dequantize(q, input.scale(), input.zeroPoint());
        }
        float[] y = applyFloat(Tensor.wrap(real, 256)).toFloatArray();
        byte[] table = new byte[256];
        for (int q = 0; q < 256; q++) {
            table[q] = (byte) QuantOps.quantize(y[q], outputScale, outputZeroPoint, 0, 255);
        }
        lut = new Lut(input, table);
        return table;
    }

    /** The FP32 boundary the table replaces: dequantize, float activation, quantize (for tests and benchmarks). */
    public Tensor fp32Boundary(Tensor x) {
        return applyFloat(x.dequantize()).quantize(outputScale, outputZeroPoint, DType.UINT8);
    }

    public float outputScale() {
        return outputScale;
    }

    public int outputZeroPoint() {
        return outputZeroPoint;
    }

    @Override
    protected String extraRepr() {
        return "scale=" + outputScale + ", zero_point=" + outputZeroPoint + ", lut=256";
    }
}
