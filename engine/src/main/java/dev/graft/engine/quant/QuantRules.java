package dev.graft.engine.quant;

import dev.graft.engine.Module;
import dev.graft.engine.graph.GraphOps;
import dev.graft.engine.graph.Meta;
import dev.graft.engine.graph.Node;
import dev.graft.engine.graph.Target;
import dev.graft.engine.nn.AdaptiveAvgPool2d;
import dev.graft.engine.nn.AvgPool2d;
import dev.graft.engine.nn.BatchNorm2d;
import dev.graft.engine.nn.Conv2d;
import dev.graft.engine.nn.Dropout;
import dev.graft.engine.nn.Embedding;
import dev.graft.engine.nn.Flatten;
import dev.graft.engine.nn.GELU;
import dev.graft.engine.nn.Identity;
import dev.graft.engine.nn.LayerNorm;
import dev.graft.engine.nn.LeakyReLU;
import dev.graft.engine.nn.Linear;
import dev.graft.engine.nn.MaxPool2d;
import dev.graft.engine.nn.ReLU;
import dev.graft.engine.nn.SiLU;
import dev.graft.engine.nn.Sigmoid;
import dev.graft.engine.nn.Softmax;
import dev.graft.engine.nn.Tanh;
import dev.graft.engine.quant.OpRule.Follow;
import dev.graft.engine.quant.OpRule.Report;
import dev.graft.engine.quant.OpRule.Role;
import dev.graft.engine.quant.nn.ConvBn2d;
import dev.graft.engine.quant.nn.DynamicQuantizedLinear;
import dev.graft.engine.quant.nn.FusedReLU;
import dev.graft.engine.quant.nn.QuantizedConv2d;
import dev.graft.engine.quant.nn.QuantizedEmbedding;
import dev.graft.engine.quant.nn.QuantizedGELU;
import dev.graft.engine.quant.nn.QuantizedLayerNorm;
import dev.graft.engine.quant.nn.QuantizedLeaf;
import dev.graft.engine.quant.nn.QuantizedLeakyReLU;
import dev.graft.engine.quant.nn.QuantizedLinear;
import dev.graft.engine.quant.nn.QuantizedLinearFloatOut;
import dev.graft.engine.quant.nn.QuantizedSigmoid;
import dev.graft.engine.quant.nn.QuantizedSoftmax;
import dev.graft.engine.save.ModuleRecord;
import dev.graft.ops.DType;
import dev.graft.ops.InPlace;
import dev.graft.ops.LinalgOps;
import dev.graft.ops.MathOps;
import dev.graft.ops.MovementOps;
import dev.graft.ops.NNOps;
import dev.graft.ops.NNPoolOps;
import dev.graft.ops.Op;
import dev.graft.ops.QParams;
import dev.graft.ops.QuantOps;
import dev.graft.ops.QuantizedOps;
import dev.graft.ops.Tensor;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static dev.graft.engine.save.ModuleCodecs.args;
import static dev.graft.engine.save.ModuleCodecs.as;
import static dev.graft.engine.save.ModuleCodecs.child;
import static dev.graft.engine.save.ModuleCodecs.config;
import static dev.graft.engine.save.ModuleCodecs.encode;
import static dev.graft.engine.save.ModuleCodecs.nested;
import static dev.graft.engine.save.ModuleCodecs.optional;
import static dev.graft.engine.save.ModuleCodecs.simple;
import static dev.graft.engine.save.ModuleCodecs.stateful;
import static dev.graft.engine.save.ModuleCodecs.tensor;

/**
 * The quantization rule of every operator Graft knows, in one table, in the manner of tinygrad's op table or
 * PyTorch's BackendConfig: one {@link OpRule} per operator, naming its functional form and its module class
 * together, so {@code F.gelu} inside a traced block and an {@code nn.GELU} leaf quantize the same way. Prepare reads
 * the roles, activation inputs and fixed outputs; convert the INT8 forms; the report how each counts; the tracer the
 * standard layers it keeps whole; save/load the codecs of the layers and of their INT8 modules.
 *
 * <p>Adding an INT8 operator is one entry here plus its INT8 module (or quantized op) and kernel.
 */
