package dev.graft.engine.quant.observe;

import dev.graft.engine.quant.QDType;
import dev.graft.engine.quant.QScheme;
import dev.graft.engine.quant.QuantSpec;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Merging observers that saw different parts of the data (distributed calibration: one observer per partition, then
 * merged on the driver) against one observer that saw everything.
 */
class ObserverMergeTest {
    private static final QuantSpec U8 = QuantSpec.of(QDType.QUINT8, QScheme.PER_TENSOR_AFFINE, false);
    private static final QuantSpec S8_CHANNEL = QuantSpec.of(QDType.QINT8, QScheme.PER_CHANNEL_SYMMETRIC, false);

    /** 12 batches [4, 6] of skewed values whose range differs from batch to batch, split into 3 partitions of 4. */
    private static List<List<Tensor>> partitions() {
        Random rng = new Random(19);
        List<List<Tensor>> parts = new ArrayList<>();
        for (int p = 0; p < 3; p++) {
            List<Tensor> part = new ArrayList<>();
            for (int b = 0; b < 4; b++) {
                float[] v = new float[24];
                float spread = 0.5f + 3 * rng.nextFloat();
                for (int i = 0; i < v.length; i++) {
                    v[i] = (float) (spread * Math.exp(rng.nextGaussian()) - spread);
                }
                part.add(Tensor.wrap(v, 4, 6));
            }
            parts.add(part);
        }
        return parts;
    }

    private static List<Tensor> all(List<List<Tensor>> parts) {
        return parts.stream().flatMap(List::stream).toList();
    }

    @Test
    void mergedMinMaxIsTheRangeOfEverythingInAnyOrder() {
        List<List<Tensor>> parts = partitions();
        MinMaxObserver single = new MinMaxObserver(U8);
        all(parts).forEach(single::observe);
        for (int[] order : new int[][] {{0, 1, 2}, {2, 0, 1}}) {
            MinMaxObserver merged = new MinMaxObserver(U8);
            for (int p : order) {
                MinMaxObserver part = new MinMaxObserver(U8);
                parts.get(p).forEach(part::observe);
                merged.merge(part.minVal()[0], part.maxVal()[0], part.observedCount());
            }
            assertArrayEquals(single.minVal(), merged.minVal(), 0f);
            assertArrayEquals(single.maxVal(), merged.maxVal(), 0f);
            assertEquals(single.observedCount(), merged.observedCount());
            assertEquals(single.calculateQParams(), merged.calculateQParams());
        }
    }

    @Test
    void mergedPerChannelRangesAreThoseOfEverything() {
        List<List<Tensor>> parts = partitions();
        PerChannelMinMaxObserver single = new PerChannelMinMaxObserver(S8_CHANNEL);
        all(parts).forEach(single::observe);
        PerChannelMinMaxObserver merged = new PerChannelMinMaxObserver(S8_CHANNEL);
        for (List<Tensor> p : parts) {
            PerChannelMinMaxObserver part = new PerChannelMinMaxObserver(S8_CHANNEL);
            p.forEach(part::observe);
            merged.merge(part.minVal(), part.maxVal(), part.channelAxis(), part.observedCount());
        }
        assertArrayEquals(single.minVal(), merged.minVal(), 0f);
        assertArrayEquals(single.maxVal(), merged.maxVal(), 0f);
        assertArrayEquals(single.calculateQParams().scales(), merged.calculateQParams().scales(), 0f);
    }

