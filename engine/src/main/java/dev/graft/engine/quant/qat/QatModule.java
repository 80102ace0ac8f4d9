package dev.graft.engine.quant.qat;

import dev.graft.ops.QParams;

/**
 * A layer that fake-quantizes its weight during quantization-aware training: {@link QatLayer} (a Linear or Conv2d,
 * batch norm folded in before training) or {@link dev.graft.engine.quant.qat.QatConvBn} (conv and batch norm kept apart, folded at convert).
 * Convert quantizes its weight with {@link #weightQParams()}.
 */
public sealed interface QatModule permits QatLayer, dev.graft.engine.quant.qat.QatConvBn {
    /** The per-channel fake-quant of the weight the forward convolves with. */
    FakeQuantize weightFakeQuant();

    /** The weight qparams for convert (the fake-quant's, after one last observation while its observer is on). */
    QParams weightQParams();
}
