package dev.graft.engine.save;

import dev.graft.engine.Module;
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
import dev.graft.engine.quant.nn.QuantizedSigmoid;
import dev.graft.engine.quant.nn.QuantizedSoftmax;
import dev.graft.ops.Tensor;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * How each kind of module a traced block calls is saved and rebuilt: the standard FP32 layers (configuration plus
 * their state dict), the quantized layers (configuration plus int8 weights with qparams, repacked once when
 * rebuilt), and any module implementing {@link Savable}. Other modules are refused by name at save time, so a
 * file never holds something its loader cannot rebuild.
 */
public final class ModuleCodecs {

    /** Saves and rebuilds one module class. */
    public interface Codec<M extends Module> {
        ModuleRecord encode(M module, String where);

        M decode(ModuleRecord record, String where);
    }

    private record Entry<M extends Module>(String type, Class<M> moduleClass, Codec<M> codec) {
    }

    private static final Map<Class<?>, Entry<?>> BY_CLASS = new LinkedHashMap<>();
    private static final Map<String, Entry<?>> BY_TYPE = new LinkedHashMap<>();

    static {
        // FP32 layers: configuration, then the state dict.
        stateful("Linear", Linear.class, m -> new ModuleRecord("Linear").with("in_features", m.inFeatures())
                .with("out_features", m.outFeatures()).with("bias", m.bias() != null),
                c -> new Linear(c.getInt("in_features"), c.getInt("out_features"), c.getBoolean("bias"), new Random(0)));
        stateful("Conv2d", Conv2d.class, m -> new ModuleRecord("Conv2d").with("in_channels", m.inChannels())
                .with("out_channels", m.outChannels()).with("kernel", m.kernel()).with("stride", m.stride())
                .with("padding", m.padding()).with("dilation", m.dilation()).with("groups", m.groups())
                .with("bias", m.bias() != null),
                c -> new Conv2d(c.getInt("in_channels"), c.getInt("out_channels"), c.getInts("kernel"),
                        c.getInts("stride"), c.getInts("padding"), c.getInts("dilation"), c.getInt("groups"),
                        c.getBoolean("bias"), new Random(0)));
        stateful("LayerNorm", LayerNorm.class, m -> new ModuleRecord("LayerNorm")
                .with("normalized_shape", m.normalizedShape()).with("eps", m.eps()),
                c -> new LayerNorm(c.getInts("normalized_shape"), c.getFloat("eps")));
        stateful("BatchNorm2d", BatchNorm2d.class, m -> new ModuleRecord("BatchNorm2d").with("features", m.features())
                .with("eps", m.eps()).with("momentum", m.momentum()),
                c -> new BatchNorm2d(c.getInt("features"), c.getFloat("eps"), c.getFloat("momentum")));
        stateful("Embedding", Embedding.class, m -> new ModuleRecord("Embedding")
                .with("num_embeddings", m.weight().size(0)).with("embedding_dim", m.weight().size(1)),
                c -> new Embedding(c.getInt("num_embeddings"), c.getInt("embedding_dim"), new Random(0)));
        stateful("Dropout", Dropout.class, m -> new ModuleRecord("Dropout").with("p", m.p()),
                c -> new Dropout(c.getFloat("p")));
        stateful("GELU", GELU.class, m -> new ModuleRecord("GELU").with("tanh", m.tanhApproximation()),
                c -> new GELU(c.getBoolean("tanh")));
        stateful("LeakyReLU", LeakyReLU.class, m -> new ModuleRecord("LeakyReLU").with("negative_slope",
                m.negativeSlope()), c -> new LeakyReLU(c.getFloat("negative_slope")));
        stateful("Softmax", Softmax.class, m -> new ModuleRecord("Softmax").with("dim", m.dim()),
                c -> new Softmax(c.getInt("dim")));
        stateful("Flatten", Flatten.class, m -> new ModuleRecord("Flatten").with("start_dim", m.startDim())
                .with("end_dim", m.endDim()), c -> new Flatten(c.getInt("start_dim"), c.getInt("end_dim")));
        stateful("MaxPool2d", MaxPool2d.class, m -> args("MaxPool2d", m.operatorArgs()), c -> {
            List<Object> a = c.getList("args", Object.class);
            return new MaxPool2d((int[]) a.get(0), (int[]) a.get(1), (int[]) a.get(2), (int[]) a.get(3), (Boolean) a.get(4));
        });
        stateful("AvgPool2d", AvgPool2d.class, m -> args("AvgPool2d", m.operatorArgs()), c -> {
            List<Object> a = c.getList("args", Object.class);
            return new AvgPool2d((int[]) a.get(0), (int[]) a.get(1), (int[]) a.get(2), (Boolean) a.get(3), (Boolean) a.get(4));
        });
        stateful("AdaptiveAvgPool2d", AdaptiveAvgPool2d.class, m -> args("AdaptiveAvgPool2d", m.operatorArgs()),
                c -> new AdaptiveAvgPool2d((int[]) c.getList("args", Object.class).get(0)));
        stateful("ReLU", ReLU.class, m -> new ModuleRecord("ReLU"), c -> new ReLU());
        stateful("Tanh", Tanh.class, m -> new ModuleRecord("Tanh"), c -> new Tanh());
        stateful("Sigmoid", Sigmoid.class, m -> new ModuleRecord("Sigmoid"), c -> new Sigmoid());
        stateful("SiLU", SiLU.class, m -> new ModuleRecord("SiLU"), c -> new SiLU());
        stateful("Identity", Identity.class, m -> new ModuleRecord("Identity"), c -> new Identity());

        // Wrappers: their inner modules are children.
        register("FusedReLU", FusedReLU.class, new Codec<>() {
            public ModuleRecord encode(FusedReLU m, String where) {
                return new ModuleRecord("FusedReLU").child("layer", ModuleCodecs.encode(m.layer(), where + ".layer"));
            }

            public FusedReLU decode(ModuleRecord r, String where) {
                return new FusedReLU(child(r, "layer", where));
            }
        });
        register("ConvBn2d", ConvBn2d.class, new Codec<>() {
            public ModuleRecord encode(ConvBn2d m, String where) {
                return new ModuleRecord("ConvBn2d").child("conv", ModuleCodecs.encode(m.conv(), where + ".conv"))
                        .child("bn", ModuleCodecs.encode(m.bn(), where + ".bn"));
            }

            public ConvBn2d decode(ModuleRecord r, String where) {
                return new ConvBn2d(as(child(r, "conv", where), Conv2d.class, where + ".conv"),
                        as(child(r, "bn", where), BatchNorm2d.class, where + ".bn"));
            }
        });
        register("QuantizedLeaf", QuantizedLeaf.class, new Codec<>() {
            public ModuleRecord encode(QuantizedLeaf m, String where) {
                return new ModuleRecord("QuantizedLeaf").with("input_scale", m.inputScale())
                        .with("input_zero_point", m.inputZeroPoint())
                        .child("int8", ModuleCodecs.encode(m.int8(), where + ".int8"));
            }

            public QuantizedLeaf decode(ModuleRecord r, String where) {
                SavedConfig c = config(r, where);
                return new QuantizedLeaf(child(r, "int8", where), c.getFloat("input_scale"), c.getInt("input_zero_point"));
            }
        });

        // Quantized layers: int8 weights with qparams and the output qparams; packing happens in the constructor.
        simple("QuantizedLinear", QuantizedLinear.class, m -> new ModuleRecord("QuantizedLinear")
                .tensor("weight", m.weight()).tensor("bias", m.bias()).with("output_scale", m.outputScale())
                .with("output_zero_point", m.outputZeroPoint()).with("relu", m.relu()),
                (r, c) -> new QuantizedLinear(tensor(r, "weight"), optional(r, "bias"), c.getFloat("output_scale"),
                        c.getInt("output_zero_point"), c.getBoolean("relu")));
        simple("QuantizedConv2d", QuantizedConv2d.class, m -> new ModuleRecord("QuantizedConv2d")
                .tensor("weight", m.weight()).tensor("bias", m.bias()).with("stride", m.stride())
                .with("padding", m.padding()).with("dilation", m.dilation()).with("groups", m.groups())
                .with("output_scale", m.outputScale()).with("output_zero_point", m.outputZeroPoint())
                .with("relu", m.relu()),
                (r, c) -> new QuantizedConv2d(tensor(r, "weight"), optional(r, "bias"), c.getInts("stride"),
                        c.getInts("padding"), c.getInts("dilation"), c.getInt("groups"), c.getFloat("output_scale"),
                        c.getInt("output_zero_point"), c.getBoolean("relu")));
        simple("DynamicQuantizedLinear", DynamicQuantizedLinear.class, m -> new ModuleRecord("DynamicQuantizedLinear")
                .tensor("weight", m.weight()).tensor("bias", m.bias()).with("reduce_range", m.reduceRange()),
                (r, c) -> new DynamicQuantizedLinear(tensor(r, "weight"), optional(r, "bias"), c.getBoolean("reduce_range")));
        simple("QuantizedEmbedding", QuantizedEmbedding.class, m -> new ModuleRecord("QuantizedEmbedding")
                .tensor("weight", m.weight()), (r, c) -> new QuantizedEmbedding(tensor(r, "weight")));
        simple("QuantizedLayerNorm", QuantizedLayerNorm.class, m -> new ModuleRecord("QuantizedLayerNorm")
                .with("normalized_shape", m.normalizedShape()).tensor("weight", m.weight()).tensor("bias", m.bias())
                .with("eps", m.eps()).with("output_scale", m.outputScale())
                .with("output_zero_point", m.outputZeroPoint()),
                (r, c) -> new QuantizedLayerNorm(c.getInts("normalized_shape"), optional(r, "weight"),
                        optional(r, "bias"), c.getFloat("eps"), c.getFloat("output_scale"), c.getInt("output_zero_point")));
        simple("QuantizedSoftmax", QuantizedSoftmax.class, m -> new ModuleRecord("QuantizedSoftmax")
                .with("dim", m.dim()).with("output_scale", m.outputScale())
                .with("output_zero_point", m.outputZeroPoint()).with("mode", m.mode()),
                (r, c) -> new QuantizedSoftmax(c.getInt("dim"), c.getFloat("output_scale"), c.getInt("output_zero_point"),
                        c.getEnum("mode", QuantizedSoftmax.Mode.class)));
        simple("QuantizedGELU", QuantizedGELU.class, m -> new ModuleRecord("QuantizedGELU")
                .with("tanh", m.tanhApproximation()).with("output_scale", m.outputScale())
                .with("output_zero_point", m.outputZeroPoint()),
                (r, c) -> new QuantizedGELU(c.getBoolean("tanh"), c.getFloat("output_scale"), c.getInt("output_zero_point")));
        simple("QuantizedLeakyReLU", QuantizedLeakyReLU.class, m -> new ModuleRecord("QuantizedLeakyReLU")
                .with("negative_slope", m.negativeSlope()).with("output_scale", m.outputScale())
                .with("output_zero_point", m.outputZeroPoint()),
                (r, c) -> new QuantizedLeakyReLU(c.getFloat("negative_slope"), c.getFloat("output_scale"),
                        c.getInt("output_zero_point")));
        simple("QuantizedSigmoid", QuantizedSigmoid.class, m -> new ModuleRecord("QuantizedSigmoid")
                .with("output_scale", m.outputScale()).with("output_zero_point", m.outputZeroPoint()),
                (r, c) -> new QuantizedSigmoid(c.getFloat("output_scale"), c.getInt("output_zero_point")));
    }