public final class QuantRules {
    /** The output qparams of softmax and sigmoid (range [0, 1]): scale 1/256, zero point 0, as PyTorch. */
    public static final QParams.PerTensor FIXED_OUTPUT = new QParams.PerTensor(QuantizedSoftmax.DEFAULT_OUTPUT_SCALE, 0);
    /** Above this ratio of operand ranges an add runs FP32: 8 bits cannot hold both (e.g. an attention mask). */
    public static final double MAX_ADD_RANGE_RATIO = 1000;

    private static final List<OpRule> RULES = new ArrayList<>();
    private static final Map<Op, OpRule> BY_OP = new HashMap<>();
    private static final Map<Class<?>, OpRule> BY_MODULE = new LinkedHashMap<>();
    private static final Map<Class<?>, OpRule.ModuleForm<?>> FORMS = new LinkedHashMap<>();
    private static final Map<String, OpRule.ModuleForm<?>> FORMS_BY_TYPE = new LinkedHashMap<>();

    static {
        // ---------------------------------------------------------------- INT8 layers with weights
        add(OpRule.named("linear")
                .functions(QuantRules::weightsAreAttrs, LinalgOps.LINEAR)
                .module(Linear.class, "Linear", stateful(m -> new ModuleRecord("Linear")
                        .with("in_features", m.inFeatures()).with("out_features", m.outFeatures())
                        .with("bias", m.bias() != null), c -> new Linear(c.getInt("in_features"),
                        c.getInt("out_features"), c.getBoolean("bias"), new Random(0))))
                .int8((m, ctx) -> {
                    Linear l = (Linear) m;
                    QParams w = ctx.weight(l.weight());
                    return QuantizedLinear.fromFloat(l, w.scales(), w.zeroPoints(), ctx.output().scale(),
                            ctx.output().zeroPoint(), ctx.relu());
                }, (n, attr) -> Linear.wrap(attr.apply((Node) n.args().get(1)), optionalAttr(n, 2, attr)))
                .dynamic((m, weight, reduceRange, perToken) -> {
                    QParams w = weight.apply(((Linear) m).weight());
                    return DynamicQuantizedLinear.fromFloat((Linear) m, w.scales(), w.zeroPoints(), reduceRange,
                            perToken);
                })
                .int8Module(QuantizedLinear.class, "QuantizedLinear", simple(m -> new ModuleRecord("QuantizedLinear")
                        .tensor("weight", m.weight()).tensor("bias", m.bias()).with("output_scale", m.outputScale())
                        .with("output_zero_point", m.outputZeroPoint()).with("relu", m.relu()),
                        (r, c) -> new QuantizedLinear(tensor(r, "weight"), optional(r, "bias"),
                                c.getFloat("output_scale"), c.getInt("output_zero_point"), c.getBoolean("relu"))),
                        m -> new Tensor[] {m.weight(), m.bias()})
                .int8Module(QuantizedLinearFloatOut.class, "QuantizedLinearFloatOut", simple(m -> quantizedOutput(
                        withActivation(new ModuleRecord("QuantizedLinearFloatOut").tensor("weight", m.weight())
                        .tensor("bias", m.bias()), m.activation()), m),
                        // Files from before the fused output quantization have no "output_scale": a float output.
                        (r, c) -> {
                            QuantizedLinearFloatOut q = new QuantizedLinearFloatOut(tensor(r, "weight"),
                                    optional(r, "bias")).withActivation(activation(c));
                            return c.has("output_scale") ? q.withQuantizedOutput(
                                    tensor(r, "output_factors").toFloatArray(), c.getFloat("output_scale"),
                                    c.getInt("output_zero_point")) : q;
                        }),
                        m -> new Tensor[] {m.weight(), m.bias()})
                .int8Module(DynamicQuantizedLinear.class, "DynamicQuantizedLinear", simple(m -> withActivation(
                        new ModuleRecord("DynamicQuantizedLinear").tensor("weight", m.weight())
                        .tensor("bias", m.bias()).with("reduce_range", m.reduceRange())
                        .with("per_token", m.perToken()), m.activation()),
                        // Files saved before per-token activations existed have no "per_token": per tensor; before
                        // fused activations, no "activation": none.
                        (r, c) -> new DynamicQuantizedLinear(tensor(r, "weight"), optional(r, "bias"),
                                c.getBoolean("reduce_range"), c.has("per_token") && c.getBoolean("per_token"))
                                .withActivation(activation(c))),
                        m -> new Tensor[] {m.weight(), m.bias()}));
        add(OpRule.named("conv2d")
                .functions(QuantRules::weightsAreAttrs, LinalgOps.CONV2D)
                .module(Conv2d.class, "Conv2d", stateful(m -> new ModuleRecord("Conv2d")
                        .with("in_channels", m.inChannels()).with("out_channels", m.outChannels())
                        .with("kernel", m.kernel()).with("stride", m.stride()).with("padding", m.padding())
                        .with("dilation", m.dilation()).with("groups", m.groups()).with("bias", m.bias() != null),
                        c -> new Conv2d(c.getInt("in_channels"), c.getInt("out_channels"), c.getInts("kernel"),
                                c.getInts("stride"), c.getInts("padding"), c.getInts("dilation"), c.getInt("groups"),
                                c.getBoolean("bias"), new Random(0))))
                .int8((m, ctx) -> {
                    Conv2d conv = (Conv2d) m;
                    QParams w = ctx.weight(conv.weight());
                    return QuantizedConv2d.fromFloat(conv, w.scales(), w.zeroPoints(), ctx.output().scale(),
                            ctx.output().zeroPoint(), ctx.relu());
                }, QuantRules::functionalConv)
                .int8Module(QuantizedConv2d.class, "QuantizedConv2d", simple(m -> new ModuleRecord("QuantizedConv2d")
                        .tensor("weight", m.weight()).tensor("bias", m.bias()).with("stride", m.stride())
                        .with("padding", m.padding()).with("dilation", m.dilation()).with("groups", m.groups())
                        .with("output_scale", m.outputScale()).with("output_zero_point", m.outputZeroPoint())
                        .with("relu", m.relu()), (r, c) -> new QuantizedConv2d(tensor(r, "weight"),
                        optional(r, "bias"), c.getInts("stride"), c.getInts("padding"), c.getInts("dilation"),
                        c.getInt("groups"), c.getFloat("output_scale"), c.getInt("output_zero_point"),
                        c.getBoolean("relu"))), m -> new Tensor[] {m.weight(), m.bias()}));
        // Fusion's wrappers: a layer with a ReLU after it, a conv with its batch norm (kept apart for QAT).
        add(OpRule.named("fused_relu")
                .wrapper(FusedReLU.class, "FusedReLU", nested((m, where) -> new ModuleRecord("FusedReLU")
                        .child("layer", encode(m.layer(), where + ".layer")),
                        (r, where) -> new FusedReLU(child(r, "layer", where))), false)
                .int8((m, ctx) -> {
                    Module layer = ((FusedReLU) m).layer();
                    return forModule(layer).int8().make(layer, ctx.withRelu());
                }, null));
        add(OpRule.named("conv_bn2d")
                .wrapper(ConvBn2d.class, "ConvBn2d", nested((m, where) -> new ModuleRecord("ConvBn2d")
                        .child("conv", encode(m.conv(), where + ".conv")).child("bn", encode(m.bn(), where + ".bn")),
                        (r, where) -> new ConvBn2d(as(child(r, "conv", where), Conv2d.class, where + ".conv"),
                                as(child(r, "bn", where), BatchNorm2d.class, where + ".bn"))), false)
                // QAT trained conv and BN apart: fold now, from the final running statistics.
                .int8((m, ctx) -> forModule(Conv2d.class).int8().make(((ConvBn2d) m).folded(), ctx), null));
        add(OpRule.named("quantized_leaf")
                .wrapper(QuantizedLeaf.class, "QuantizedLeaf", nested((m, where) -> new ModuleRecord("QuantizedLeaf")
                        .with("input_scale", m.inputScale()).with("input_zero_point", m.inputZeroPoint())
                        .child("int8", encode(m.int8(), where + ".int8")),
                        (r, where) -> new QuantizedLeaf(child(r, "int8", where),
                                config(r, where).getFloat("input_scale"), config(r, where).getInt("input_zero_point"))),
                        true));
        add(OpRule.named("embedding")
                .module(Embedding.class, "Embedding", stateful(m -> new ModuleRecord("Embedding")
                        .with("num_embeddings", m.weight().size(0)).with("embedding_dim", m.weight().size(1)),
                        c -> new Embedding(c.getInt("num_embeddings"), c.getInt("embedding_dim"), new Random(0))))
                // Weight-only: each row int8 with its own scale; lookups return float rows.
                .weightOnly((m, weight, reduceRange, perToken) -> {
                    QParams w = weight.apply(((Embedding) m).weight());
                    return QuantizedEmbedding.fromFloat((Embedding) m, w.scales(), w.zeroPoints());
                })
                .int8Module(QuantizedEmbedding.class, "QuantizedEmbedding", simple(m -> new ModuleRecord(
                        "QuantizedEmbedding").tensor("weight", m.weight()),
                        (r, c) -> new QuantizedEmbedding(tensor(r, "weight"))), m -> new Tensor[] {m.weight(), null}));

        // ---------------------------------------------------------------- INT8 by a float round trip
        add(OpRule.named("layer_norm")
                .functions(QuantRules::layerNormArgs, NNOps.LAYER_NORM)
                .module(LayerNorm.class, "LayerNorm", stateful(m -> new ModuleRecord("LayerNorm")
                        .with("normalized_shape", m.normalizedShape()).with("eps", m.eps()),
                        c -> new LayerNorm(c.getInts("normalized_shape"), c.getFloat("eps"))))
                .computesInFloat()
                .int8((m, ctx) -> QuantizedLayerNorm.fromFloat((LayerNorm) m, ctx.output().scale(),
                        ctx.output().zeroPoint()), (n, attr) -> LayerNorm.wrap((int[]) n.args().get(1),
                        optionalAttr(n, 2, attr), optionalAttr(n, 3, attr), ((Number) n.args().get(4)).floatValue()))
                .int8Module(QuantizedLayerNorm.class, "QuantizedLayerNorm", simple(m -> new ModuleRecord(
                        "QuantizedLayerNorm").with("normalized_shape", m.normalizedShape())
                        .tensor("weight", m.weight()).tensor("bias", m.bias()).with("eps", m.eps())
                        .with("output_scale", m.outputScale()).with("output_zero_point", m.outputZeroPoint()),
                        (r, c) -> new QuantizedLayerNorm(c.getInts("normalized_shape"), optional(r, "weight"),
                                optional(r, "bias"), c.getFloat("eps"), c.getFloat("output_scale"),
                                c.getInt("output_zero_point"))), null));
        add(OpRule.named("gelu")
                .functions(n -> n.args().size() == 1, MathOps.GELU, MathOps.GELU_TANH)
                .module(GELU.class, "GELU", stateful(m -> new ModuleRecord("GELU").with("tanh", m.tanhApproximation()),
                        c -> new GELU(c.getBoolean("tanh"))))
                .computesInFloat()
                .int8((m, ctx) -> new QuantizedGELU(((GELU) m).tanhApproximation(), ctx.output().scale(),
                        ctx.output().zeroPoint()), (n, attr) -> new GELU(n.op() == MathOps.GELU_TANH))
                .int8Module(QuantizedGELU.class, "QuantizedGELU", simple(m -> new ModuleRecord("QuantizedGELU")
                        .with("tanh", m.tanhApproximation()).with("output_scale", m.outputScale())
                        .with("output_zero_point", m.outputZeroPoint()), (r, c) -> new QuantizedGELU(
                        c.getBoolean("tanh"), c.getFloat("output_scale"), c.getInt("output_zero_point"))), null));
        add(OpRule.named("softmax")
                .functions(n -> n.args().size() == 2 && n.args().get(1) instanceof Integer, NNOps.SOFTMAX)
                .module(Softmax.class, "Softmax", stateful(m -> new ModuleRecord("Softmax").with("dim", m.dim()),
                        c -> new Softmax(c.getInt("dim"))))
                .computesInFloat().fixedOutput()
                .int8((m, ctx) -> new QuantizedSoftmax(((Softmax) m).dim(), ctx.output().scale(),
                        ctx.output().zeroPoint(), QuantizedSoftmax.Mode.FP32),
                        (n, attr) -> new Softmax((Integer) n.args().get(1)))
                .int8Module(QuantizedSoftmax.class, "QuantizedSoftmax", simple(m -> new ModuleRecord(
                        "QuantizedSoftmax").with("dim", m.dim()).with("output_scale", m.outputScale())
                        .with("output_zero_point", m.outputZeroPoint()).with("mode", m.mode()),
                        (r, c) -> new QuantizedSoftmax(c.getInt("dim"), c.getFloat("output_scale"),
                                c.getInt("output_zero_point"), c.getEnum("mode", QuantizedSoftmax.Mode.class))), null));
        add(OpRule.named("leaky_relu")
                .functions(n -> n.args().size() == 2 && n.args().get(1) instanceof Number, MathOps.LEAKY_RELU)
                .module(LeakyReLU.class, "LeakyReLU", stateful(m -> new ModuleRecord("LeakyReLU")
                        .with("negative_slope", m.negativeSlope()), c -> new LeakyReLU(c.getFloat("negative_slope"))))
                .computesInFloat()
                .int8((m, ctx) -> new QuantizedLeakyReLU(((LeakyReLU) m).negativeSlope(), ctx.output().scale(),
                        ctx.output().zeroPoint()), (n, attr) -> new LeakyReLU(((Number) n.args().get(1)).floatValue()))
                .int8Module(QuantizedLeakyReLU.class, "QuantizedLeakyReLU", simple(m -> new ModuleRecord(
                        "QuantizedLeakyReLU").with("negative_slope", m.negativeSlope())
                        .with("output_scale", m.outputScale()).with("output_zero_point", m.outputZeroPoint()),
                        (r, c) -> new QuantizedLeakyReLU(c.getFloat("negative_slope"), c.getFloat("output_scale"),
                                c.getInt("output_zero_point"))), null));
        add(OpRule.named("sigmoid")
                .functions(n -> n.args().size() == 1, MathOps.SIGMOID)
                .module(Sigmoid.class, "Sigmoid", stateful(m -> new ModuleRecord("Sigmoid"), c -> new Sigmoid()))
                .computesInFloat().fixedOutput()
                .int8((m, ctx) -> new QuantizedSigmoid(ctx.output().scale(), ctx.output().zeroPoint()),
                        (n, attr) -> new Sigmoid())
                .int8Module(QuantizedSigmoid.class, "QuantizedSigmoid", simple(m -> new ModuleRecord(
                        "QuantizedSigmoid").with("output_scale", m.outputScale())
                        .with("output_zero_point", m.outputZeroPoint()), (r, c) -> new QuantizedSigmoid(
                        c.getFloat("output_scale"), c.getInt("output_zero_point"))), null));

        // ---------------------------------------------------------------- INT8 operators on quint8 tensors
        add(OpRule.named("add").functions(QuantRules::twoFloatTensors, MathOps.ADD)
                .int8(QuantizedOps.ADD, QuantizedOps.ADD_RELU).activations(QuantRules::bothInputs)
                .maxOperandRangeRatio(MAX_ADD_RANGE_RATIO));
        add(OpRule.named("mul").functions(QuantRules::twoFloatTensors, MathOps.MUL)
                .int8(QuantizedOps.MUL, null).activations(QuantRules::bothInputs));
        add(OpRule.named("matmul").functions(QuantRules::twoFloatTensors, LinalgOps.MATMUL)
                .int8(QuantizedOps.MATMUL, null).activations(QuantRules::bothInputs));
        add(OpRule.named("cat")
                .functions(n -> n.args().get(0) instanceof List<?> xs && xs.stream().allMatch(QuantRules::isFloat),
                        MovementOps.CAT)
                .int8(QuantizedOps.CAT, null).activations(QuantRules::listInputs));

        // ---------------------------------------------------------------- same qparams as the input
        add(OpRule.named("relu").functions(MathOps.RELU)
                .module(ReLU.class, "ReLU", stateful(m -> new ModuleRecord("ReLU"), c -> new ReLU()))
                .follows(QuantizedOps.RELU, m -> List.of()));
        add(OpRule.named("max_pool2d").functions(NNPoolOps.MAX_POOL2D)
                .module(MaxPool2d.class, "MaxPool2d", stateful(m -> args("MaxPool2d", m.operatorArgs()), c -> {
                    List<Object> a = c.getList("args", Object.class);
                    return new MaxPool2d((int[]) a.get(0), (int[]) a.get(1), (int[]) a.get(2), (int[]) a.get(3),
                            (Boolean) a.get(4));
                }))
                .follows(QuantizedOps.MAX_POOL2D, m -> List.of(((MaxPool2d) m).operatorArgs())));
        add(OpRule.named("avg_pool2d").functions(NNPoolOps.AVG_POOL2D)
                .module(AvgPool2d.class, "AvgPool2d", stateful(m -> args("AvgPool2d", m.operatorArgs()), c -> {
                    List<Object> a = c.getList("args", Object.class);
                    return new AvgPool2d((int[]) a.get(0), (int[]) a.get(1), (int[]) a.get(2), (Boolean) a.get(3),
                            (Boolean) a.get(4));
                }))
                .follows(QuantizedOps.AVG_POOL2D, m -> List.of(((AvgPool2d) m).operatorArgs())));
        add(OpRule.named("adaptive_avg_pool2d").functions(NNPoolOps.ADAPTIVE_AVG_POOL2D)
                .module(AdaptiveAvgPool2d.class, "AdaptiveAvgPool2d", stateful(m -> args("AdaptiveAvgPool2d",
                        m.operatorArgs()), c -> new AdaptiveAvgPool2d((int[]) c.getList("args", Object.class).get(0))))
                .follows(QuantizedOps.ADAPTIVE_AVG_POOL2D, m -> List.of(((AdaptiveAvgPool2d) m).operatorArgs())));
        add(OpRule.named("upsample_bilinear2d").functions(NNPoolOps.UPSAMPLE_BILINEAR2D)
                .follows(QuantizedOps.UPSAMPLE_BILINEAR2D, null));
        add(OpRule.named("pad").functions(MovementOps.PAD)
                .follows(QuantizedOps.PAD, null).exactWhen(QuantRules::padIsExact));
        // Views carry per-tensor qparams through as they are (PyTorch's "general tensor shape ops").
        add(OpRule.named("views").functions(MovementOps.VIEW, MovementOps.RESHAPE, MovementOps.PERMUTE,
                        MovementOps.TRANSPOSE, MovementOps.CONTIGUOUS, MovementOps.SELECT, MovementOps.SLICE,
                        MovementOps.UNSQUEEZE, MovementOps.SQUEEZE, MovementOps.SPLIT, MovementOps.UNFLATTEN)
                .follows(Follow.KEEP));
        add(OpRule.named("flatten").functions(MovementOps.FLATTEN)
                .module(Flatten.class, "Flatten", stateful(m -> new ModuleRecord("Flatten")
                        .with("start_dim", m.startDim()).with("end_dim", m.endDim()),
                        c -> new Flatten(c.getInt("start_dim"), c.getInt("end_dim"))))
                .follows(Follow.KEEP));
        add(OpRule.named("getitem").functions(GraphOps.GET_ITEM).follows(Follow.KEEP).report(Report.HIDDEN));
        add(OpRule.named("dropout")
                .module(Dropout.class, "Dropout", stateful(m -> new ModuleRecord("Dropout").with("p", m.p()),
                        c -> new Dropout(c.getFloat("p"))))
                .follows(Follow.ERASE).onlyWhen(m -> !m.isTraining()));
        add(OpRule.named("identity")
                .module(Identity.class, "Identity", stateful(m -> new ModuleRecord("Identity"), c -> new Identity()))
                .follows(Follow.ERASE));

        // ---------------------------------------------------------------- FP32 layers and the conversions
        add(OpRule.named("batch_norm2d")
                .module(BatchNorm2d.class, "BatchNorm2d", stateful(m -> new ModuleRecord("BatchNorm2d")
                        .with("features", m.features()).with("eps", m.eps()).with("momentum", m.momentum()),
                        c -> new BatchNorm2d(c.getInt("features"), c.getFloat("eps"), c.getFloat("momentum")))));
        add(OpRule.named("tanh")
                .module(Tanh.class, "Tanh", stateful(m -> new ModuleRecord("Tanh"), c -> new Tanh())));
        add(OpRule.named("silu")
                .module(SiLU.class, "SiLU", stateful(m -> new ModuleRecord("SiLU"), c -> new SiLU())));
        add(OpRule.named("conversions").functions(QuantOps.QUANTIZE_PER_TENSOR, QuantOps.DEQUANTIZE)
                .report(Report.CONVERSION));
    }

