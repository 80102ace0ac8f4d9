package dev.graft.engine.quant.tune;

import dev.graft.engine.Module;
import dev.graft.engine.graph.Graph;
import dev.graft.engine.graph.GraphModule;
import dev.graft.engine.graph.Node;
import dev.graft.engine.graph.Target;
import dev.graft.engine.nn.Dropout;
import dev.graft.engine.nn.GELU;
import dev.graft.engine.nn.LayerNorm;
import dev.graft.engine.nn.Linear;
import dev.graft.engine.nn.Softmax;
import dev.graft.engine.quant.QConfigMapping;
import dev.graft.engine.quant.QuantRules;
import dev.graft.engine.trace.Partition;
import dev.graft.ops.LinalgOps;
import dev.graft.ops.MathOps;
import dev.graft.ops.NNOps;
import dev.graft.ops.Op;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The default static recipe, read from the traced graphs rather than written per model. It looks for the three
 * patterns of a transformer encoder, in any number of layers, under any module names:
 * <ul>
 *   <li><b>attention</b>: a softmax whose output a matmul reads; when its input is an add of the attention mask
 *       (BERT adds {@code -FLT_MAX} for padding), that add stays FP32: no 8-bit scale holds that range;</li>
 *   <li><b>residual + LayerNorm</b>: a LayerNorm whose input is an add of two activations. The residual stream
 *       carries a few channels 10-100x larger than the rest, which one per-tensor scale serves badly: the add and
 *       the LayerNorm stay FP32 (measured on MiniLM: 0.857 and 0.926 cosine to FP32 with them INT8);</li>
 *   <li><b>GELU feed-forward</b>: Linear -> GELU -> Linear. The output projection reads GELU's long-tailed output;
 *       the GELU stays FP32 so that SmoothQuant can still divide that output per channel (after an INT8 GELU it is
 *       already rounded to one per-tensor scale).</li>
 * </ul>
 * When any is found, the recipe is: every Linear static INT8, SmoothQuant ({@link #ALPHA}) before those whose input
 * stays float ({@link Recipe#smoothed}: after the LayerNorms and the GELUs), min/max activation ranges (a histogram's
 * L2 search clips the outlier channels), per-channel weights, float outputs for the INT8 Linears read only by FP32
 * operators, and the FP32 operators above. A graph with none of them gets {@link Recipe#generic()}.
 */
public final class TransformerDefaults {
    /** SmoothQuant's alpha in the default recipe (measured on MiniLM, docs/RESULTS.md). */
    public static final double ALPHA = 0.75;

    private TransformerDefaults() {
    }

    /**
     * The part of the default recipe that needs neither the graph nor calibration statistics, for callers that
     * only take a mapping: every Linear static INT8 with float outputs where its readers run FP32, min/max
     * activations, per-channel weights; LayerNorm, every add and GELU FP32. Without SmoothQuant it measures 0.992
     * mean cosine on MiniLM against {@link #recipe}'s 0.997 (docs/RESULTS.md).
     */
    public static QConfigMapping staticMapping() {
        return new Recipe(Recipe.ActivationObserver.MINMAX, true, Double.NaN, Map.of()).mapping()
                .byOperator(MathOps.ADD, null).byModuleClass(LayerNorm.class, null).byModuleClass(GELU.class, null)
                .byOperator(MathOps.GELU, null);
    }

    /** What the default recipe recognized in a partition's traced blocks. */
    public record Patterns(int attention, int residualLayerNorm, int geluFeedForward, Map<String, String> fp32) {
        public boolean isTransformer() {
            return attention + residualLayerNorm + geluFeedForward > 0;
        }

        @Override
        public String toString() {
            return attention + " attention, " + residualLayerNorm + " residual + LayerNorm, " + geluFeedForward
                    + " GELU feed-forward; " + fp32.size() + " operators kept FP32";
        }
    }

    /** The default static recipe for this partition (a transformer's, or the generic one). */
    public static Recipe recipe(Partition partition) {
        Patterns found = find(partition);
        if (!found.isTransformer()) {
            return Recipe.generic();
        }
        Map<String, Recipe.Choice> overrides = new LinkedHashMap<>();
        found.fp32().keySet().forEach(op -> overrides.put(op, Recipe.Choice.FP32));
        return new Recipe(Recipe.ActivationObserver.MINMAX, true, ALPHA, overrides);
    }

    /** The patterns of every traced block, with the operators they keep FP32 (operator name -> why). */
    public static Patterns find(Partition partition) {
        int attention = 0;
        int residual = 0;
        int ffn = 0;
        Map<String, String> fp32 = new LinkedHashMap<>();
        for (Map.Entry<String, GraphModule> e : partition.blocks().entrySet()) {
            GraphModule block = e.getValue();
            if (!block.canRetrace()) {
                continue;
            }
            String blockPath = e.getKey();
            Graph g = block.specializations().get(0).source();
            for (Node n : g.nodes()) {
                if (isSoftmax(block, n) && readsIntoMatmul(block, n)) {
                    attention++;
                    if (n.args().get(0) instanceof Node in && isFunction(in, MathOps.ADD)) {
                        fp32.put(id(blockPath, block, in), "attention mask add");
                    }
                } else if (isLayerNorm(block, n) && n.args().get(0) instanceof Node in && isFunction(in, MathOps.ADD)
                        && QuantRules.isFloat(in.args().get(0)) && QuantRules.isFloat(in.args().get(1))) {
                    residual++;
                    fp32.put(id(blockPath, block, in), "residual add before a LayerNorm");
                    fp32.put(id(blockPath, block, n), "LayerNorm of the residual stream");
                } else if (isGelu(block, n) && n.args().get(0) instanceof Node in && isLinear(block, in)
                        && n.users().stream().anyMatch(u -> isLinear(block, u))) {
                    ffn++;
                    fp32.put(id(blockPath, block, n), "GELU before the smoothed output projection");
                }
            }
        }
        return new Patterns(attention, residual, ffn, fp32);
    }

    private static String id(String blockPath, GraphModule block, Node n) {
        return Recipe.opId(blockPath, n);
    }

    /** Whether a matmul reads {@code n}, directly or through dropout (BERT's attention probabilities). */
    private static boolean readsIntoMatmul(GraphModule block, Node n) {
        for (Node u : n.users()) {
            if (isFunction(u, LinalgOps.MATMUL)
                    || (moduleOf(block, u) instanceof Dropout && readsIntoMatmul(block, u))) {
                return true;
            }
        }
        return false;
    }

    private static Module moduleOf(GraphModule block, Node n) {
        return n.target() instanceof Target.ModuleCall mc ? block.module(mc.path()) : null;
    }

    private static boolean isFunction(Node n, Op op) {
        return n.target() instanceof Target.Function f && f.op() == op;
    }

    private static boolean isSoftmax(GraphModule block, Node n) {
        return isFunction(n, NNOps.SOFTMAX) || moduleOf(block, n) instanceof Softmax;
    }

    private static boolean isLayerNorm(GraphModule block, Node n) {
        return isFunction(n, NNOps.LAYER_NORM) || moduleOf(block, n) instanceof LayerNorm;
    }

    private static boolean isGelu(GraphModule block, Node n) {
        return isFunction(n, MathOps.GELU) || isFunction(n, MathOps.GELU_TANH) || moduleOf(block, n) instanceof GELU;
    }

    private static boolean isLinear(GraphModule block, Node n) {
        return moduleOf(block, n) instanceof Linear || isFunction(n, LinalgOps.LINEAR);
    }
}