    private ModuleCodecs() {
    }

    /** Registers a codec for {@code moduleClass} under {@code type} (the name written to files). */
    public static synchronized <M extends Module> void register(String type, Class<M> moduleClass, Codec<M> codec) {
        Entry<M> e = new Entry<>(type, moduleClass, codec);
        if (BY_TYPE.containsKey(type) && BY_TYPE.get(type).moduleClass() != moduleClass) {
            throw new IllegalStateException("ModuleCodecs: type '" + type + "' is taken by "
                    + BY_TYPE.get(type).moduleClass().getName());
        }
        BY_CLASS.put(moduleClass, e);
        BY_TYPE.put(type, e);
    }

    /** The record of {@code m}; {@code where} names it in errors (block and module path). */
    @SuppressWarnings("unchecked")
    public static synchronized ModuleRecord encode(Module m, String where) {
        Entry<Module> e = (Entry<Module>) BY_CLASS.get(m.getClass());
        if (e != null) {
            ModuleRecord r = e.codec().encode(m, where);
            return new ModuleRecord(e.type(), r.config(), r.tensors(), r.children());
        }
        if (m instanceof Savable s) {
            return new ModuleRecord(m.getClass().getName(), s.saveConfig(), m.stateDict(), Map.of());
        }
        throw new SavedModelException(where, "cannot save a module of class " + m.getClass().getName()
                + ": it is not one of the standard or quantized layers; implement Savable (with a static fromConfig)"
                + " or register a codec with ModuleCodecs.register");
    }

