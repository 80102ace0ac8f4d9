package dev.graft.engine.quant.convert;

import dev.graft.engine.LeafModule;
import dev.graft.engine.Module;
import dev.graft.engine.nn.BatchNorm2d;
import dev.graft.engine.nn.Conv2d;
import dev.graft.ops.Tensor;

/**
 * A Conv2d and the BatchNorm2d after it, kept apart as one leaf (PyTorch's intrinsic {@code ConvBn2d}): what
 * {@link Fusion} makes instead of folding when QAT trains conv-bn unfused ({@link QatOptions#convBn}). FP32 semantics
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
        return Fusion.fold(conv, bn);
    }

    @Override
    protected Tensor forward(Tensor... inputs) {
        return bn.call(conv.call(single(inputs)));
    }
}
