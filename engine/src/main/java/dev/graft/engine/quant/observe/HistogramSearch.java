package dev.graft.engine.quant.observe;

/**
 * The numeric core of {@link HistogramObserver}: re-binning an old histogram onto a wider grid, and the L2 search
 * for the best range. Each step rounds as PyTorch 1.13 does: float32 tensors stay float32 (Python scalars are cast
 * to float32 when they meet a float32 tensor), Python scalars and {@code .item()} values are doubles, cumulative
 * sums accumulate in double.
 */
final class HistogramSearch {

    private HistogramSearch() {
    }

    /**
     * {@code _combine_histograms}: upsamples {@code old} by {@code upsample} (piecewise constant), places it at
     * {@code startIdx} of a zero grid of {@code bins * downsample} cells, integrates in double, samples every
     * {@code downsample}-th cell, differences (the previous integral rounded to float32, as it is stored in a float
     * tensor), divides by {@code upsample} and adds the result into {@code target}.
     */
    static void combineInto(float[] target, float[] old, int upsample, int downsample, int startIdx) {
        int bins = target.length;
        long cells = (long) bins * downsample;
        long oldEnd = startIdx + (long) bins * upsample;
        if (startIdx < 0 || oldEnd > cells) {
            throw new IllegalStateException("histogram combine: old histogram [" + startIdx + ", " + oldEnd
                    + ") does not fit " + cells + " cells");
        }
        double running = 0;
        float previous = 0f;
        long cell = 0;
        for (int i = 0; i < bins; i++) {
            long last = (long) (i + 1) * downsample; // exclusive end of this output bin's cells
            // Cells of the old histogram inside [cell, last): each old bin covers `upsample` cells.
            long from = Math.max(cell, startIdx);
            long to = Math.min(last, oldEnd);
            // Summing cell by cell keeps the order of torch.cumsum (sequential double accumulation).
            for (long c = from; c < to; c++) {
                running += old[(int) ((c - startIdx) / upsample)];
            }
            cell = last;
            double interpolated = (running - previous) / upsample;
            target[i] += (float) interpolated;
            previous = (float) running;
        }
    }

    /**
     * {@code _non_linear_param_search}: moves the start or end bin inwards by quantile steps of 1e-5 while the L2
     * error of quantizing the histogram to {@code dstBins} levels over {@code [start, end]} keeps falling. Returns
     * {@code {startBin, endBin}}.
     */
    static int[] search(float[] histogram, float min, float max, int dstBins) {
        int bins = histogram.length;
        double total = floatSum(histogram);
        float[] cSum = new float[bins];
        double acc = 0;
        for (int i = 0; i < bins; i++) {
            acc += histogram[i];
            cSum[i] = (float) acc;
        }
        double stepsize = 1e-5;
        double alpha = 0.0;
        double beta = 1.0;
        int startBin = 0;
        int endBin = bins - 1;
        double normMin = Double.POSITIVE_INFINITY;
        double binWidth = ((double) max - (double) min) / bins;
        while (alpha < beta) {
            double nextAlpha = alpha + stepsize;
            double nextBeta = beta - stepsize;
            // cSum is a float32 tensor, so the Python-float bounds are compared as float32.
            float alphaBound = (float) (nextAlpha * total);
            float betaBound = (float) (nextBeta * total);
            int l = startBin;
            int r = endBin;
            while (l < endBin && cSum[l] < alphaBound) {
                l++;
            }
            while (r > startBin && cSum[r] > betaBound) {
                r--;
            }
            int nextStart = startBin;
            int nextEnd = endBin;
            if ((l - startBin) > (endBin - r)) {
                nextStart = l;
                alpha = nextAlpha;
            } else {
                nextEnd = r;
                beta = nextBeta;
            }
            if (nextStart == startBin && nextEnd == endBin) {
                continue;
            }
            double norm = quantizationError(histogram, binWidth, nextStart, nextEnd, dstBins);
            if (norm > normMin) {
                break;
            }
            normMin = norm;
            startBin = nextStart;
            endBin = nextEnd;
        }
        return new int[] {startBin, endBin};
    }