    private QuantRules() {
    }

    private static void add(OpRule.Builder b) {
        OpRule rule = b.build();
        RULES.add(rule);
        for (Op op : rule.functions()) {
            if (BY_OP.put(op, rule) != null) {
                throw new IllegalStateException("QuantRules: two rules for operator " + op.name());
            }
        }
        if (rule.moduleClass() != null) {
            BY_MODULE.put(rule.moduleClass(), rule);
        }
        for (OpRule.ModuleForm<?> f : rule.forms()) {
            FORMS.put(f.moduleClass(), f);
            if (FORMS_BY_TYPE.put(f.type(), f) != null) {
                throw new IllegalStateException("QuantRules: two module forms are saved as " + f.type());
            }
        }
    }

    // ================================================================ lookups

    /** Every rule, in the table's order. */
    public static List<OpRule> all() {
        return List.copyOf(RULES);
    }

    /** The rule of a functional operator, or null (FP32, reported by precision). */
    public static OpRule forOp(Op op) {
        return BY_OP.get(op);
    }

    /** The rule of a module's class or its nearest superclass in the table, or null. */
    public static OpRule forModule(Module m) {
        return forModule(m.getClass());
    }

    private static OpRule forModule(Class<?> c) {
        for (Class<?> k = c; k != null && k != Module.class; k = k.getSuperclass()) {
            OpRule r = BY_MODULE.get(k);
            if (r != null) {
                return r;
            }
        }
        return null;
    }

