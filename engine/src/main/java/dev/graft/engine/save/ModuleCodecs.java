package dev.graft.engine.save;

import dev.graft.engine.Module;
import dev.graft.engine.quant.OpRule;
import dev.graft.engine.quant.QuantRules;
import dev.graft.ops.Tensor;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * How each kind of module a traced block calls is saved and rebuilt. The codecs of the standard FP32 layers, the
 * quantized layers and the wrappers passes make are declared with their operators in {@link QuantRules} (one place
 * per operator); this class holds the registry they are read into, modules implementing {@link Savable}, and codecs
 * registered at run time for other classes. Other modules are refused by name at save time, so a file never holds
 * something its loader cannot rebuild.
 */
public final class ModuleCodecs {

    /** Saves and rebuilds one module class. */
    public interface Codec<M extends Module> {
        ModuleRecord encode(M module, String where);

        M decode(ModuleRecord record, String where);
    }

    private record Entry<M extends Module>(String type, Class<M> moduleClass, Codec<M> codec) {
    }

    /** Codecs registered at run time, for classes the rule table does not know. */
    private static final Map<Class<?>, Entry<?>> BY_CLASS = new LinkedHashMap<>();
    private static final Map<String, Entry<?>> BY_TYPE = new LinkedHashMap<>();

    private ModuleCodecs() {
    }

    /** Registers a codec for {@code moduleClass} under {@code type} (the name written to files). */
    public static synchronized <M extends Module> void register(String type, Class<M> moduleClass, Codec<M> codec) {
        Entry<?> taken = byType(type);
        if (taken != null && taken.moduleClass() != moduleClass) {
            throw new IllegalStateException("ModuleCodecs: type '" + type + "' is taken by "
                    + taken.moduleClass().getName());
        }
        Entry<M> e = new Entry<>(type, moduleClass, codec);
        BY_CLASS.put(moduleClass, e);
        BY_TYPE.put(type, e);
    }

    /** The rule table's codec for the class, else a registered one. */
    private static Entry<?> byClass(Class<?> c) {
        OpRule.ModuleForm<?> f = QuantRules.formOf(c);
        return f != null ? entry(f) : BY_CLASS.get(c);
    }

    private static Entry<?> byType(String type) {
        OpRule.ModuleForm<?> f = QuantRules.formOf(type);
        return f != null ? entry(f) : BY_TYPE.get(type);
    }

    private static <M extends Module> Entry<M> entry(OpRule.ModuleForm<M> f) {
        return new Entry<>(f.type(), f.moduleClass(), f.codec());
    }

