package dev.graft.engine.quant.nn;

import dev.graft.engine.LeafModule;
import dev.graft.engine.Module;
import dev.graft.ops.DType;
import dev.graft.ops.F;
import dev.graft.ops.QParams;
import dev.graft.ops.QuantOps;
import dev.graft.ops.QuantizedOps;
import dev.graft.ops.Tensor;

/**
 * GELU on quint8 activations as an exact 256-entry lookup table. A quint8 input takes only 256 values, so
 * {@code table[q] = quantize(gelu(dequantize(q, in)), out)} for all of them is the FP32 round trip
 * (dequantize, float GELU, quantize) with nothing lost: the output equals
 * {@link #fp32Boundary} bit for bit, at the cost of one byte load per element instead of an erf. The table is
 * computed once per input qparams (a graph's input qparams are fixed, so in practice once) and cached.
 */
public final class QuantizedGELU extends Module implements LeafModule {

    private final boolean tanhApproximation;
    private final float outputScale;
    private final int outputZeroPoint;
    private volatile Lut lut;

    private record Lut(QParams.PerTensor input, byte[] table) {
    }

    /** Exact (erf) GELU, or the tanh approximation, with the given output qparams. */
    public QuantizedGELU(boolean tanhApproximation, float outputScale, int outputZeroPoint) {
        QuantizedWeights.checkOutput("QuantizedGELU", outputScale, outputZeroPoint);
        this.tanhApproximation = tanhApproximation;
        this.outputScale = outputScale;
        this.outputZeroPoint = outputZeroPoint;
    }

    @Override
    protected Tensor forward(Tensor... inputs) {
        Tensor x = single(inputs);
        QParams.PerTensor qx = QuantizedOps.requireQuint8("QuantizedGELU", x, "input");
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
        Tensor x = Tensor.wrap(real, 256);
        float[] y = (tanhApproximation ? F.geluTanh(x) : F.gelu(x)).toFloatArray();
        byte[] table = new byte[256];
        for (int q = 0; q < 256; q++) {
            table[q] = (byte) QuantOps.quantize(y[q], outputScale, outputZeroPoint, 0, 255);
        }
        lut = new Lut(input, table);
        return table;
    }

    /** The FP32 boundary the table replaces: dequantize, float GELU, quantize (for comparison and benchmarks). */
    public Tensor fp32Boundary(Tensor x) {
        Tensor real = x.dequantize();
        Tensor y = tanhApproximation ? F.geluTanh(real) : F.gelu(real);
        return y.quantize(outputScale, outputZeroPoint, DType.UINT8);
    }

    public boolean tanhApproximation() {
        return tanhApproximation;
    }

    public float outputScale() {
        return outputScale;
    }

    public int outputZeroPoint() {
        return outputZeroPoint;
    }

    @Override
    protected String extraRepr() {
        return (tanhApproximation ? "approximate=tanh, " : "") + "scale=" + outputScale + ", zero_point="
                + outputZeroPoint + ", lut=256";
    }
}