    /** The rule of node {@code n}: its operator's, or its module's ({@code module}: what its target names). */
    public static OpRule of(Node n, Module module) {
        return switch (n.target()) {
            case Target.Function f -> forOp(f.op());
            case Target.ModuleCall mc -> module == null ? null : forModule(module);
            default -> null;
        };
    }

    /** What static quantization does with {@code n} ({@code module}: the module its target names, or null). */
    public static Role role(Node n, Module module) {
        OpRule r = of(n, module);
        return r == null ? Role.FP32 : r.roleOf(n, module);
    }

    /** The standard layers, which the tracer keeps whole (one call_module node each). */
    public static List<Class<? extends Module>> leafLayers() {
        List<Class<? extends Module>> out = new ArrayList<>();
        for (OpRule r : RULES) {
            for (OpRule.ModuleForm<?> f : r.forms()) {
                if (f.leaf()) {
                    out.add(f.moduleClass());
                }
            }
        }
        return out;
    }

    /** The module form (codec, leafness, INT8-ness) of exactly class {@code c}, or null. */
    public static OpRule.ModuleForm<?> formOf(Class<?> c) {
        return FORMS.get(c);
    }

    /** The module form saved under {@code type}, or null. */
    public static OpRule.ModuleForm<?> formOf(String type) {
        return FORMS_BY_TYPE.get(type);
    }

