package dev.graft.engine.quant.passes;

import dev.graft.engine.Module;
import dev.graft.engine.quant.QConfig;
import dev.graft.engine.quant.observe.Observer;
import dev.graft.engine.quant.qat.FakeQuantize;
import dev.graft.ops.QParams;
import dev.graft.ops.Tensor;

/** Weight qparams from a qconfig's weight observer: observe the weight once, read scales and zero points. */
final class WeightQParams {
    private WeightQParams() {
    }

    static QParams of(QConfig qconfig, Tensor weight, String where) {
        Module m = qconfig.createWeight();
        Observer observer = switch (m) {
            case Observer o -> o;
            case FakeQuantize fq -> fq.observer();
            default -> throw new IllegalStateException(where + ": weight factory made a "
                    + m.getClass().getSimpleName() + ", not an observer");
        };
        observer.setLabel(where + " weight");
        observer.observe(weight.concrete());
        return observer.calculateQParams();
    }
}