    /** Rebuilds a module from its record. */
    public static Module decode(ModuleRecord r, String where) {
        Entry<?> e;
        synchronized (ModuleCodecs.class) {
            e = BY_TYPE.get(r.type());
        }
        try {
            if (e != null) {
                return e.codec().decode(r, where);
            }
            Module m = Savables.create(r.type(), new SavedConfig(r.type(), r.config()), where);
            loadState(m, r.tensors(), where);
            return m;
        } catch (SavedModelException ex) {
            throw ex;
        } catch (RuntimeException ex) {
            throw new SavedModelException(where, r.type() + " cannot be rebuilt: " + ex.getMessage(), ex);
        }
    }

    // ---------------------------------------------------------------- helpers for the codecs above

    private static <M extends Module> void stateful(String type, Class<M> cls, Function<M, ModuleRecord> config,
                                                    Function<SavedConfig, M> create) {
        register(type, cls, new Codec<>() {
            public ModuleRecord encode(M m, String where) {
                ModuleRecord r = config.apply(m);
                m.stateDict().forEach(r::tensor);
                return r;
            }

            public M decode(ModuleRecord r, String where) {
                M m = create.apply(config(r, where));
                loadState(m, r.tensors(), where);
                return m;
            }
        });
    }

    private static <M extends Module> void simple(String type, Class<M> cls, Function<M, ModuleRecord> encoder,
                                                  BiFunction<ModuleRecord, SavedConfig, M> decoder) {
        register(type, cls, new Codec<>() {
            public ModuleRecord encode(M m, String where) {
                return encoder.apply(m);
            }

            public M decode(ModuleRecord r, String where) {
                return decoder.apply(r, config(r, where));
            }
        });
    }