    /** {@code _compute_quantization_error}, float32 elementwise as the tensors in PyTorch. */
    static double quantizationError(float[] histogram, double binWidth, int start, int end, int dstBins) {
        double dstBinWidth = binWidth * (end - start + 1) / dstBins;
        if (dstBinWidth == 0.0) {
            return 0.0;
        }
        int bins = histogram.length;
        float bw = (float) binWidth;
        float dbw = (float) dstBinWidth;
        float halfPos = (float) (dstBinWidth / 2);
        float halfNeg = (float) (-dstBinWidth / 2);
        float maxDst = dstBins - 1;
        // _get_norm(tensor(-dbw/2), tensor(dbw/2), density) without the density factor: 0-dim float32 tensors.
        float fullBinNorm = (halfPos * halfPos * halfPos - halfNeg * halfNeg * halfNeg) / 3f;
        float[] norms = new float[bins];
        for (int i = 0; i < bins; i++) {
            float srcBegin = (float) (i - start) * bw;
            float srcEnd = srcBegin + bw;
            float dstOfBegin = clamp(floorDivide(srcBegin, dbw), maxDst);
            float dstOfBeginCenter = (dstOfBegin + 0.5f) * dbw;
            float dstOfEnd = clamp(floorDivide(srcEnd, dbw), maxDst);
            float density = histogram[i] / bw;

            float norm = 0f;
            float deltaBegin = srcBegin - dstOfBeginCenter;
            norm += density * ((halfPos * halfPos * halfPos - deltaBegin * deltaBegin * deltaBegin) / 3f);
            norm += (dstOfEnd - dstOfBegin - 1f) * (density * fullBinNorm);
            float dstOfEndCenter = dstOfEnd * dbw + halfPos;
            float deltaEnd = srcEnd - dstOfEndCenter;
            norm += density * ((deltaEnd * deltaEnd * deltaEnd - halfNeg * halfNeg * halfNeg) / 3f);
            norms[i] = norm;
        }
        return floatSum(norms);
    }

    private static float clamp(float v, float max) {
        return Math.max(0f, Math.min(max, v));
    }

    /** {@code torch.div(a, b, rounding_mode='floor')} for float32: Python floor division via fmod. */
    static float floorDivide(float a, float b) {
        if (b == 0f) {
            return a / b;
        }
        float mod = a % b; // Java % on floats is C fmod
        float div = (a - mod) / b;
        if (mod != 0f && (b < 0f) != (mod < 0f)) {
            div -= 1f;
        }
        if (div == 0f) {
            return Math.copySign(0f, a / b);
        }
        float floor = (float) Math.floor(div);
        if (div - floor > 0.5f) {
            floor += 1f;
        }
        return floor;
    }

    /**
     * {@code tensor.sum().item()} of a float32 tensor. Torch sums in float32 with a cascade; a double sum rounded
     * once to float32 agrees except in the last bit of near-ties.
     */
    static double floatSum(float[] v) {
        double s = 0;
        for (float f : v) {
            s += f;
        }
        return (float) s;
    }

    /**
     * Adds {@code source} (equal bins over {@code [from, to]}) to {@code target} (as many bins over {@code [lo, hi]},
     * a range containing the source's): each source bin's count is spread over the target bins its span overlaps,
     * in proportion to the overlap. A source on a single point puts everything in the bin holding it.
     */
    static void spreadInto(float[] target, float lo, float hi, float[] source, float from, float to) {
        int bins = target.length;
        double width = ((double) hi - lo) / bins;
        if (!(width > 0)) {
            target[0] += (float) floatSum(source);
            return;
        }
        double sourceWidth = ((double) to - from) / source.length;
        for (int i = 0; i < source.length; i++) {
            if (source[i] == 0) {
                continue;
            }
            double a = from + i * sourceWidth;
            double b = a + sourceWidth;
            if (!(sourceWidth > 0)) {
                target[(int) Math.min(bins - 1, Math.max(0, Math.floor((a - lo) / width)))] += source[i];
                continue;
            }
            int first = (int) Math.max(0, Math.floor((a - lo) / width));
            int last = (int) Math.min(bins - 1, Math.floor((b - lo) / width));
            for (int t = first; t <= last; t++) {
                double overlap = Math.min(b, lo + (t + 1) * width) - Math.max(a, lo + t * width);
                if (overlap > 0) {
                    target[t] += (float) (source[i] * overlap / sourceWidth);
                }
            }
        }
    }
}