    @Test
    void histogramsStartedOnTheCommonRangeAddUpToTheHistogramOfAllValuesAtOnce() {
        List<List<Tensor>> parts = partitions();
        // Pass 1: the values' own range, merged over partitions.
        float lo = Float.POSITIVE_INFINITY;
        float hi = Float.NEGATIVE_INFINITY;
        for (List<Tensor> p : parts) {
            HistogramObserver first = new HistogramObserver(U8);
            p.forEach(first::observe);
            lo = Math.min(lo, first.dataRange()[0]);
            hi = Math.max(hi, first.dataRange()[1]);
        }
        // Pass 2: each partition on that grid, merged in a shuffled order.
        HistogramObserver merged = new HistogramObserver(U8);
        for (int p : new int[] {1, 2, 0}) {
            HistogramObserver part = new HistogramObserver(U8);
            part.startAt(lo, hi);
            parts.get(p).forEach(part::observe);
            merged.merge(part.histogram(), part.minVal()[0], part.maxVal()[0], part.dataRange(), part.observedCount());
        }
        // One machine, every value in one batch: the order of batches cannot matter there.
        float[] everything = new float[12 * 24];
        int at = 0;
        for (Tensor t : all(parts)) {
            float[] v = t.toFloatArray();
            System.arraycopy(v, 0, everything, at, v.length);
            at += v.length;
        }
        HistogramObserver single = new HistogramObserver(U8);
        single.observe(Tensor.wrap(everything, everything.length));
        assertArrayEquals(single.histogram(), merged.histogram(), 0f);
        assertArrayEquals(single.minVal(), merged.minVal(), 0f);
        assertArrayEquals(single.maxVal(), merged.maxVal(), 0f);
        assertArrayEquals(single.searchRange(), merged.searchRange(), 0f);
        assertEquals(single.calculateQParams(), merged.calculateQParams());
        assertEquals(everything.length, HistogramObserver.sum(merged.histogram()), 0);
    }

    @Test
    void histogramsOnDifferentGridsAreReBinnedOntoTheUnion() {
        List<List<Tensor>> parts = partitions();
        HistogramObserver merged = new HistogramObserver(U8);
        float lo = Float.POSITIVE_INFINITY;
        float hi = Float.NEGATIVE_INFINITY;
        for (List<Tensor> p : parts) {
            HistogramObserver part = new HistogramObserver(U8);
            p.forEach(part::observe);
            lo = Math.min(lo, part.minVal()[0]);
            hi = Math.max(hi, part.maxVal()[0]);
            merged.merge(part.histogram(), part.minVal()[0], part.maxVal()[0], part.dataRange(), part.observedCount());
        }
        assertEquals(lo, merged.minVal()[0]);
        assertEquals(hi, merged.maxVal()[0]);
        assertEquals(12 * 24, HistogramObserver.sum(merged.histogram()), 1e-3, "every count kept");
        assertEquals(12, merged.observedCount());
    }

    @Test
    void movingAveragesMergedInPartitionOrderContinueTheAverage() {
        List<List<Tensor>> parts = partitions();
        MovingAverageMinMaxObserver single = new MovingAverageMinMaxObserver(U8, 0.3);
        all(parts).forEach(single::observe);
        MovingAverageMinMaxObserver merged = new MovingAverageMinMaxObserver(U8, 0.3);
        for (List<Tensor> p : parts) {
            MovingAverageMinMaxObserver part = new MovingAverageMinMaxObserver(U8, 0.3);
            p.forEach(part::observe);
            float[] first = part.firstBatchRange();
            merged.mergeFollowing(part.minVal()[0], part.maxVal()[0], first[0], first[1], part.observedCount());
        }
        assertEquals(single.minVal()[0], merged.minVal()[0], 1e-5f * Math.abs(single.minVal()[0]));
        assertEquals(single.maxVal()[0], merged.maxVal()[0], 1e-5f * Math.abs(single.maxVal()[0]));
        assertThrows(UnsupportedOperationException.class, () -> merged.merge(0, 1, 1));
    }

    @Test
    void mergingAHistogramOfAnotherSizeIsRefused() {
        HistogramObserver h = new HistogramObserver(U8);
        assertThrows(CalibrationException.class, () -> h.merge(new float[3], 0, 1, new float[] {0, 1}, 1));
    }
}