    private static ModuleRecord args(String type, Object[] operatorArgs) {
        return new ModuleRecord(type).with("args", List.of(operatorArgs));
    }

    private static SavedConfig config(ModuleRecord r, String where) {
        return new SavedConfig(where + " (" + r.type() + ")", r.config());
    }

    private static Module child(ModuleRecord r, String name, String where) {
        ModuleRecord c = r.children().get(name);
        if (c == null) {
            throw new SavedModelException(where, r.type() + " has no child module '" + name + "'");
        }
        return decode(c, where + "." + name);
    }

    private static <M> M as(Module m, Class<M> type, String where) {
        if (!type.isInstance(m)) {
            throw new SavedModelException(where, "expected a " + type.getSimpleName() + ", got "
                    + m.getClass().getSimpleName());
        }
        return type.cast(m);
    }

    private static Tensor tensor(ModuleRecord r, String name) {
        Tensor t = r.tensors().get(name);
        if (t == null) {
            throw new SavedModelException("", r.type() + " needs tensor '" + name + "', which the file does not have");
        }
        return t;
    }

    private static Tensor optional(ModuleRecord r, String name) {
        return r.tensors().get(name);
    }

    static void loadState(Module m, Map<String, Tensor> tensors, String where) {
        try {
            m.loadStateDict(tensors, true);
        } catch (RuntimeException ex) {
            throw new SavedModelException(where, "tensors do not fit " + m.getClass().getSimpleName() + ": "
                    + ex.getMessage(), ex);
        }
    }

    /** Instantiates {@link Savable} classes by name, refusing anything else. */
    static final class Savables {
        private Savables() {
        }

        static Module create(String className, SavedConfig config, String where) {
            Class<?> c;
            try {
                c = Class.forName(className, false, Thread.currentThread().getContextClassLoader() != null
                        ? Thread.currentThread().getContextClassLoader() : ModuleCodecs.class.getClassLoader());
            } catch (ClassNotFoundException | LinkageError e) {
                throw new SavedModelException(where, "unknown module class " + className + " (not on the class path)");
            }
            if (!Module.class.isAssignableFrom(c) || !Savable.class.isAssignableFrom(c)) {
                throw new SavedModelException(where, "class " + className + " is not a Savable Module; refusing to"
                        + " instantiate it");
            }
            Method factory;
            try {
                factory = c.getMethod("fromConfig", SavedConfig.class);
            } catch (NoSuchMethodException e) {
                throw new SavedModelException(where, className + " implements Savable but has no public static"
                        + " fromConfig(SavedConfig)");
            }
            if (!Modifier.isStatic(factory.getModifiers()) || !Module.class.isAssignableFrom(factory.getReturnType())) {
                throw new SavedModelException(where, className + ".fromConfig must be static and return a Module");
            }
            try {
                return (Module) factory.invoke(null, config);
            } catch (java.lang.reflect.InvocationTargetException e) {
                Throwable cause = e.getCause();
                if (cause instanceof SavedModelException s) {
                    throw s;
                }
                throw new SavedModelException(where, className + ".fromConfig failed: " + cause, cause);
            } catch (IllegalAccessException e) {
                throw new SavedModelException(where, className + ".fromConfig is not accessible: " + e.getMessage());
            }
        }
    }
}
