package dev.graft.models.bert;

import dev.graft.engine.Module;
import dev.graft.engine.nn.LayerNorm;
import dev.graft.engine.quant.QConfig;
import dev.graft.engine.quant.QConfigMapping;
import dev.graft.engine.quant.QDType;
import dev.graft.engine.quant.QScheme;
import dev.graft.engine.quant.QuantSpec;
import dev.graft.engine.quant.observe.MinMaxObserver;
import dev.graft.engine.quant.observe.PerChannelMinMaxObserver;
import dev.graft.ops.MathOps;

import java.util.Map;

/**
 * The static recipe of {@link MiniLm#staticMapping()} derived from a model's structure instead of written per model
 * size: min/max observers, the residual adds and LayerNorms kept FP32, and the output projection of every
 * feed-forward block ({@link BertOutput}'s {@code dense}, found wherever it sits in the module tree) quantized
 * dynamically. So a 12-layer export, a classifier ({@code bert.encoder...}) or a model with BERT inside a user's own
 * module all get the recipe without counting layers.
 */
public final class BertRecipes {
    private BertRecipes() {
    }

    public static QConfigMapping staticMapping(Module model) {
        QConfig minMax = new QConfig(
                () -> new MinMaxObserver(QuantSpec.of(QDType.QUINT8, QScheme.PER_TENSOR_AFFINE, false)),
                () -> new PerChannelMinMaxObserver(QuantSpec.of(QDType.QINT8, QScheme.PER_CHANNEL_SYMMETRIC, false)));
        QConfigMapping m = new QConfigMapping().global(minMax)
                .byOperator(MathOps.ADD, null)
                .byModuleClass(LayerNorm.class, null);
        int found = 0;
        for (Map.Entry<String, Module> e : model.namedModules().entrySet()) {
            if (e.getValue() instanceof BertOutput) {
                m.byModuleName(e.getKey().isEmpty() ? "dense" : e.getKey() + ".dense", QConfig.dynamicDefault());
                found++;
            }
        }
        if (found == 0) {
            throw new IllegalArgumentException("no BertOutput (feed-forward output block) in " + model.getClass()
                    .getSimpleName() + ": this recipe is for BERT-family models");
        }
        return m;
    }
}
