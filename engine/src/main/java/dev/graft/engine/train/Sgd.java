package dev.graft.engine.train;

import dev.graft.ops.Tensor;

/**
 * Stochastic gradient descent as {@code torch.optim.SGD}: with weight decay {@code g += wd * p}; with momentum
 * {@code buf = momentum * buf + g} (the first step starts {@code buf = g}); nesterov uses {@code g + momentum * buf},
 * plain momentum {@code buf}; then {@code p -= lr * update}.
 */
public final class Sgd extends Optimizer {
    private final double momentum;
    private final double weightDecay;
    private final boolean nesterov;
    private final float[][] buffers;

    public Sgd(Iterable<Tensor> parameters, double learningRate, double momentum, double weightDecay,
               boolean nesterov) {
        super(parameters, learningRate);
        if (momentum < 0 || weightDecay < 0 || (nesterov && momentum <= 0)) {
            throw new IllegalArgumentException("SGD: momentum " + momentum + " and weight decay " + weightDecay
                    + " must be >= 0, and nesterov needs momentum > 0");
        }
        this.momentum = momentum;
        this.weightDecay = weightDecay;
        this.nesterov = nesterov;
        this.buffers = new float[parameters().size()][];
    }

    /** Plain SGD without momentum or weight decay. */
    public Sgd(Iterable<Tensor> parameters, double learningRate) {
        this(parameters, learningRate, 0, 0, false);
    }

    @Override
    protected void update(int index, float[] p, float[] g, long step) {
        float lr = (float) learningRate();
        float wd = (float) weightDecay;
        float mu = (float) momentum;
        float[] buf = buffers[index];
        boolean first = buf == null;
        if (mu != 0f && first) {
            buf = new float[p.length];
            buffers[index] = buf;
        }
        for (int i = 0; i < p.length; i++) {
            float d = g[i] + wd * p[i];
            if (mu != 0f) {
                buf[i] = first ? d : mu * buf[i] + d;
                d = nesterov ? d + mu * buf[i] : buf[i];
            }
            p[i] -= lr * d;
        }
    }
}