    /** Whether {@code m} computes on quint8 values or int8 weights (the operator table's INT8 column). */
    public static boolean runsInt8(Module m) {
        OpRule.ModuleForm<?> f = FORMS.get(m.getClass());
        return f != null && f.int8();
    }

    /** The int8 weight and float bias (or null) of an INT8 module that holds int8 weights; null otherwise. */
    public static Tensor[] int8WeightAndBias(Module m) {
        OpRule.ModuleForm<?> f = FORMS.get(m.getClass());
        return f == null ? null : f.weightAndBiasOf(m);
    }

    /** Whether {@code n} is a view: a call_function that keeps its input's quint8 values as they are. */
    public static boolean isView(Node n) {
        return n.target() instanceof Target.Function f && forOp(f.op()) instanceof OpRule r
                && r.follow() == Follow.KEEP;
    }

    /** Whether {@code a} is a float32 value (a node the tracer annotated so). */
    public static boolean isFloat(Object a) {
        return a instanceof Node n && n.meta(Meta.DTYPE) == DType.FLOAT32;
    }

    // ================================================================ argument checks and functional forms

    private static boolean isAttr(Object a) {
        return a instanceof Node n && n.target() instanceof Target.Attr;
    }

    /** linear / conv2d with a parameter weight and a parameter bias or none: the layer is a constant. */
    private static boolean weightsAreAttrs(Node n) {
        return isAttr(n.args().get(1)) && (n.args().size() < 3 || n.args().get(2) == null || isAttr(n.args().get(2)));
    }

