package dev.graft.models.mnist;

import dev.graft.engine.Module;
import dev.graft.engine.Submodule;
import dev.graft.engine.nn.AdaptiveAvgPool2d;
import dev.graft.engine.nn.BatchNorm2d;
import dev.graft.engine.nn.Conv2d;
import dev.graft.engine.nn.Flatten;
import dev.graft.engine.nn.Linear;
import dev.graft.engine.nn.MaxPool2d;
import dev.graft.engine.nn.ReLU;
import dev.graft.engine.nn.Sequential;
import dev.graft.ops.F;
import dev.graft.ops.Tensor;

/**
 * A small imperative CNN for MNIST ([N,1,28,28] in, [N,10] logits out) with an early exit:
 * <pre>
 *   stem   conv3x3(1->16)-bn-relu                      28x28
 *   exit   avgpool-flatten-linear(16->10)              if every sample's softmax max > threshold: return these
 *   block2 conv3x3(16->32)-bn-relu, maxpool 2          14x14
 *   res    conv-bn-relu, conv-bn, + input, relu        14x14 (one residual add)
 *   pool   maxpool 2                                    7x7
 *   head   flatten-linear(32*7*7 -> 10)
 * </pre>
 * The exit test reads tensor data ({@code item()}), so it is a data-dependent branch: the model as a whole does not
 * trace, its blocks do. A threshold above 1 disables the exit. Weights start PyTorch-style random (seeded by
 * {@link dev.graft.engine.Init}); training fills them.
 */
public final class MnistCnn extends Module implements dev.graft.engine.save.Savable {
    public static final int CLASSES = 10;

    private final Submodule stem = submodule("stem", convBnRelu(1, 16));
    private final Submodule exitHead = submodule("exit_head",
            new Sequential(new AdaptiveAvgPool2d(1), new Flatten(), new Linear(16, CLASSES)));
    private final Submodule block2 = submodule("block2", new Sequential(convBnRelu(16, 32), new MaxPool2d(2)));
    private final Submodule residual = submodule("residual", new ResidualBlock(32));
    private final Submodule pool = submodule("pool", new MaxPool2d(2));
    private final Submodule head = submodule("head", new Sequential(new Flatten(), new Linear(32 * 7 * 7, CLASSES)));
    private volatile float exitThreshold;
    private volatile boolean exitedEarly;

    /** @param exitThreshold softmax confidence above which the exit head answers; > 1 disables the exit */
    public MnistCnn(float exitThreshold) {
        this.exitThreshold = exitThreshold;
    }

    /** The model with the exit disabled. */
    public MnistCnn() {
        this(2f);
    }

    @Override
    public java.util.Map<String, Object> saveConfig() {
        return java.util.Map.of("exit_threshold", exitThreshold);
    }

    /** Rebuilds the model {@link #saveConfig()} describes (weights come from the saved file). */
    public static MnistCnn fromConfig(dev.graft.engine.save.SavedConfig c) {
        MnistCnn m = new MnistCnn(c.getFloat("exit_threshold"));
        m.eval();
        return m;
    }

    public float exitThreshold() {
        return exitThreshold;
    }

    public void setExitThreshold(float threshold) {
        this.exitThreshold = threshold;
    }

    /** Whether the last forward returned from the exit head (for tests and reports). */
    public boolean exitedEarly() {
        return exitedEarly;
    }

    @Override
    protected Tensor forward(Tensor... inputs) {
        Tensor x = stem.call(single(inputs));
        Tensor exitLogits = exitHead.call(x);
        // Data-dependent: every sample of the batch must be confident for the batch to leave here.
        if (F.softmax(exitLogits, 1).max(1, false).min(0, false).item() > exitThreshold) {
            exitedEarly = true;
            return exitLogits;
        }
        exitedEarly = false;
        x = block2.call(x);
        x = residual.call(x);
        x = pool.call(x);
        return head.call(x);
    }

    @Override
    protected String extraRepr() {
        return "exit_threshold=" + exitThreshold;
    }

    static Sequential convBnRelu(int in, int out) {
        return new Sequential(new Conv2d(in, out, 3, 1, 1), new BatchNorm2d(out), new ReLU());
    }

    /** conv-bn-relu, conv-bn, plus the block's input, relu (channels and size unchanged). */
    public static final class ResidualBlock extends Module {
        private final Submodule first;
        private final Submodule second;
        private final Submodule act;

        public ResidualBlock(int channels) {
            first = submodule("conv1", convBnRelu(channels, channels));
            second = submodule("conv2", new Sequential(new Conv2d(channels, channels, 3, 1, 1),
                    new BatchNorm2d(channels)));
            act = submodule("act", new ReLU());
        }

        @Override
        protected Tensor forward(Tensor... inputs) {
            Tensor x = single(inputs);
            return act.call(second.call(first.call(x)).add(x));
        }
    }
}
