package dev.graft.engine.quant.qat;

import dev.graft.engine.quant.nn.ConvBn2d;
import dev.graft.engine.quant.passes.StaticQuantizer;

/**
 * How {@link StaticQuantizer#prepareQat} treats conv -> batch norm.
 *
 * @param foldBnAtPrepare    true: fold BN into the conv from the running statistics at prepare (the statistics are
 *                           frozen from step 0 and the folded conv is trained; the original behaviour); false: keep
 *                           conv and BN apart in a {@link QatConvBn} (PyTorch's QAT {@code ConvBn2d}), folded at
 *                           convert
 * @param freezeBnAfterSteps with {@code foldBnAtPrepare} false: training forwards that normalize with the batch's
 *                           statistics (updating the running ones) before BN switches to its running statistics;
 *                           0 freezes at once, {@link Long#MAX_VALUE} never
 */
public record QatOptions(boolean foldBnAtPrepare, long freezeBnAfterSteps) {
    public QatOptions {
        if (freezeBnAfterSteps < 0) {
            throw new IllegalArgumentException("QatOptions: freezeBnAfterSteps must be >= 0, got " + freezeBnAfterSteps);
        }
    }

    /** The original QAT prepare: conv-bn folded from the running statistics before training. */
    public static QatOptions foldAtPrepare() {
        return new QatOptions(true, 0);
    }

    /** Conv-bn trained unfused with batch statistics for {@code freezeBnAfterSteps} steps, then frozen. */
    public static QatOptions convBn(long freezeBnAfterSteps) {
        return new QatOptions(false, freezeBnAfterSteps);
    }
}
