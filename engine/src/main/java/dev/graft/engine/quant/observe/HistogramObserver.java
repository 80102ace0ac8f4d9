package dev.graft.engine.quant.observe;

import dev.graft.engine.quant.QConfig;
import dev.graft.engine.quant.QuantSpec;
import dev.graft.ops.QParams;

import java.util.Arrays;

/**
 * A running histogram of everything observed, from which the range is chosen by minimizing the L2 quantization
 * error (PyTorch 1.13's {@code HistogramObserver}: 2048 bins, upsample rate 128, {@code _non_linear_param_search}).
 * When a batch widens the range, the old histogram is upsampled and re-binned onto the wider grid
 * ({@code _adjust_min_max}, {@code _combine_histograms}). The arithmetic mirrors 1.13's float32/float64 mix step by
 * step; the search and combination live in {@link HistogramSearch}.
 *
 * <p><b>Histogram bounds, a decision.</b> PyTorch 1.13 bins each batch with
 * {@code torch.histc(x, bins, min=int(min_val), max=int(max_val))}: the bounds are truncated to integers, so the
 * bins do not cover the recorded {@code [min_val, max_val]} and values outside the truncated bounds are dropped
 * (golden obs_10 keeps 427 of 768 samples, obs_11 1018 of 1024). Graft offers both:
 * <ul>
 *   <li>{@link Bounds#FLOAT} (the default, used by {@link QConfig#x86Default()}): float bounds, every sample counted
 *       in the bin its value belongs to; this is what later PyTorch versions do. Golden: matches
 *       {@code emulated_float_histc_bounds} (totals and qparams).</li>
 *   <li>{@link Bounds#PYTORCH_1_13_INT_TRUNCATED}: the 1.13 behaviour, bit-exact with the golden {@code expected}
 *       state, histogram, search bounds and qparams; for reproducing models calibrated with 1.13.</li>
 * </ul>
 */
public class HistogramObserver extends Observer {

    /** How the histogram's bin edges are derived from the running range. */
    public enum Bounds {
        /** Bins span exactly the running float range. */
        FLOAT,
        /** PyTorch 1.13: bins span {@code [(long) min, (long) max]}; values outside are not counted. */
        PYTORCH_1_13_INT_TRUNCATED
    }

    public static final int DEFAULT_BINS = 2048;
    public static final int DEFAULT_UPSAMPLE_RATE = 128;

    private final int bins;
    private final int upsampleRate;
    private final Bounds bounds;
    private float[] histogram;
    private float min = Float.POSITIVE_INFINITY;
    private float max = Float.NEGATIVE_INFINITY;
    /** The values' own range (min and max above may be wider: the grid grows in whole steps). */
    private float dataMin = Float.POSITIVE_INFINITY;
    private float dataMax = Float.NEGATIVE_INFINITY;
    /** Set by {@link #startAt}: batches inside [min, max] are binned onto that grid as they are. */
    private boolean fixedGrid;

    public HistogramObserver(QuantSpec spec, int bins, int upsampleRate, Bounds bounds) {
        super(MinMaxObserver.requirePerTensor(spec));
        if (bins < 1 || upsampleRate < 1) {
            throw new IllegalArgumentException("bins and upsample rate must be >= 1, got " + bins + ", "
                    + upsampleRate);
        }
        this.bins = bins;
        this.upsampleRate = upsampleRate;
        this.bounds = java.util.Objects.requireNonNull(bounds, "bounds");
        this.histogram = new float[bins];
    }

    /** 2048 bins, upsample rate 128, float bounds. */
    public HistogramObserver(QuantSpec spec) {
        this(spec, DEFAULT_BINS, DEFAULT_UPSAMPLE_RATE, Bounds.FLOAT);
    }

    public int bins() {
        return bins;
    }

    public Bounds bounds() {
        return bounds;
    }

    /** A copy of the histogram (counts per bin over {@code [minVal, maxVal]}). */
    public float[] histogram() {
        return histogram.clone();
    }

