package dev.graft.engine.quant;

import dev.graft.engine.Module;
import dev.graft.engine.graph.Node;
import dev.graft.engine.graph.Target;
import dev.graft.engine.save.ModuleCodecs;
import dev.graft.ops.Op;
import dev.graft.ops.QParams;
import dev.graft.ops.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.BiPredicate;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * Everything quantization knows about one operator, in its functional form (call_function of an {@link Op}) and as
 * a module class (call_module of a leaf): its {@link Role}, which inputs are activations, whether its output qparams
 * are fixed, whether its INT8 form computes in float, what convert replaces it with, how its module classes are
 * saved, and how it is counted in the operator table. {@link QuantRules} holds one rule per operator; prepare,
 * convert, the report, the tracer's leaves and save/load all read the same rule.
 */
public final class OpRule {

    /** What static quantization does with a node. */
    public enum Role {
        /** Own output qparams: observed inputs and output, replaced by an INT8 form. */
        INT8,
        /** INT8 when its input already is, with the input's qparams (relu, pooling, views): no observer of its own. */
        SAME_QPARAMS,
        /** int8 weights, float output (embedding). */
        WEIGHT_ONLY,
        /** Stays float. */
        FP32
    }

    /** How a same-qparams node follows its quint8 input. */
    public enum Follow {
        /** Unchanged: a view of the quint8 value (reshape, permute, getitem, Flatten). */
        KEEP,
        /** Removed: the identity in eval mode (Dropout, Identity). */
        ERASE,
        /** Becomes {@link OpRule#int8Op()} on the quint8 value (relu, pooling, padding, upsampling). */
        REPLACE
    }

    /** How a node of this operator is counted in the operator table. */
    public enum Report {
        /** As INT8 or FP32, by what it computes on. */
        BY_PRECISION,
        /** As a quantize / dequantize conversion. */
        CONVERSION,
        /** Not at all (getitem: part of the node that made the value). */
        HIDDEN
    }

    /**
     * A module class the rule knows: the name files give it and its codec, whether it is a standard layer the tracer
     * keeps whole by default (one call_module node; the modules passes make are {@code LeafModule}s themselves), and,
     * for an INT8 module, that it counts as INT8 and where its int8 weight and float bias are.
     */
    public record ModuleForm<M extends Module>(Class<M> moduleClass, String type, ModuleCodecs.Codec<M> codec,
                                                boolean leaf, boolean int8, Function<M, Tensor[]> weightAndBias) {
        public ModuleForm {
            Objects.requireNonNull(moduleClass);
            Objects.requireNonNull(type);
            Objects.requireNonNull(codec);
        }

        /** The int8 weight and float bias (or null) of {@code m}; null when this module holds no int8 weight. */
        public Tensor[] weightAndBiasOf(Module m) {
            return weightAndBias == null ? null : weightAndBias.apply(moduleClass.cast(m));
        }
    }

    /** What an INT8 replacement is built with. */
    public interface Int8Context {
        /** The output qparams (calibrated, or the operator's fixed ones). */
        QParams.PerTensor output();

        /** Whether a ReLU was fused into the layer. */
        boolean relu();

        /** The same context with a fused ReLU. */
        Int8Context withRelu();

        /** The weight's qparams: QAT's, or a fresh weight observer's; counts the weight as quantized. */
        QParams weight(Tensor weight);

        /** The layer's path, for messages. */
        String where();
    }

    /** Makes the INT8 module standing in for an FP32 module. */
    @FunctionalInterface
    public interface Int8Factory {
        Module make(Module fp32, Int8Context ctx);
    }

    /** The FP32 module a functional node computes ({@code attr} reads a get_attr argument's tensor). */
    @FunctionalInterface
    public interface FunctionalModule {
        Module make(Node n, Function<Node, Tensor> attr);
    }

    /**
     * Makes a module with int8 weights that computes on float activations (dynamic, weight-only); {@code weight}
     * gives the qparams of a weight tensor (and counts it as quantized); {@code reduceRange} and {@code perToken}
     * say how a dynamic layer quantizes its activations (weight-only forms ignore them).
     */
    @FunctionalInterface
    public interface WeightFactory {
        Module make(Module fp32, Function<Tensor, QParams> weight, boolean reduceRange, boolean perToken);
    }

    private final String name;
    private final List<Op> functions;
    private final Class<? extends Module> moduleClass;
    private final List<ModuleForm<?>> forms;
    private final Role role;
    private final Predicate<Node> functionArgs;
    private final Predicate<Module> moduleQualifies;
    private final Function<Node, List<Node>> activationInputs;
    private final boolean fixedOutput;
    private final boolean computesInFloat;
    private final double maxOperandRangeRatio;
    private final Int8Factory int8;
    private final FunctionalModule asModule;
    private final Op int8Op;
    private final Op int8OpWithRelu;
    private final Follow follow;
    private final Function<Module, List<Object>> moduleOpArgs;
    private final BiPredicate<Node, QParams.PerTensor> followsExactly;
    private final WeightFactory weightOnly;
    private final WeightFactory dynamic;
    private final Report report;