    /** The record of {@code m}; {@code where} names it in errors (block and module path). */
    @SuppressWarnings("unchecked")
    public static synchronized ModuleRecord encode(Module m, String where) {
        Entry<Module> e = (Entry<Module>) byClass(m.getClass());
        if (e != null) {
            ModuleRecord r = e.codec().encode(m, where);
            return new ModuleRecord(e.type(), r.config(), r.tensors(), r.children());
        }
        if (m instanceof Savable s) {
            Savables.validate(m.getClass(), where);
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
            e = byType(r.type());
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

    // ---------------------------------------------------------------- codecs, for the rule table and for users

    /** A layer saved as its configuration plus its state dict. */
    public static <M extends Module> Codec<M> stateful(Function<M, ModuleRecord> config,
                                                       Function<SavedConfig, M> create) {
        return new Codec<>() {
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
        };
    }

    /** A module saved as whatever record {@code encoder} makes (int8 weights with their qparams, children). */
    public static <M extends Module> Codec<M> simple(Function<M, ModuleRecord> encoder,
                                                     BiFunction<ModuleRecord, SavedConfig, M> decoder) {
        return new Codec<>() {
            public ModuleRecord encode(M m, String where) {
                return encoder.apply(m);
            }

            public M decode(ModuleRecord r, String where) {
                return decoder.apply(r, config(r, where));
            }
        };
    }

    /** A wrapper saved with its inner modules as children ({@code where} names it, for the children's messages). */
    public static <M extends Module> Codec<M> nested(BiFunction<M, String, ModuleRecord> encoder,
                                                     BiFunction<ModuleRecord, String, M> decoder) {
        return new Codec<>() {
            public ModuleRecord encode(M m, String where) {
                return encoder.apply(m, where);
            }

            public M decode(ModuleRecord r, String where) {
                return decoder.apply(r, where);
            }
        };
    }

    /** A record holding a layer's operator arguments as one list (the pooling layers). */
    public static ModuleRecord args(String type, Object[] operatorArgs) {
        return new ModuleRecord(type).with("args", List.of(operatorArgs));
    }

    /** The record's configuration, read with messages naming {@code where}. */
    public static SavedConfig config(ModuleRecord r, String where) {
        return new SavedConfig(where + " (" + r.type() + ")", r.config());
    }

    /** The child module {@code name} of a record, rebuilt. */
    public static Module child(ModuleRecord r, String name, String where) {
        ModuleRecord c = r.children().get(name);
        if (c == null) {
            throw new SavedModelException(where, r.type() + " has no child module '" + name + "'");
        }
        return decode(c, where + "." + name);
    }

    /** {@code m} as a {@code type}, refused by name when it is another class. */
    public static <M> M as(Module m, Class<M> type, String where) {
        if (!type.isInstance(m)) {
            throw new SavedModelException(where, "expected a " + type.getSimpleName() + ", got "
                    + m.getClass().getSimpleName());
        }
        return type.cast(m);
    }

    /** A tensor the record must hold. */
    public static Tensor tensor(ModuleRecord r, String name) {
        Tensor t = r.tensors().get(name);
        if (t == null) {
            throw new SavedModelException("", r.type() + " needs tensor '" + name + "', which the file does not have");
        }
        return t;
    }

    /** A tensor the record may hold, or null. */
    public static Tensor optional(ModuleRecord r, String name) {
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

        /**
         * Checks at save time what loading will need, so a mistake fails when the file is written rather than when
         * someone loads it: a public, named (not local or anonymous), top-level or static nested class with a {@code public static fromConfig(SavedConfig)} returning a Module,
         * in a package Graft's engine can read.
         */
        static void validate(Class<?> c, String where) {
            String name = c.getName();
            if (c.isAnonymousClass() || c.isLocalClass() || c.isHidden()) {
                throw new SavedModelException(where, name + " is an anonymous or local class: a file can only name "
                        + "a class that loading can find by name; make it a top-level or static nested class");
            }
            if (c.isMemberClass() && !Modifier.isStatic(c.getModifiers())) {
                throw new SavedModelException(where, name + " is an inner (non-static) class: loading cannot build "
                        + "it without an enclosing instance; declare it static");
            }
            if (!Modifier.isPublic(c.getModifiers())) {
                throw new SavedModelException(where, name + " is not public: loading calls its fromConfig from "
                        + "outside its package; declare it public");
            }
            factory(c, where);
            java.lang.Module engine = ModuleCodecs.class.getModule();
            if (c.getModule().isNamed() && !c.getModule().isExported(c.getPackageName(), engine)) {
                throw new SavedModelException(where, "package " + c.getPackageName() + " of " + name + " is not "
                        + "exported to dev.graft.engine: add `exports " + c.getPackageName() + ";` to "
                        + c.getModule().getName() + "'s module-info.java");
            }
        }

        private static Method factory(Class<?> c, String where) {
            Method factory;
            try {
                factory = c.getMethod("fromConfig", SavedConfig.class);
            } catch (NoSuchMethodException e) {
                throw new SavedModelException(where, c.getName() + " implements Savable but has no public static"
                        + " fromConfig(SavedConfig), which loading calls to rebuild it");
            }
            if (!Modifier.isStatic(factory.getModifiers()) || !Module.class.isAssignableFrom(factory.getReturnType())) {
                throw new SavedModelException(where, c.getName() + ".fromConfig must be static and return a Module");
            }
            return factory;
        }

        static Module create(String className, SavedConfig config, String where) {
            Class<?> c;
            try {
                c = Class.forName(className, false, Thread.currentThread().getContextClassLoader() != null
                        ? Thread.currentThread().getContextClassLoader() : ModuleCodecs.class.getClassLoader());
            } catch (ClassNotFoundException | LinkageError e) {
                throw new SavedModelException(where, "unknown module class " + className + " (not on the class path:"
                        + " add the folder or jar of your classes; the graft commands take --classpath)");
            }
            if (!Module.class.isAssignableFrom(c) || !Savable.class.isAssignableFrom(c)) {
                throw new SavedModelException(where, "class " + className + " is not a Savable Module; refusing to"
                        + " instantiate it");
            }
            Method factory = factory(c, where);
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
