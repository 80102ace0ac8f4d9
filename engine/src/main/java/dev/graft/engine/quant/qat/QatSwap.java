package dev.graft.engine.quant.qat;

import dev.graft.engine.Module;
import dev.graft.engine.graph.GraphModule;
import dev.graft.engine.nn.Conv2d;
import dev.graft.engine.nn.Linear;
import dev.graft.engine.quant.QConfig;
import dev.graft.engine.quant.nn.ConvBn2d;
import dev.graft.engine.quant.nn.FusedReLU;
import dev.graft.engine.quant.observe.Observer;
import dev.graft.engine.quant.passes.StaticQuantizer;

/**
 * The module swap of {@code StaticQuantizer.prepareQat}: every Linear / Conv2d / {@link FusedReLU} call that static
 * quantization would convert becomes a {@link QatLayer} at the same path, wrapping the same layer object (so the
 * trained parameters are the ones convert later quantizes); a conv-bn pair kept unfused ({@link ConvBn2d}) becomes a
 * {@link QatConvBn} over the same conv and batch norm. Module replacement happens once on the block; later
 * specializations call the same paths and so the same QAT layers.
 */
public final class QatSwap {
    private QatSwap() {
    }

    /**
     * The QAT form of {@code layer} (a Linear, Conv2d or ConvBn2d, possibly inside a FusedReLU) at {@code path} in
     * {@code block}, swapped in and returned; null when the layer has no QAT form.
     */
    public static QatModule swap(GraphModule block, String path, Module layerModule, QConfig qc, String where,
                                 long freezeBnAfterSteps) {
        boolean relu = layerModule instanceof FusedReLU;
        Module layer = layerModule instanceof FusedReLU f ? f.layer() : layerModule;
        if (!(layer instanceof Linear) && !(layer instanceof Conv2d) && !(layer instanceof ConvBn2d)) {
            return null;
        }
        FakeQuantize wfq = weightFakeQuant(qc, where);
        Module qat = layer instanceof ConvBn2d cb
                ? new QatConvBn(cb.conv(), cb.bn(), relu, wfq, freezeBnAfterSteps)
                : new QatLayer(layer, relu, wfq);
        block.replaceModule(path, qat);
        return (QatModule) qat;
    }

    private static FakeQuantize weightFakeQuant(QConfig qc, String where) {
        FakeQuantize fq = switch (qc.createWeight()) {
            case FakeQuantize f -> f;
            case Observer o -> new FakeQuantize(o);
            default -> throw new IllegalStateException(where + ": weight factory made neither observer nor fake-quant");
        };
        fq.observer().setLabel(where + " weight");
        return fq;
    }
}
