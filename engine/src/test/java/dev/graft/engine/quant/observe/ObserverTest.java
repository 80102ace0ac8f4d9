package dev.graft.engine.quant.observe;

import dev.graft.engine.nn.Linear;
import dev.graft.engine.nn.ReLU;
import dev.graft.engine.nn.Sequential;
import dev.graft.engine.quant.QDType;
import dev.graft.engine.quant.QScheme;
import dev.graft.engine.quant.QuantSpec;
import dev.graft.ops.QParams;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ObserverTest {

    private static final QuantSpec U8 = QuantSpec.of(QDType.QUINT8, QScheme.PER_TENSOR_AFFINE, false);
    private static final QuantSpec S8_CHANNEL = QuantSpec.of(QDType.QINT8, QScheme.PER_CHANNEL_SYMMETRIC, false);

    @Test
    void observerIsAnIdentityModuleInATree() {
        MinMaxObserver obs = new MinMaxObserver(U8);
        Sequential model = new Sequential(new Linear(3, 2, true, new Random(1)), obs, new ReLU());
        Tensor x = Tensor.randn(new Random(2), 4, 3);
        Tensor y = model.call(x);
        assertEquals(1, obs.observedCount());
        Tensor direct = obs.call(x);
        assertSame(x, direct);
        assertTrue(model.describe().contains("MinMaxObserver"));
        assertEquals(2, y.shape()[1]);
    }

    @Test
    void countResetAndUnobservedError() {
        MinMaxObserver obs = new MinMaxObserver(U8);
        assertEquals(0, obs.minVal().length);
        CalibrationException e = assertThrows(CalibrationException.class, obs::calculateQParams);
        assertEquals(CalibrationException.Reason.NOT_OBSERVED, e.reason());
        obs.observe(Tensor.of(new float[] {-1f, 2f}, 2));
        obs.observe(Tensor.of(new float[0], 0)); // empty tensors are ignored, as in PyTorch
        assertEquals(1, obs.observedCount());
        assertArrayEquals(new float[] {-1f}, obs.minVal());
        obs.reset();
        assertEquals(0, obs.observedCount());
        assertEquals(0, obs.maxVal().length);
        obs.observe(Tensor.of(new float[] {0.5f, 1f}, 2));
        assertArrayEquals(new float[] {0.5f}, obs.minVal());
    }

    @Test
    void nonFiniteDataIsRejectedWithoutChangingState() {
        MinMaxObserver obs = new MinMaxObserver(U8);
        obs.setLabel("features.0");
        obs.observe(Tensor.of(new float[] {-1f, 1f}, 2));
        CalibrationException e = assertThrows(CalibrationException.class,
                () -> obs.observe(Tensor.of(new float[] {Float.NaN, 5f, Float.POSITIVE_INFINITY}, 3)));
        assertEquals(CalibrationException.Reason.NON_FINITE, e.reason());
        assertTrue(e.getMessage().contains("features.0"), e.getMessage());
        assertTrue(e.getMessage().contains("1 NaN and 1 infinite"), e.getMessage());
        assertEquals(1, obs.observedCount());
        assertArrayEquals(new float[] {1f}, obs.maxVal());
        HistogramObserver h = new HistogramObserver(U8);
        assertThrows(CalibrationException.class, () -> h.observe(Tensor.of(new float[] {Float.NaN}, 1)));
        assertEquals(0, h.observedCount());
    }

    @Test
    void perChannelAxisHandling() {
        // Shape [2, 3]: axis 1 (or -1) has 3 channels, axis 0 has 2.
        Tensor x = Tensor.of(new float[] {1, -2, 3, -4, 5, -6}, 2, 3);
        PerChannelMinMaxObserver last = new PerChannelMinMaxObserver(S8_CHANNEL.withAxis(-1));
        last.observe(x);
        assertArrayEquals(new float[] {-4, -2, -6}, last.minVal());
        assertArrayEquals(new float[] {1, 5, 3}, last.maxVal());
        PerChannelMinMaxObserver first = new PerChannelMinMaxObserver(S8_CHANNEL);
        first.observe(x);
        assertArrayEquals(new float[] {-2, -6}, first.minVal());
        QParams.PerChannel q = (QParams.PerChannel) first.calculateQParams();
        assertEquals(2, q.channels());
        assertArrayEquals(new int[] {0, 0}, q.zeroPoints());
        assertEquals(3f / 127.5f, q.scale(0));
        CalibrationException e = assertThrows(CalibrationException.class,
                () -> first.observe(Tensor.zeros(3, 3)));
        assertEquals(CalibrationException.Reason.SHAPE, e.reason());
        assertThrows(CalibrationException.class,
                () -> new PerChannelMinMaxObserver(S8_CHANNEL.withAxis(2)).observe(x));
    }

    @Test
    void movingAverageStartsFromFirstBatch() {
        MovingAverageMinMaxObserver obs = new MovingAverageMinMaxObserver(U8);
        obs.observe(Tensor.of(new float[] {-1f, 1f}, 2));
        assertArrayEquals(new float[] {-1f}, obs.minVal());
        obs.observe(Tensor.of(new float[] {-101f, 101f}, 2));
        assertArrayEquals(new float[] {-1f + 0.01f * -100f}, obs.minVal());
    }

    @Test
    void specRangesFollowPytorch() {
        assertEquals(127, QuantSpec.of(QDType.QUINT8, QScheme.PER_TENSOR_AFFINE, true).quantMax());
        QuantSpec s8 = QuantSpec.of(QDType.QINT8, QScheme.PER_TENSOR_AFFINE, true);
        assertEquals(-64, s8.quantMin());
        assertEquals(63, s8.quantMax());
        assertEquals(127, QuantSpec.ofRange(QDType.QUINT8, QScheme.PER_TENSOR_AFFINE, true, 0, 255).quantMax());
        assertThrows(IllegalArgumentException.class,
                () -> QuantSpec.of(QDType.QUINT8, QScheme.PER_TENSOR_SYMMETRIC, true));
        assertThrows(IllegalArgumentException.class, () -> new MinMaxObserver(S8_CHANNEL));
        assertThrows(IllegalArgumentException.class, () -> new PerChannelMinMaxObserver(U8));
    }

    @Test
    void quantizedTensorUsesTheReducedRange() {
        QuantSpec reduced = QuantSpec.of(QDType.QUINT8, QScheme.PER_TENSOR_AFFINE, true);
        QParams p = reduced.compute(0f, 1.27f);
        Tensor q = reduced.quantize(Tensor.of(new float[] {0f, 1.27f, 100f}, 3), p);
        assertEquals(127, q.toLongArray()[2]); // clamped to qmax 127, not the dtype's 255
        assertEquals(127, reduced.quantMax());
    }
}
