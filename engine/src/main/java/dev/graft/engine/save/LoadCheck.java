package dev.graft.engine.save;

import dev.graft.engine.graph.Graph;
import dev.graft.engine.graph.GraphModule;
import dev.graft.engine.graph.InputSignature;
import dev.graft.engine.graph.Meta;
import dev.graft.engine.graph.Node;
import dev.graft.engine.io.FormatException;
import dev.graft.engine.io.Limits;
import dev.graft.ops.DType;
import dev.graft.ops.QParams;
import dev.graft.ops.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What loading checks beyond the format, so that a model that loads also runs: the sizes a module's configuration
 * sets (strides, paddings, dilations, kernels, channel and feature counts) are in range before the module is built,
 * and every restored block is run once, at load, on zero inputs of the shapes its graphs were saved with (when
 * those are small: {@link #MAX_DRY_RUN_ELEMENTS}). A block
 * whose saved parts do not fit together (a dilation that changes a shape, a node argument of the wrong kind, a
 * linear layer whose in_features no longer match) is refused then, naming the block, instead of failing at the
 * user's first call.
 */
final class LoadCheck {
    /** Configuration keys that set a window or step: 1..{@value #MAX_WINDOW}. */
    private static final Set<String> WINDOWS = Set.of("stride", "dilation", "kernel", "kernel_size", "groups");
    /** Configuration keys that set a padding: 0..{@value #MAX_PAD}. */
    private static final Set<String> PADS = Set.of("padding", "pads", "pad");
    /** Configuration keys that set a count of channels, features or embeddings: 1..{@value #MAX_COUNT}. */
    private static final Set<String> COUNTS = Set.of("in_channels", "out_channels", "in_features", "out_features",
            "num_embeddings", "embedding_dim", "num_features", "channels", "features", "output_size");
    /**
     * The keys whose product is the size of a layer's parameters ({@code Linear}: in x out; {@code Conv2d}: in x out
     * x kernel / groups; {@code Embedding}: rows x width; norms: features or the normalized shape).
     */
    private static final Set<String> PARAMETER_SIZES = Set.of("in_channels", "out_channels", "in_features",
            "out_features", "num_embeddings", "embedding_dim", "num_features", "channels", "features", "kernel",
            "kernel_size", "normalized_shape");
    /** Parameters a layer may build beyond the elements of its saved tensors (small layers, left-out biases). */
    static final long ALLOCATION_SLACK = 1 << 12;
    static final int MAX_WINDOW = 1024;
    static final int MAX_PAD = 4096;
    static final int MAX_COUNT = 1 << 24;
    /**
     * The dry run is skipped for graphs traced on more input elements than this (NanoDet's 3 x 320 x 320 photo fits):
     * its cost grows with them, and a load should stay cheap.
     */
    static final long MAX_DRY_RUN_ELEMENTS = 1 << 19;

    private LoadCheck() {
    }

    /** Checks the size-setting values of one module record's configuration. */
    static void config(Map<String, Object> config, String where) {
        for (Map.Entry<String, Object> e : config.entrySet()) {
            String key = e.getKey();
            if (WINDOWS.contains(key)) {
                range(e.getValue(), key, 1, MAX_WINDOW, where);
            } else if (PADS.contains(key)) {
                range(e.getValue(), key, 0, MAX_PAD, where);
            } else if (COUNTS.contains(key)) {
                range(e.getValue(), key, 1, MAX_COUNT, where);
            }
        }
    }

    /**
     * Refuses a layer whose configuration declares more parameters than its saved tensors hold, before the layer is
     * built: a {@code Linear(30000, 30000)} over a 16-element weight would otherwise allocate 3.6 GB at construction,
     * only to be refused when its state is compared. The sizes are those {@link #config} has already range-checked.
     * Also checks a convolution's padding against its kernel ({@link #convolutionPadding}).
     */
    static void layer(Map<String, Object> config, Map<String, Tensor> tensors, String where) {
        long declared = 1;
        boolean any = false;
        for (Map.Entry<String, Object> e : config.entrySet()) {
            if (!PARAMETER_SIZES.contains(e.getKey())) {
                continue;
            }
            for (long v : sizes(e.getValue())) {
                any = true;
                declared = v <= 0 ? declared : declared > Long.MAX_VALUE / v ? Long.MAX_VALUE : declared * v;
            }
        }
        convolutionPadding(config, tensors, where);
        if (!any) {
            return;
        }
        if (config.get("groups") instanceof Integer g && g > 1) {
            declared /= g;
        }
        long present = 0;
        for (Tensor t : tensors.values()) {
            present += t.numel();
        }
        if (declared > 2 * present + ALLOCATION_SLACK) {
            throw new SavedModelException(where, "the configuration declares " + (declared == Long.MAX_VALUE
                    ? "more than 2^63" : String.valueOf(declared)) + " parameter elements but the file holds "
                    + present + " for this layer: a size in the configuration is wrong");
        }
    }

    /**
     * A convolution's padding may not exceed its kernel's reach, {@code dilation x (kernel - 1)} per dimension (a
     * "full" convolution): rows and columns beyond it only ever see padding, and a padding of thousands on a 3x3
     * kernel is a size that makes the first call allocate gigabytes. The kernel is the configuration's (FP32
     * {@code Conv2d}) or the saved weight's last two dimensions (INT8).
     */
    private static void convolutionPadding(Map<String, Object> config, Map<String, Tensor> tensors, String where) {
        long[] padding = sizes(config.get("padding"));
        if (padding.length == 0) {
            return;
        }
        long[] kernel = sizes(config.get("kernel"));
        if (kernel.length == 0 && tensors.get("weight") instanceof Tensor w && w.dim() == 2 + padding.length) {
            kernel = Arrays.stream(w.shape()).skip(2).asLongStream().toArray();
        }
        if (kernel.length != padding.length) {
            return;
        }
        long[] dilation = sizes(config.get("dilation"));
        for (int i = 0; i < padding.length; i++) {
            long reach = (dilation.length == padding.length ? dilation[i] : 1) * Math.max(kernel[i] - 1, 0);
            if (padding[i] > reach) {
                throw new SavedModelException(where, "config 'padding' = " + Arrays.toString(padding) + " is wider"
                        + " than the kernel reaches (dilation x (kernel - 1) = " + reach + " in dimension " + i
                        + "): the extra rows and columns would see only padding");
            }
        }
    }

    /**
     * No saved float tensor holds NaN: no model computes anything from one, and a NaN weight loads and then fails
     * (or returns NaN) at the first call. Infinities are allowed here (a mask constant may be one).
     */
    static void noNaN(Tensor t, String key, String where) {
        scan(t, key, where, true);
    }

    /**
     * A layer's parameters (weights, biases, norms, per-channel scales) are not infinite either ({@link #noNaN} has
     * already seen every tensor the file holds).
     */
    static void finite(Tensor t, String key, String where) {
        scan(t, key, where, false);
    }

    private static void scan(Tensor t, String key, String where, boolean nan) {
        if (!t.dtype().isFloatingPoint() || t.isQuantized()) {
            return;
        }
        float[] values = t.toFloatArray();
        for (int i = 0; i < values.length; i++) {
            float v = values[i];
            if (nan ? Float.isNaN(v) : Float.isInfinite(v)) {
                throw new SavedModelException(where, "tensor '" + key + "' holds " + v + " at element " + i
                        + "; saved weights are finite numbers");
            }
        }
    }

    /** Output cells (height x width) an adaptive pooling may produce: models use 1x1 to 7x7; 256x256 is room. */
    static final long MAX_ADAPTIVE_OUTPUT = 1 << 16;

    /**
     * An adaptive pooling's output size (module {@code AdaptiveAvgPool2d}'s first argument, or a graph node's
     * second) is a size the file sets: 1 x 1,000,000 on a 28 x 28 input took the load-time dry run past the fuzzer's
     * time limit. Each side at least 1, the cells at most {@link #MAX_ADAPTIVE_OUTPUT}.
     */
    static void adaptiveOutput(Object size, String where) {
        long[] sides = sizes(size);
        long cells = 1;
        for (long s : sides) {
            cells = s < 1 ? -1 : cells < 0 ? -1 : Math.min(cells * s, Long.MAX_VALUE / 2);
        }
        if (sides.length == 0 || cells < 1 || cells > MAX_ADAPTIVE_OUTPUT) {
            throw new SavedModelException(where, "adaptive pooling output size " + describe(size) + ": each side must"
                    + " be at least 1 and the output at most " + MAX_ADAPTIVE_OUTPUT + " cells");
        }
    }

    /** The size-setting arguments of a graph's operator calls (today: adaptive pooling). */
    static void functionArgs(String op, List<?> args, String where) {
        if ((op.equals("adaptive_avg_pool2d") || op.equals("quantized_adaptive_avg_pool2d")) && args.size() > 1) {
            adaptiveOutput(args.get(1), where);
        }
    }

    /**
     * Parameter elements the glue model may build from its configuration ({@link SavedConfig#checkSize}) when the
     * file holds {@code present} tensor elements: every parameter is saved once (as FP32 in the glue's state, or as
     * INT8 or FP32 in a block), so twice that, plus room for small buffers.
     */
    static long glueBudget(long present) {
        return 2 * present + (1 << 20);
    }

    private static long[] sizes(Object value) {
        if (value instanceof Integer i) {
            return new long[] {i};
        }
        if (value instanceof Long l) {
            return new long[] {l};
        }
        if (value instanceof int[] a) {
            return Arrays.stream(a).asLongStream().toArray();
        }
        if (value instanceof long[] a) {
            return a.clone();
        }
        if (value instanceof List<?> l) {
            return l.stream().filter(x -> x instanceof Integer || x instanceof Long)
                    .mapToLong(x -> ((Number) x).longValue()).toArray();
        }
        return new long[0];
    }

    private static void range(Object value, String key, long min, long max, String where) {
        List<Object> values = new ArrayList<>();
        if (value instanceof int[] a) {
            Arrays.stream(a).forEach(values::add);
        } else if (value instanceof long[] a) {
            Arrays.stream(a).forEach(values::add);
        } else if (value instanceof List<?> l) {
            values.addAll(l);
        } else {
            values.add(value);
        }
        for (Object v : values) {
            if (v == null) {
                continue;   // an optional size left unset (for example output_size: null)
            }
            if (!(v instanceof Integer || v instanceof Long) || ((Number) v).longValue() < min
                    || ((Number) v).longValue() > max) {
                throw new SavedModelException(where, "config '" + key + "' = " + describe(value) + ": each value must"
                        + " be an integer in " + min + ".." + max);
            }
        }
    }

    private static String describe(Object v) {
        return v instanceof int[] a ? Arrays.toString(a) : v instanceof long[] a ? Arrays.toString(a) : String.valueOf(v);
    }

    /**
     * Runs every graph of a restored block once on zero tensors of its placeholders' saved shapes (graphs whose
     * inputs are not all plain tensors with a saved shape are left to the lint), and checks that each output is a
     * tensor of the shape saved for it.
     */
    static void dryRun(GraphModule block, String where) {
        for (GraphModule.Specialization s : block.specializations()) {
            Object[] inputs = zeroInputs(s, where);
            if (inputs == null) {
                continue;
            }
            Object out;
            try {
                out = block.callAny(inputs);
            } catch (SavedModelException | FormatException e) {
                throw e;
            } catch (RuntimeException e) {
                throw new SavedModelException(where, "does not run on the input shapes it was saved with ("
                        + shapes(inputs) + "): " + e.getMessage(), e);
            } catch (OutOfMemoryError e) {
                // The inputs are small (MAX_DRY_RUN_ELEMENTS), so a block that cannot run on them within the heap
                // has a size in its file out of proportion (a padding of thousands, say); what failed is one large
                // request, given up as the run unwinds. Refused here, not at the user's first call.
                throw new SavedModelException(where, "needs more memory than the heap has (" + e.getMessage()
                        + ") to run once on the small input shapes it was saved with (" + shapes(inputs) + "): a size"
                        + " in the file is out of proportion", e);
            }
            checkOutputs(s.graph(), out, where);
        }
    }

    private static Object[] zeroInputs(GraphModule.Specialization s, String where) {
        List<Node> placeholders = s.graph().placeholders();
        List<InputSignature.Entry> entries = s.signature().entries();
        if (placeholders.size() != entries.size()) {
            throw new SavedModelException(where, "the input signature lists " + entries.size() + " inputs but the"
                    + " graph has " + placeholders.size() + " placeholders");
        }
        Object[] inputs = new Object[entries.size()];
        long total = 0;
        for (int i = 0; i < inputs.length; i++) {
            InputSignature.Entry e = entries.get(i);
            if (e instanceof InputSignature.NullEntry) {
                inputs[i] = null;
            } else if (e instanceof InputSignature.ConstantEntry c) {
                inputs[i] = c.value();
            } else if (e instanceof InputSignature.TensorEntry t
                    && placeholders.get(i).meta(Meta.SHAPE) instanceof int[] shape) {
                if (shape.length != t.rank()) {
                    throw new SavedModelException(where, "input " + i + ": the signature says rank " + t.rank()
                            + " but the graph was traced with shape " + Arrays.toString(shape));
                }
                long[] dims = Arrays.stream(shape).asLongStream().toArray();
                int n;
                try {
                    n = Limits.elements(dims, "input " + i, null, -1);
                } catch (FormatException tooLarge) {
                    throw new SavedModelException(where, "saved input shape " + Arrays.toString(shape) + ": "
                            + tooLarge.getMessage());
                }
                total += n;
                if (total > MAX_DRY_RUN_ELEMENTS) {
                    return null;    // traced on large inputs: too costly to run at every load (the lint still runs)
                }
                if (!t.quantized()) {
                    inputs[i] = Tensor.zeros(t.dtype(), shape);
                } else if (t.dtype() == DType.INT8 || t.dtype() == DType.UINT8) {
                    // Any qparams do for a dry run: zeros with scale 1.
                    inputs[i] = Tensor.quantized(t.dtype(), new byte[n], shape, new QParams.PerTensor(1f, 0));
                } else {
                    throw new SavedModelException(where, "input " + i + " is a quantized " + t.dtype()
                            + " tensor; quantized tensors are int8 or uint8");
                }
            } else {
                return null;
            }
        }
        return inputs;
    }

    /** Each output the graph names must come back as a tensor, of its saved shape when one was saved. */
    private static void checkOutputs(Graph graph, Object out, String where) {
        List<Object> produced = new ArrayList<>();
        flatten(out, produced);
        List<Object> declared = new ArrayList<>();
        Node output = graph.outputNode();
        Object value = output.args().size() == 1 ? output.args().get(0) : output.args();
        if (!(value instanceof Node || value instanceof List<?> || value instanceof Object[])) {
            throw new SavedModelException(where, "the graph returns the constant " + value + ", not a tensor");
        }
        flatten(value, declared);
        if (declared.isEmpty()) {
            throw new SavedModelException(where, "the graph returns no tensor");
        }
        if (produced.size() != declared.size()) {
            return;
        }
        for (int i = 0; i < produced.size(); i++) {
            Object p = produced.get(i);
            if (!(declared.get(i) instanceof Node n)) {
                if (p != null && !(p instanceof Tensor)) {
                    throw new SavedModelException(where, "output " + i + " is the constant " + p + " where a tensor"
                            + " is expected");
                }
            } else if (p instanceof Tensor t && n.meta(Meta.SHAPE) instanceof int[] shape
                    && !Arrays.equals(shape, t.shape())) {
                throw new SavedModelException(where, "output " + i + " (" + n.name() + ") has shape "
                        + Arrays.toString(t.shape()) + " on the saved input shapes, but was saved as "
                        + Arrays.toString(shape));
            }
        }
    }

    private static void flatten(Object o, List<Object> out) {
        if (o instanceof List<?> l) {
            l.forEach(x -> flatten(x, out));
        } else if (o instanceof Object[] a && !(o instanceof Tensor[])) {
            Arrays.stream(a).forEach(x -> flatten(x, out));
        } else if (o instanceof Tensor[] ts) {
            out.addAll(Arrays.asList(ts));
        } else {
            out.add(o);
        }
    }

    private static String shapes(Object[] inputs) {
        List<String> s = new ArrayList<>();
        for (Object in : inputs) {
            s.add(in instanceof Tensor t ? t.dtype() + Arrays.toString(t.shape()) : String.valueOf(in));
        }
        return String.join(", ", s);
    }
}
