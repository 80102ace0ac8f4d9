package dev.graft.engine.quant.convert;

import dev.graft.engine.Module;
import dev.graft.engine.graph.Node;
import dev.graft.engine.graph.Target;
import dev.graft.engine.nn.Conv2d;
import dev.graft.engine.nn.Linear;
import dev.graft.engine.quant.FakeQuantize;
import dev.graft.engine.quant.Observer;
import dev.graft.engine.quant.QConfig;
import dev.graft.engine.quant.QConfigMapping;
import dev.graft.engine.quant.QatLayer;
import dev.graft.engine.quant.QatModule;

/**
 * The module swap of {@link StaticQuantizer#prepareQat}: every Linear / Conv2d / {@link FusedReLU} call that static
 * quantization would convert becomes a {@link QatLayer} at the same path, wrapping the same layer object (so the
 * trained parameters are the ones convert later quantizes); a conv-bn pair kept unfused ({@link ConvBn2d}) becomes a
 * {@link QatConvBn} over the same conv and batch norm. Module replacement happens once on the block; later
 * specializations call the same paths and so the same QAT layers.
 */
final class QatSwap {
    private QatSwap() {
    }

    static void swapLayers(StaticQuantizer.BlockPlan plan, QConfigMapping mapping, long freezeBnAfterSteps) {
        for (Node n : plan.block.graph()) {
            if (!(n.target() instanceof Target.ModuleCall mc) || plan.qatLayers.containsKey(mc.path())
                    || plan.patterns.role(n) != QuantPatterns.Role.INT8) {
                continue;
            }
            Module m = plan.patterns.moduleOf(n);
            boolean relu = m instanceof FusedReLU;
            Module layer = m instanceof FusedReLU f ? f.layer() : m;
            if (!(layer instanceof Linear) && !(layer instanceof Conv2d) && !(layer instanceof ConvBn2d)) {
                continue;
            }
            QConfig qc = plan.qconfigFor(n, mapping);
            if (qc == null || qc.isDynamic()) {
                continue;
            }
            String where = StaticQuantizer.join(plan.path, mc.path());
            FakeQuantize wfq = weightFakeQuant(qc, where);
            Module qat = layer instanceof ConvBn2d cb
                    ? new QatConvBn(cb.conv(), cb.bn(), relu, wfq, freezeBnAfterSteps)
                    : new QatLayer(layer, relu, wfq);
            plan.qatLayers.put(mc.path(), (QatModule) qat);
            plan.block.replaceModule(mc.path(), qat);
        }
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