    /** {min, max} of the values observed themselves (empty before any). */
    public float[] dataRange() {
        return observedCount() == 0 ? new float[0] : new float[] {dataMin, dataMax};
    }

    /**
     * Starts the histogram on the grid of {@code [min, max]}, before any data: every later batch inside that range
     * is binned onto it and added, so the histogram no longer depends on the order of the batches (the running grid
     * otherwise grows with each wider batch, upsampling what came before). Distributed calibration starts each
     * partition's observer at the range of all the data (a first pass); the partitions' histograms then add up to
     * exactly the histogram of all the values observed as one batch. A batch outside the range widens it as usual.
     */
    public void startAt(float rangeMin, float rangeMax) {
        if (observedCount() > 0) {
            throw new IllegalStateException(describeSelf() + ": startAt must come before any data");
        }
        if (!(Float.isFinite(rangeMin) && Float.isFinite(rangeMax) && rangeMin <= rangeMax)) {
            throw new IllegalArgumentException(describeSelf() + ": startAt needs a finite range, got [" + rangeMin
                    + ", " + rangeMax + "]");
        }
        min = rangeMin;
        max = rangeMax;
        fixedGrid = true;
    }

    /**
     * Folds in another histogram of this kind ({@code otherHistogram} over {@code [otherMin, otherMax]}, the
     * values' own range {@code otherData}, {@code batches} batches). On the same grid the counts add, exactly. On
     * different grids both are re-binned onto the common range (each bin's count spread over the bins its span
     * overlaps, in proportion): an approximation, which {@link #startAt} avoids.
     */
    public void merge(float[] otherHistogram, float otherMin, float otherMax, float[] otherData, long batches) {
        if (batches == 0) {
            return;
        }
        if (otherHistogram.length != bins) {
            throw shapeError("cannot merge a histogram of " + otherHistogram.length + " bins into " + bins);
        }
        if (observedCount() == 0 && !fixedGrid) {
            histogram = otherHistogram.clone();
            min = otherMin;
            max = otherMax;
        } else if (otherMin == min && otherMax == max) {
            for (int i = 0; i < bins; i++) {
                histogram[i] += otherHistogram[i];
            }
        } else {
            float lo = Math.min(min, otherMin);
            float hi = Math.max(max, otherMax);
            float[] merged = new float[bins];
            HistogramSearch.spreadInto(merged, lo, hi, histogram, min, max);
            HistogramSearch.spreadInto(merged, lo, hi, otherHistogram, otherMin, otherMax);
            histogram = merged;
            min = lo;
            max = hi;
        }
        dataMin = Math.min(dataMin, otherData[0]);
        dataMax = Math.max(dataMax, otherData[1]);
        addObserved(batches);
    }

    @Override
    protected void update(float[] x, int[] shape) {
        float lo = Float.POSITIVE_INFINITY;
        float hi = Float.NEGATIVE_INFINITY;
        for (float v : x) {
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
        }
        dataMin = Math.min(dataMin, lo);
        dataMax = Math.max(dataMax, hi);
        if (fixedGrid && min <= lo && hi <= max && min < max) {
            float[] batch = histc(x, min, max);
            for (int i = 0; i < bins; i++) {
                histogram[i] += batch[i];
            }
            return;
        }
        // 1.13 also restarts when the running range collapsed to a point (min == max).
        if (observedCount() == 0 || min == max) {
            min = lo;
            max = hi;
            histogram = histc(x, lo, hi);
            return;
        }
        float combinedMin = Math.min(lo, min);
        float combinedMax = Math.max(hi, max);
        // _adjust_min_max: a grid of (max - min) / (bins * upsample) that the wider range is a whole multiple of.
        float histBinWidth = (max - min) / (float) (bins * upsampleRate);
        float binsTimesWidth = (float) bins * histBinWidth;
        int downsampleRate = (int) Math.ceil((combinedMax - combinedMin) / binsTimesWidth);
        float e = (float) downsampleRate * binsTimesWidth - (combinedMax - combinedMin);
        combinedMax = combinedMax + e;
        int startIdx = (int) Math.rint((min - combinedMin) / histBinWidth);

        float[] combined = histc(x, combinedMin, combinedMax);
        if (combinedMin == min && combinedMax == max) {
            for (int i = 0; i < bins; i++) {
                combined[i] += histogram[i];
            }
        } else {
            HistogramSearch.combineInto(combined, histogram, upsampleRate, downsampleRate, startIdx);
        }
        histogram = combined;
        min = combinedMin;
        max = combinedMax;
    }

