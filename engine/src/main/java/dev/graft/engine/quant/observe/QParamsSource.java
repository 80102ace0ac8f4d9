package dev.graft.engine.quant.observe;

import dev.graft.engine.quant.QuantSpec;
import dev.graft.ops.QParams;

/**
 * What the quantization passes need from an observer or a fake-quant module: the target spec, whether data was
 * seen, and the resulting parameters.
 */
public interface QParamsSource {

    QuantSpec spec();

    /** Non-empty batches observed since creation or reset. */
    long observedCount();

    /** The parameters for what was observed; {@link CalibrationException} if nothing was. */
    QParams calculateQParams();
}
