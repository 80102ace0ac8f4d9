package dev.graft.engine.quant.tune;

import dev.graft.engine.quant.QuantSpec;
import dev.graft.engine.quant.observe.Observer;
import dev.graft.ops.QParams;

import java.util.Arrays;

/**
 * A per-tensor activation range from percentiles instead of extremes: per batch the {@code 100 - p}th and {@code p}th
 * percentiles of the values, averaged over batches (as ONNX Runtime's and Neural Compressor's percentile
 * calibration). It clips the rare far outliers that make a min/max scale coarse for everything else. A batch larger
 * than {@value #SAMPLE} values is read at an even stride, so the cost per batch stays bounded.
 */
public final class PercentileObserver extends Observer {
    /** The upper percentile the tuner tries. */
    public static final double DEFAULT_PERCENTILE = 99.99;
    static final int SAMPLE = 1 << 16;

    private final double percentile;
    private double lowSum;
    private double highSum;
    private long batches;

    public PercentileObserver(QuantSpec spec, double percentile) {
        super(spec);
        if (spec.scheme().isPerChannel()) {
            throw new IllegalArgumentException("PercentileObserver is per tensor, got " + spec.scheme());
        }
        if (!(percentile > 50 && percentile <= 100)) {
            throw new IllegalArgumentException("PercentileObserver: percentile must be in (50, 100], got "
                    + percentile);
        }
        this.percentile = percentile;
    }

    @Override
    protected void update(float[] values, int[] shape) {
        int stride = Math.max(1, values.length / SAMPLE);
        float[] sample = new float[(values.length + stride - 1) / stride];
        for (int i = 0, k = 0; i < values.length; i += stride, k++) {
            sample[k] = values[i];
        }
        Arrays.sort(sample);
        int top = (int) Math.round((sample.length - 1) * percentile / 100.0);
        lowSum += sample[sample.length - 1 - top];
        highSum += sample[top];
        batches++;
    }

    @Override
    protected QParams computeQParams() {
        return spec().compute((float) (lowSum / batches), (float) (highSum / batches));
    }

    @Override
    public float[] minVal() {
        return batches == 0 ? new float[0] : new float[] {(float) (lowSum / batches)};
    }

    @Override
    public float[] maxVal() {
        return batches == 0 ? new float[0] : new float[] {(float) (highSum / batches)};
    }

    @Override
    protected void resetState() {
        lowSum = 0;
        highSum = 0;
        batches = 0;
    }
}