    private OpRule(Builder b) {
        this.name = b.name;
        this.functions = List.copyOf(b.functions);
        this.moduleClass = b.moduleClass;
        this.forms = List.copyOf(b.forms);
        this.role = b.role;
        this.functionArgs = b.functionArgs;
        this.moduleQualifies = b.moduleQualifies;
        this.activationInputs = b.activationInputs;
        this.fixedOutput = b.fixedOutput;
        this.computesInFloat = b.computesInFloat;
        this.maxOperandRangeRatio = b.maxOperandRangeRatio;
        this.int8 = b.int8;
        this.asModule = b.asModule;
        this.int8Op = b.int8Op;
        this.int8OpWithRelu = b.int8OpWithRelu;
        this.follow = b.follow;
        this.moduleOpArgs = b.moduleOpArgs;
        this.followsExactly = b.followsExactly;
        this.weightOnly = b.weightOnly;
        this.dynamic = b.dynamic;
        this.report = b.report;
    }

    /** A rule under construction; {@link QuantRules} declares each rule with one of these. */
    static Builder named(String name) {
        return new Builder(name);
    }

    public String name() {
        return name;
    }

    /** The operators of the functional form (gelu has two: exact and tanh). */
    public List<Op> functions() {
        return functions;
    }

    /** The FP32 module class of the module form, or null. */
    public Class<? extends Module> moduleClass() {
        return moduleClass;
    }

    /** Every module class this rule declares (the FP32 layer, its INT8 forms), for codecs, leaves and the report. */
    public List<ModuleForm<?>> forms() {
        return forms;
    }

    /** The role of node {@code n}; {@code module} is the module its call_module target names (null otherwise). */
    public Role roleOf(Node n, Module module) {
        if (n.target() instanceof Target.ModuleCall) {
            return module != null && n.args().size() == 1 && moduleQualifies.test(module) ? role : Role.FP32;
        }
        return functionArgs.test(n) ? role : Role.FP32;
    }

    /** The values an INT8 node reads as quint8 (weights excepted: they have their own observer). */
    public List<Node> activationInputs(Node n) {
        return activationInputs.apply(n);
    }

    /** Whether the output qparams are fixed ({@link QuantRules#FIXED_OUTPUT}), so no output observer is needed. */
    public boolean hasFixedOutput() {
        return fixedOutput;
    }

    /**
     * Whether the INT8 form dequantizes, computes in float and quantizes (or looks up a table built that way): exact
     * on quint8 input, nothing gained on float input.
     */
    public boolean computesInFloat() {
        return computesInFloat;
    }

    /** Above this ratio of the operands' ranges the operator stays FP32 (8 bits cannot hold both); 0: no limit. */
    public double maxOperandRangeRatio() {
        return maxOperandRangeRatio;
    }

    /** The INT8 module of an FP32 module, or null when the INT8 form is an operator ({@link #int8Op()}). */
    public Int8Factory int8() {
        return int8;
    }

    /** The FP32 module a functional node stands for (its INT8 form is then that module's), or null. */
    public FunctionalModule asModule() {
        return asModule;
    }

    /** The INT8 operator: the quantized form of an INT8 function, or what a same-qparams node becomes. */
    public Op int8Op() {
        return int8Op;
    }

    /** The INT8 operator when a ReLU was fused into this one (add -> add_relu), or null. */
    public Op int8OpWithRelu() {
        return int8OpWithRelu;
    }

    public Follow follow() {
        return follow;
    }

    /** The operator arguments after the input that a module form's {@link #int8Op()} takes (pooling windows). */
    public List<Object> moduleOpArgs(Module m) {
        return moduleOpArgs == null ? List.of() : moduleOpArgs.apply(m);
    }

    /** Whether a same-qparams node computes on input qparams {@code q} exactly as in FP32 (padding values). */
    public boolean followsExactly(Node n, QParams.PerTensor q) {
        return followsExactly == null || followsExactly.test(n, q);
    }

    /** The weight-only INT8 module (embedding), or null. */
    public WeightFactory weightOnly() {
        return weightOnly;
    }

    /** The dynamic INT8 module (int8 weights, activations quantized per call), or null. */
    public WeightFactory dynamic() {
        return dynamic;
    }

    public Report report() {
        return report;
    }

    @Override
    public String toString() {
        return "OpRule[" + name + ", " + role + "]";
    }