    /**
     * {@code torch.histc(x, bins, lo, hi)} on the CPU in 1.13: edges at float32 {@code lo} and {@code hi}, bin
     * {@code (long) ((v - lo) * bins / (hi - lo))} in float32, values outside the edges skipped, the top edge
     * counted in the last bin. Equal bounds fall back to the data's range, then to {@code [lo - 1, hi + 1]}.
     */
    private float[] histc(float[] x, float lo, float hi) {
        double left = lo;
        double right = hi;
        if (bounds == Bounds.PYTORCH_1_13_INT_TRUNCATED) {
            // Python int() on a float tensor truncates toward zero.
            left = (double) (long) lo;
            right = (double) (long) hi;
        }
        if (left == right) {
            float dataMin = Float.POSITIVE_INFINITY;
            float dataMax = Float.NEGATIVE_INFINITY;
            for (float v : x) {
                dataMin = Math.min(dataMin, v);
                dataMax = Math.max(dataMax, v);
            }
            left = dataMin;
            right = dataMax;
        }
        if (left == right) {
            left -= 1;
            right += 1;
        }
        float leftEdge = (float) left;
        float rightEdge = (float) right;
        float width = rightEdge - leftEdge;
        float[] out = new float[bins];
        for (float v : x) {
            if (v < leftEdge || rightEdge < v) {
                continue;
            }
            long pos = (long) ((v - leftEdge) * (float) bins / width);
            if (pos >= bins) {
                pos = bins - 1;
            } else if (pos < 0) {
                // (v - left) * bins overflows float for ranges near Float.MAX_VALUE (an additive attention mask of
                // finfo.min): such values belong in the first bin.
                pos = 0;
            }
            out[(int) pos] += 1f;
        }
        return out;
    }

    @Override
    protected QParams computeQParams() {
        float[] range = searchRange();
        return spec().compute(range[0], range[1]);
    }

    /**
     * The {@code [min, max]} that {@code _non_linear_param_search} picks from the histogram (before the range is
     * widened to contain 0 and turned into qparams).
     */
    public float[] searchRange() {
        requireObserved();
        int dstBins = 1 << 8; // 2 ** iinfo(dtype).bits: 256 for both 8-bit types, whatever the reduced range.
        int[] startEnd = HistogramSearch.search(histogram, min, max, dstBins);
        float binWidth = (max - min) / (float) bins;
        float newMin = min + binWidth * (float) startEnd[0];
        float newMax = min + binWidth * (float) (startEnd[1] + 1);
        return new float[] {newMin, newMax};
    }

    @Override
    public float[] minVal() {
        return observedCount() == 0 ? new float[0] : new float[] {min};
    }

    @Override
    public float[] maxVal() {
        return observedCount() == 0 ? new float[0] : new float[] {max};
    }

    @Override
    protected void resetState() {
        histogram = new float[bins];
        min = Float.POSITIVE_INFINITY;
        max = Float.NEGATIVE_INFINITY;
        dataMin = Float.POSITIVE_INFINITY;
        dataMax = Float.NEGATIVE_INFINITY;
        fixedGrid = false;
    }

    @Override
    protected String extraRepr() {
        return super.extraRepr() + ", bins=" + bins + ", bounds=" + bounds.name().toLowerCase()
                + (observedCount() == 0 ? "" : ", total=" + sum(histogram));
    }

    static double sum(float[] h) {
        return Arrays.stream(toDoubles(h)).sum();
    }

    private static double[] toDoubles(float[] h) {
        double[] d = new double[h.length];
        for (int i = 0; i < h.length; i++) {
            d[i] = h[i];
        }
        return d;
    }
}
