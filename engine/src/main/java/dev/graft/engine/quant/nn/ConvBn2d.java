package dev.graft.engine.quant.nn;

import dev.graft.engine.LeafModule;
import dev.graft.engine.Module;
import dev.graft.engine.nn.BatchNorm2d;
import dev.graft.engine.nn.Conv2d;
import dev.graft.engine.quant.qat.QatConvBn;
import dev.graft.engine.quant.qat.QatOptions;
import dev.graft.engine.quant.qat.QatSwap;
import dev.graft.ops.InPlace;
import dev.graft.ops.Tensor;

/**
 * A Conv2d and the BatchNorm2d after it, kept apart as one leaf (PyTorch's intrinsic {@code ConvBn2d}): what
 * fusion makes instead of folding when QAT trains conv-bn unfused ({@link QatOptions#convBn}). FP32 semantics
 * {@code bn(conv(x))}; {@link QatSwap} turns it into a {@link QatConvBn} over the same two modules, and convert folds
 * the batch norm into the conv as PTQ does.
 */
public final class ConvBn2d extends Module implements LeafModule {
    private final Conv2d conv;
    private final BatchNorm2d bn;

    public ConvBn2d(Conv2d conv, BatchNorm2d bn) {
        this.conv = registerModule("conv", conv);
        this.bn = registerModule("bn", bn);
    }

    public Conv2d conv() {
        return conv;
    }

    public BatchNorm2d bn() {
        return bn;
    }

    /** The conv with the batch norm folded in from its running statistics (PTQ's fold). */
    public Conv2d folded() {
        return fold(conv, bn);
    }

    @Override
    protected Tensor forward(Tensor... inputs) {
        return bn.call(conv.call(single(inputs)));
    }

    /** A new Conv2d computing {@code bn(conv(x))} in eval mode. */
    public static Conv2d fold(Conv2d conv, BatchNorm2d bn) {
        int out = conv.outChannels();
        float[] w = conv.weight().concrete().toFloatArray();
        float[] b = conv.bias() == null ? new float[out] : conv.bias().concrete().toFloatArray();
        float[] gamma = bn.weight().concrete().toFloatArray();
        float[] beta = bn.bias().concrete().toFloatArray();
        float[] mean = bn.runningMean().concrete().toFloatArray();
        float[] var = bn.runningVar().concrete().toFloatArray();
        int per = w.length / out;
        float[] nb = new float[out];
        for (int o = 0; o < out; o++) {
            float k = (float) (gamma[o] / Math.sqrt((double) var[o] + bn.eps()));
            for (int i = 0; i < per; i++) {
                w[o * per + i] *= k;
            }
            nb[o] = (b[o] - mean[o]) * k + beta[o];
        }
        Conv2d folded = new Conv2d(conv.inChannels(), out, conv.kernel(), conv.stride(), conv.padding(),
                conv.dilation(), conv.groups(), true, new java.util.Random(0));
        InPlace.copy(folded.weight(), Tensor.wrap(w, conv.weight().shape()));
        InPlace.copy(folded.bias(), Tensor.wrap(nb, out));
        folded.train(false);
        return folded;
    }
}