    /** The activation inputs of most operators: the first argument. */
    static List<Node> firstInput(Node n) {
        return List.of((Node) n.args().get(0));
    }

    static final class Builder {
        private final String name;
        private final List<Op> functions = new ArrayList<>();
        private Class<? extends Module> moduleClass;
        private final List<ModuleForm<?>> forms = new ArrayList<>();
        private Role role = Role.FP32;
        private Predicate<Node> functionArgs = n -> true;
        private Predicate<Module> moduleQualifies = m -> true;
        private Function<Node, List<Node>> activationInputs = OpRule::firstInput;
        private boolean fixedOutput;
        private boolean computesInFloat;
        private double maxOperandRangeRatio;
        private Int8Factory int8;
        private FunctionalModule asModule;
        private Op int8Op;
        private Op int8OpWithRelu;
        private Follow follow;
        private Function<Module, List<Object>> moduleOpArgs;
        private BiPredicate<Node, QParams.PerTensor> followsExactly;
        private WeightFactory weightOnly;
        private WeightFactory dynamic;
        private Report report = Report.BY_PRECISION;

        private Builder(String name) {
            this.name = name;
        }

        /** The functional form: these operators, when {@code args} holds for the node's arguments. */
        Builder functions(Predicate<Node> args, Op... ops) {
            this.functions.addAll(List.of(ops));
            this.functionArgs = args;
            return this;
        }

        Builder functions(Op... ops) {
            return functions(n -> true, ops);
        }

        /** The module form: a standard layer the tracer keeps whole, saved with {@code codec} under {@code type}. */
        <M extends Module> Builder module(Class<M> cls, String type, ModuleCodecs.Codec<M> codec) {
            this.moduleClass = cls;
            this.forms.add(new ModuleForm<>(cls, type, codec, true, false, null));
            return this;
        }

        /** A module only passes make (wrappers, QuantizedLeaf), saved with {@code codec}. */
        <M extends Module> Builder wrapper(Class<M> cls, String type, ModuleCodecs.Codec<M> codec, boolean int8) {
            this.moduleClass = cls;
            this.forms.add(new ModuleForm<>(cls, type, codec, false, int8, null));
            return this;
        }

        /** An INT8 module this operator is replaced by, with its codec and, if it has one, its int8 weight. */
        <M extends Module> Builder int8Module(Class<M> cls, String type, ModuleCodecs.Codec<M> codec,
                                              Function<M, Tensor[]> weightAndBias) {
            this.forms.add(new ModuleForm<>(cls, type, codec, false, true, weightAndBias));
            return this;
        }

        Builder role(Role r) {
            this.role = r;
            return this;
        }

        Builder onlyWhen(Predicate<Module> qualifies) {
            this.moduleQualifies = qualifies;
            return this;
        }

        Builder activations(Function<Node, List<Node>> inputs) {
            this.activationInputs = inputs;
            return this;
        }

        Builder fixedOutput() {
            this.fixedOutput = true;
            return this;
        }

        Builder computesInFloat() {
            this.computesInFloat = true;
            return this;
        }

        Builder maxOperandRangeRatio(double ratio) {
            this.maxOperandRangeRatio = ratio;
            return this;
        }

        /** INT8 as a module: {@code factory} on the FP32 module, {@code asModule} for the functional form. */
        Builder int8(Int8Factory factory, FunctionalModule asModule) {
            this.role = Role.INT8;
            this.int8 = factory;
            this.asModule = asModule;
            return this;
        }

        /** INT8 as an operator on quint8 tensors (its arguments: the quint8 inputs, then output scale and zero point). */
        Builder int8(Op op, Op withRelu) {
            this.role = Role.INT8;
            this.int8Op = op;
            this.int8OpWithRelu = withRelu;
            return this;
        }

        Builder follows(Follow how) {
            this.role = Role.SAME_QPARAMS;
            this.follow = how;
            return this;
        }

        /** Same qparams, replaced by {@code op}; a module form passes {@code args} after the input. */
        Builder follows(Op op, Function<Module, List<Object>> args) {
            follows(Follow.REPLACE);
            this.int8Op = op;
            this.moduleOpArgs = args;
            return this;
        }

        Builder exactWhen(BiPredicate<Node, QParams.PerTensor> exact) {
            this.followsExactly = exact;
            return this;
        }

        Builder weightOnly(WeightFactory factory) {
            this.role = Role.WEIGHT_ONLY;
            this.weightOnly = factory;
            return this;
        }

        Builder dynamic(WeightFactory factory) {
            this.dynamic = factory;
            return this;
        }

        Builder report(Report r) {
            this.report = r;
            return this;
        }

        OpRule build() {
            return new OpRule(this);
        }
    }
}
