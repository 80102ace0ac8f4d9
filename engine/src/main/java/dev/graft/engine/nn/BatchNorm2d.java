package dev.graft.engine.nn;

import dev.graft.engine.Module;
import dev.graft.engine.autograd.Autograd;
import dev.graft.ops.DType;
import dev.graft.ops.F;
import dev.graft.ops.InPlace;
import dev.graft.ops.Tensor;

/**
 * Batch normalization over channel dimension 1 of NCHW input. In eval mode it uses the running statistics; in
 * training mode the batch's statistics, updating the running ones with {@code momentum} (unbiased variance), as
 * PyTorch. Training mode is one fused operator with its own backward rule.
 */
public class BatchNorm2d extends Module {
    private final int features;
    private final float eps;
    private final float momentum;
    private final Tensor weight;
    private final Tensor bias;
    private final Tensor runningMean;
    private final Tensor runningVar;
    private final Tensor batchesTracked;

    public BatchNorm2d(int features) {
        this(features, 1e-5f, 0.1f);
    }

    public BatchNorm2d(int features, float eps, float momentum) {
        if (features <= 0) {
            throw new IllegalArgumentException("BatchNorm2d: features must be positive, got " + features);
        }
        this.features = features;
        this.eps = eps;
        this.momentum = momentum;
        this.weight = registerParameter("weight", Tensor.ones(features));
        this.bias = registerParameter("bias", Tensor.zeros(features));
        this.runningMean = registerBuffer("running_mean", Tensor.zeros(features));
        this.runningVar = registerBuffer("running_var", Tensor.ones(features));
        this.batchesTracked = registerBuffer("num_batches_tracked", Tensor.zeros(DType.INT64));
    }

    @Override
    protected Tensor forward(Tensor... inputs) {
        Tensor x = single(inputs);
        if (!isTraining()) {
            return F.batchNorm(x, runningMean, runningVar, weight, bias, eps);
        }
        try (var noGrad = Autograd.noGrad()) {
            // Running averages: bookkeeping, not part of the differentiated computation.
            Tensor stats = F.batchStatistics(x);
            Tensor mean = stats.select(0, 0);
            long n = x.numel() / features;
            Tensor unbiased = stats.select(0, 1).mul(n > 1 ? (float) n / (n - 1) : 1f);
            InPlace.copy(runningMean, runningMean.mul(1f - momentum).add(mean.mul(momentum)));
            InPlace.copy(runningVar, runningVar.mul(1f - momentum).add(unbiased.mul(momentum)));
            InPlace.copy(batchesTracked, batchesTracked.add(Tensor.ofLongs(new long[] {1})));
        }
        // One fused op (batch statistics, normalization, and a one-pass backward rule).
        return F.batchNormTraining(x, weight, bias, eps);
    }

    public int features() {
        return features;
    }

    public float eps() {
        return eps;
    }

    public float momentum() {
        return momentum;
    }

    public Tensor weight() {
        return weight;
    }

    public Tensor bias() {
        return bias;
    }

    public Tensor runningMean() {
        return runningMean;
    }

    public Tensor runningVar() {
        return runningVar;
    }

    @Override
    protected String extraRepr() {
        return features + ", eps=" + eps + ", momentum=" + momentum;
    }
}
