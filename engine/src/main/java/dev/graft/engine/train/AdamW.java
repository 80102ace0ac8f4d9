package dev.graft.engine.train;

import dev.graft.ops.Tensor;

/**
 * Adam with decoupled weight decay, as {@code torch.optim.AdamW}: {@code p -= lr * wd * p}; then
 * {@code m = b1 m + (1-b1) g}, {@code v = b2 v + (1-b2) g^2} and
 * {@code p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)}. Moments are kept in double for reproducible
 * small-step behaviour.
 */
public final class AdamW extends Optimizer {
    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double weightDecay;
    private final double[][] m;
    private final double[][] v;

    public AdamW(Iterable<Tensor> parameters, double learningRate, double beta1, double beta2, double eps,
                 double weightDecay) {
        super(parameters, learningRate);
        if (beta1 < 0 || beta1 >= 1 || beta2 < 0 || beta2 >= 1 || eps <= 0 || weightDecay < 0) {
            throw new IllegalArgumentException("AdamW: betas must be in [0, 1), eps > 0 and weight decay >= 0, got "
                    + beta1 + ", " + beta2 + ", " + eps + ", " + weightDecay);
        }
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        this.m = new double[parameters().size()][];
        this.v = new double[parameters().size()][];
    }

    /** PyTorch's defaults: betas (0.9, 0.999), eps 1e-8, weight decay 0.01. */
    public AdamW(Iterable<Tensor> parameters, double learningRate) {
        this(parameters, learningRate, 0.9, 0.999, 1e-8, 0.01);
    }

    @Override
    protected void update(int index, float[] p, float[] g, long step) {
        if (m[index] == null) {
            m[index] = new double[p.length];
            v[index] = new double[p.length];
        }
        double[] mi = m[index];
        double[] vi = v[index];
        double lr = learningRate();
        double c1 = 1 - Math.pow(beta1, step);
        double c2 = 1 - Math.pow(beta2, step);
        for (int i = 0; i < p.length; i++) {
            double w = p[i] * (1 - lr * weightDecay);
            mi[i] = beta1 * mi[i] + (1 - beta1) * g[i];
            vi[i] = beta2 * vi[i] + (1 - beta2) * (double) g[i] * g[i];
            p[i] = (float) (w - lr * (mi[i] / c1) / (Math.sqrt(vi[i] / c2) + eps));
        }
    }
}
