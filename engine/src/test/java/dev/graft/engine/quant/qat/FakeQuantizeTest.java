package dev.graft.engine.quant.qat;

import dev.graft.engine.quant.QConfig;
import dev.graft.engine.quant.QDType;
import dev.graft.engine.quant.QScheme;
import dev.graft.engine.quant.QuantizationParams;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

class FakeQuantizeTest {

    private static FakeQuantize activation() {
        return (FakeQuantize) QConfig.qatDefault().createActivation();
    }

    @Test
    void observesThenFakeQuantizesWithTheObserversRange() {
        FakeQuantize fq = activation();
        Tensor x = Tensor.of(new float[] {-1f, 0f, 0.3f, 1f}, 4);
        Tensor y = fq.call(x);
        QuantizationParams p = fq.calculateQParams();
        // One range for QAT and conversion: [0, 127] (reduce_range), not PyTorch's fake-quant [0, 255].
        assertEquals(0, p.qmin());
        assertEquals(127, p.qmax());
        assertArrayEquals(p.quantize(x).dequantize().toFloatArray(), y.toFloatArray());
        assertEquals(1, fq.observedCount());
    }

    @Test
    void switchesAreIndependent() {
        FakeQuantize fq = activation();
        Tensor a = Tensor.of(new float[] {-1f, 1f}, 2);
        fq.call(a);
        QuantizationParams frozen = fq.calculateQParams();
        fq.enableObserver(false);
        Tensor wide = Tensor.of(new float[] {-10f, 10f}, 2);
        Tensor y = fq.call(wide);
        assertEquals(1, fq.observedCount());
        assertEquals(frozen, fq.calculateQParams());
        assertArrayEquals(frozen.fakeQuantize(wide).toFloatArray(), y.toFloatArray());
        fq.enableFakeQuant(false).enableObserver(true);
        assertSame(wide, fq.call(wide));
        assertEquals(2, fq.observedCount());
    }

    @Test
    void straightThroughGradientIsMaskedOutsideTheRange() {
        QuantizationParams p = new QuantizationParams(new float[] {0.5f}, new int[] {2}, 0, 127, QDType.QUINT8,
                QScheme.PER_TENSOR_AFFINE, -1);
        Tensor x = Tensor.of(new float[] {-1.5f, -1f, 0f, 62.5f, 63f, Float.NaN}, 6);
        Tensor g = Tensor.of(new float[] {1f, 2f, 3f, 4f, 5f, 6f}, 6);
        assertArrayEquals(new float[] {0f, 2f, 3f, 4f, 0f, 0f},
                FakeQuantize.fakeQuantizeBackward(x, g, p).toFloatArray());
        FakeQuantize off = activation().enableFakeQuant(false);
        assertSame(g, off.backward(x, g));
    }

    @Test
    void weightFakeQuantIsPerChannel() {
        FakeQuantize w = (FakeQuantize) QConfig.qatDefault().createWeight();
        Tensor weight = Tensor.of(new float[] {1f, -2f, 0.5f, 0.25f}, 2, 2);
        Tensor y = w.call(weight);
        QuantizationParams p = w.calculateQParams();
        assertEquals(2, p.channels());
        assertEquals(-128, p.qmin());
        assertArrayEquals(p.fakeQuantize(weight).toFloatArray(), y.toFloatArray());
    }
}
