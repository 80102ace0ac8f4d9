package dev.graft.engine.quant.qat;

import dev.graft.engine.quant.QConfig;
import dev.graft.engine.quant.QDType;
import dev.graft.engine.quant.QScheme;
import dev.graft.engine.quant.QuantSpec;
import dev.graft.ops.QParams;
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
        QParams p = fq.calculateQParams();
        // One range for QAT and conversion: [0, 127] (reduce_range), not PyTorch's fake-quant [0, 255].
        assertEquals(0, fq.spec().quantMin());
        assertEquals(127, fq.spec().quantMax());
        assertArrayEquals(fq.spec().quantize(x, p).dequantize().toFloatArray(), y.toFloatArray());
        assertEquals(1, fq.observedCount());
    }

    @Test
    void switchesAreIndependent() {
        FakeQuantize fq = activation();
        Tensor a = Tensor.of(new float[] {-1f, 1f}, 2);
        fq.call(a);
        QParams frozen = fq.calculateQParams();
        fq.enableObserver(false);
        Tensor wide = Tensor.of(new float[] {-10f, 10f}, 2);
        Tensor y = fq.call(wide);
        assertEquals(1, fq.observedCount());
        assertEquals(frozen, fq.calculateQParams());
        assertArrayEquals(fq.spec().fakeQuantize(wide, frozen).toFloatArray(), y.toFloatArray());
        fq.enableFakeQuant(false).enableObserver(true);
        assertSame(wide, fq.call(wide));
        assertEquals(2, fq.observedCount());
    }

    @Test
    void straightThroughGradientIsMaskedOutsideTheRange() {
        QParams p = new QParams.PerTensor(0.5f, 2);
        QuantSpec spec = QuantSpec.ofRange(QDType.QUINT8, QScheme.PER_TENSOR_AFFINE, false, 0, 127);
        Tensor x = Tensor.of(new float[] {-1.5f, -1f, 0f, 62.5f, 63f, Float.NaN}, 6);
        Tensor g = Tensor.of(new float[] {1f, 2f, 3f, 4f, 5f, 6f}, 6);
        assertArrayEquals(new float[] {0f, 2f, 3f, 4f, 0f, 0f},
                spec.fakeQuantizeBackward(x, g, p).toFloatArray());
        FakeQuantize off = activation().enableFakeQuant(false);
        assertSame(g, off.backward(x, g));
    }

    @Test
    void weightFakeQuantIsPerChannel() {
        FakeQuantize w = (FakeQuantize) QConfig.qatDefault().createWeight();
        Tensor weight = Tensor.of(new float[] {1f, -2f, 0.5f, 0.25f}, 2, 2);
        Tensor y = w.call(weight);
        QParams.PerChannel p = (QParams.PerChannel) w.calculateQParams();
        assertEquals(2, p.channels());
        assertEquals(-128, w.spec().quantMin());
        assertArrayEquals(w.spec().fakeQuantize(weight, p).toFloatArray(), y.toFloatArray());
    }
}