    private static boolean layerNormArgs(Node n) {
        return n.args().size() == 5 && n.args().get(1) instanceof int[] && (n.args().get(2) == null
                || isAttr(n.args().get(2))) && (n.args().get(3) == null || isAttr(n.args().get(3)))
                && n.args().get(4) instanceof Number;
    }

    private static boolean twoFloatTensors(Node n) {
        return n.args().size() == 2 && isFloat(n.args().get(0)) && isFloat(n.args().get(1));
    }

    private static List<Node> bothInputs(Node n) {
        return List.of((Node) n.args().get(0), (Node) n.args().get(1));
    }

    private static List<Node> listInputs(Node n) {
        List<Node> out = new ArrayList<>();
        for (Object o : (List<?>) n.args().get(0)) {
            out.add((Node) o);
        }
        return out;
    }

    private static Tensor optionalAttr(Node n, int i, java.util.function.Function<Node, Tensor> attr) {
        return n.args().size() > i && n.args().get(i) instanceof Node b ? attr.apply(b) : null;
    }

    /** The Conv2d holding a functional conv2d node's weight, bias and geometry. */
    private static Module functionalConv(Node n, java.util.function.Function<Node, Tensor> attr) {
        Tensor weight = attr.apply((Node) n.args().get(1));
        Tensor bias = optionalAttr(n, 2, attr);
        int[] s = weight.shape();
        int groups = (Integer) n.args().get(6);
        Conv2d conv = new Conv2d(s[1] * groups, s[0], new int[] {s[2], s[3]}, (int[]) n.args().get(3),
                (int[]) n.args().get(4), (int[]) n.args().get(5), groups, bias != null, new Random(0));
        InPlace.copy(conv.weight(), weight.concrete().to(DType.FLOAT32));
        if (bias != null) {
            InPlace.copy(conv.bias(), bias.concrete().to(DType.FLOAT32));
        }
        return conv;
    }

