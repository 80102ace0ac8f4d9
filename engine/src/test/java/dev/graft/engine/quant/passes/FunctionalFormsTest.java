package dev.graft.engine.quant.passes;

import dev.graft.engine.Module;
import dev.graft.engine.Submodule;
import dev.graft.engine.nn.GELU;
import dev.graft.engine.nn.LayerNorm;
import dev.graft.engine.nn.LeakyReLU;
import dev.graft.engine.nn.Linear;
import dev.graft.engine.nn.Sigmoid;
import dev.graft.engine.quant.report.QuantizationReport;
import dev.graft.engine.trace.Partition;
import dev.graft.engine.trace.Partitioner;
import dev.graft.ops.F;
import dev.graft.ops.InPlace;
import dev.graft.ops.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An operator quantizes the same way whether a traced block calls it as a function ({@code F.gelu}) or through its
 * module ({@code nn.GELU}): one rule per operator. Two blocks that differ only in that form, with the same weights
 * and calibration, give bit-identical INT8 outputs, and both count the operator as INT8.
 */
class FunctionalFormsTest {
    private static final int IN = 8;
    private static final int HIDDEN = 16;

    /** fc1 -> the activation -> fc2, with the activation as a leaf module. */
    static final class WithModule extends Module {
        private final Submodule fc1;
        private final Submodule act;
        private final Submodule fc2;

        WithModule(Module activation) {
            fc1 = submodule("fc1", new Linear(IN, HIDDEN, true, new Random(1)));
            act = submodule("act", activation);
            fc2 = submodule("fc2", new Linear(HIDDEN, 4, true, new Random(2)));
        }

        @Override
        protected Tensor forward(Tensor... inputs) {
            return fc2.call(act.call(fc1.call(single(inputs))));
        }
    }

    /** The same block calling the operator functionally (layer norm's scale and shift are its own parameters). */
    static final class WithFunction extends Module {
        private final Submodule fc1 = submodule("fc1", new Linear(IN, HIDDEN, true, new Random(1)));
        private final Submodule fc2 = submodule("fc2", new Linear(HIDDEN, 4, true, new Random(2)));
        private final String op;
        private final Tensor lnWeight;
        private final Tensor lnBias;

        WithFunction(String op, LayerNorm norm) {
            this.op = op;
            this.lnWeight = registerParameter("ln_weight", Tensor.wrap(norm.weight().toFloatArray(), HIDDEN));
            this.lnBias = registerParameter("ln_bias", Tensor.wrap(norm.bias().toFloatArray(), HIDDEN));
        }

        @Override
        protected Tensor forward(Tensor... inputs) {
            Tensor h = fc1.call(single(inputs));
            Tensor a = switch (op) {
                case "gelu" -> F.gelu(h);
                case "gelu_tanh" -> F.geluTanh(h);
                case "sigmoid" -> F.sigmoid(h);
                case "leaky_relu" -> F.leakyRelu(h, 0.1f);
                case "layer_norm" -> F.layerNorm(h, new int[] {HIDDEN}, lnWeight, lnBias, 1e-5f);
                default -> throw new IllegalArgumentException(op);
            };
            return fc2.call(a);
        }
    }

    private static Module activation(String op, LayerNorm norm) {
        return switch (op) {
            case "gelu" -> new GELU();
            case "gelu_tanh" -> new GELU(true);
            case "sigmoid" -> new Sigmoid();
            case "leaky_relu" -> new LeakyReLU(0.1f);
            case "layer_norm" -> norm;
            default -> throw new IllegalArgumentException(op);
        };
    }

    private static String int8Name(String op) {
        return switch (op) {
            case "gelu", "gelu_tanh" -> "QuantizedGELU";
            case "sigmoid" -> "QuantizedSigmoid";
            case "leaky_relu" -> "QuantizedLeakyReLU";
            default -> "QuantizedLayerNorm";
        };
    }

    @ParameterizedTest
    @ValueSource(strings = {"gelu", "gelu_tanh", "sigmoid", "leaky_relu", "layer_norm"})
    void functionalAndModuleFormsQuantizeTheSame(String op) {
        Random rng = new Random(9);
        LayerNorm norm = new LayerNorm(HIDDEN);
        InPlace.copy(norm.weight(), Tensor.rand(rng, 0.5f, 1.5f, HIDDEN));
        InPlace.copy(norm.bias(), Tensor.randn(rng, HIDDEN));
        List<Object[]> calibration = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            calibration.add(new Object[] {Tensor.randn(rng, 6, IN).mul(2f)});
        }
        Tensor x = Tensor.randn(rng, 5, IN).mul(2.5f);

        Quantized viaModule = quantize(() -> new WithModule(activation(op, norm)), calibration);
        Quantized viaFunction = quantize(() -> new WithFunction(op, norm), calibration);

        for (Quantized q : List.of(viaModule, viaFunction)) {
            QuantizationReport.Block block = q.report.blocks().get(0);
            assertEquals(1, block.int8Ops().getOrDefault(int8Name(op), 0), q.report.describe());
            assertEquals(0, block.fp32Count(), "every operator runs INT8: " + q.report.describe());
        }
        float[] a = viaModule.partition.model().call(x).toFloatArray();
        float[] b = viaFunction.partition.model().call(x).toFloatArray();
        assertTrue(a.length > 0);
        assertArrayEquals(bits(a), bits(b), op + ": the two forms give the same INT8 model");
    }

    private record Quantized(Partition partition, QuantizationReport report) {
    }

    private static Quantized quantize(Supplier<Module> make, List<Object[]> calibration) {
        Module model = make.get();
        model.eval();
        Partition p = Partitioner.partition(model, calibration.get(0));
        StaticQuantizer.Prepared prepared = StaticQuantizer.prepare(p, StaticQuantizer.defaultMapping());
        StaticQuantizer.calibrate(prepared, calibration, (d, t, m) -> { });
        return new Quantized(p, StaticQuantizer.convert(prepared));
    }

    private static int[] bits(float[] v) {
        int[] out = new int[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = Float.floatToRawIntBits(v[i]);
        }
        return out;
    }
}