    /**
     * Padding follows its input's qparams exactly when the value is representable ({@code 0.0} always is), or is
     * {@code -inf} read only by max pooling (through views), where the smallest quint8 value pads just as well.
     */
    private static boolean padIsExact(Node n, QParams.PerTensor q) {
        if (!(n.args().size() == 3 && n.args().get(2) instanceof Number v)) {
            return false;
        }
        float value = v.floatValue();
        if (value == Float.NEGATIVE_INFINITY) {
            return onlyMaxPoolsRead(n);
        }
        int qv = QuantOps.quantize(value, q.scale(), q.zeroPoint(), 0, 255);
        return QuantOps.dequantize(qv, q.scale(), q.zeroPoint()) == value;
    }

    private static boolean onlyMaxPoolsRead(Node n) {
        for (Node u : n.users()) {
            boolean ok = u.target() instanceof Target.Function f && (f.op() == NNPoolOps.MAX_POOL2D
                    || (isView(u) && u.args().get(0) == n && onlyMaxPoolsRead(u)));
            if (!ok) {
                return false;
            }
        }
        return !n.users().isEmpty();
    }

    /** A saved layer's fused activation ({@code "gelu"}; absent: none); anything else is refused by name. */
    private static dev.graft.kernels.Activation activation(dev.graft.engine.save.SavedConfig c) {
        if (!c.has("activation")) {
            return dev.graft.kernels.Activation.NONE;
        }
        String a = c.getString("activation");
        return switch (a) {
            case "gelu" -> dev.graft.kernels.Activation.GELU;
            case "relu" -> dev.graft.kernels.Activation.RELU;
            default -> throw new IllegalArgumentException("unknown activation '" + a + "' (gelu or relu)");
        };
    }

    /** Records a fused activation only when there is one (files of plain layers stay as they were). */
    /** The fused channel scale and quantization of a float-output INT8 layer, when it has one. */
    private static ModuleRecord quantizedOutput(ModuleRecord r, QuantizedLinearFloatOut m) {
        float[] factors = m.outputFactors();
        return factors == null ? r : r.tensor("output_factors", Tensor.wrap(factors, factors.length))
                .with("output_scale", m.outputScale()).with("output_zero_point", m.outputZeroPoint());
    }

    private static ModuleRecord withActivation(ModuleRecord r, dev.graft.kernels.Activation a) {
        return a == dev.graft.kernels.Activation.NONE ? r
                : r.with("activation", a.name().toLowerCase(java.util.Locale.ROOT));
    }
}
