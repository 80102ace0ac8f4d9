package dev.graft.formats.tfjs;

import dev.graft.engine.io.FormatException;
import dev.graft.ops.DType;
import dev.graft.ops.F;
import dev.graft.ops.Tensor;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The TensorFlow op types {@link TfjsGraphModule} can build, each as a kernel over Graft operators. Attributes and
 * constant inputs (permutations, shapes, pads, axes, split sizes) are read here, once, into Java values; the
 * kernels only call operators. Small integer computations on constants (the {@code SparseToDense}/{@code AddV2}
 * shape arithmetic onnx-tf emits) are folded.
 */
final class TfjsOps {
    private TfjsOps() {
    }

    /** Computes one node's outputs from its runtime tensor inputs. */
    @FunctionalInterface
    interface Kernel {
        Tensor[] run(Tensor[] inputs);
    }

    /** A built node: which of the node's inputs are passed as tensors, how many outputs, and the kernel. */
    record Built(int[] tensorInputs, int outputCount, Kernel kernel) {
    }

    private static final Set<String> OPS = new TreeSet<>(List.of(
            "Add", "AddV2", "BiasAdd", "ConcatV2", "Const", "Conv2D", "Identity", "LeakyRelu", "MaxPool", "Maximum",
            "Minimum", "Mul", "Pad", "PadV2", "Placeholder", "RealDiv", "Relu", "Relu6", "Reshape", "ResizeBilinear",
            "Sigmoid", "SparseToDense", "Split", "SplitV", "Sub", "Tanh", "Transpose"));

    /** The supported op types, comma separated. */
    static String supported() {
        return String.join(", ", OPS);
    }

    /** Null when the node can be built, else the op (with the offending variant) to report. */
    static String check(TfjsNode n) {
        if (!OPS.contains(n.op())) {
            return n.op();
        }
        switch (n.op()) {
            case "ResizeBilinear" -> {
                boolean align = bool(n, "align_corners", false);
                boolean half = bool(n, "half_pixel_centers", false);
                if (!align && !half) {
                    return "ResizeBilinear(align_corners=false, half_pixel_centers=false: TensorFlow's legacy mapping)";
                }
                if (align && half) {
                    return "ResizeBilinear(align_corners=true with half_pixel_centers=true)";
                }
            }
            case "Conv2D", "MaxPool", "BiasAdd" -> {
                String format = string(n, "data_format", "NHWC");
                if (!format.equals("NHWC") && !format.equals("NCHW")) {
                    return n.op() + "(data_format=" + format + ")";
                }
                String padding = string(n, "padding", "VALID");
                if (!n.op().equals("BiasAdd") && !Set.of("VALID", "SAME", "EXPLICIT").contains(padding)) {
                    return n.op() + "(padding=" + padding + ")";
                }
                if (n.op().equals("MaxPool") && padding.equals("EXPLICIT")) {
                    return "MaxPool(padding=EXPLICIT)";
                }
            }
            default -> {
            }
        }
        return null;
    }

    /** Largest padding, and largest kernel window, stride or dilation, a model may declare (checked at load). */
    static final int MAX_PAD = 4096;
    static final int MAX_WINDOW = 1024;

    // ---------------------------------------------------------------- context

    /** A node with its resolved inputs, while it is being built. */
    record Context(TfjsNode node, List<TfjsGraphModule.Operand> inputs, Path source, TfjsGraphModule module) {

        boolean isFolded(int i) {
            return inputs.get(i) instanceof TfjsGraphModule.Folded;
        }

        boolean allFolded() {
            for (int i = 0; i < inputs.size(); i++) {
                if (!isFolded(i)) {
                    return false;
                }
            }
            return true;
        }

        Tensor folded(int i) {
            requireArity(Math.max(i, 0) + 1);
            if (inputs.get(i) instanceof TfjsGraphModule.Folded f) {
                return f.value();
            }
            throw error("input " + i + " (" + node.dataInputs().get(i) + ") must be a constant, it is computed at"
                    + " run time");
        }

        int[] ints(int i) {
            Tensor t = folded(i);
            if (t.dtype() == DType.FLOAT32) {
                throw error("input " + i + " (" + node.dataInputs().get(i) + ") must be an integer constant");
            }
            return t.toIntArray();
        }

        int intScalar(int i) {
            int[] v = ints(i);
            if (v.length != 1) {
                throw error("input " + i + " must hold one integer, holds " + Arrays.toString(v));
            }
            return v[0];
        }

        void requireArity(int n) {
            if (inputs.size() < n) {
                throw error("needs at least " + n + " inputs, has " + inputs.size());
            }
        }

        /** Checks that every value of a size-setting attribute or constant ({@code what}) is in min..max. */
        int[] sizes(int[] v, String what, int min, int max) {
            for (int x : v) {
                if (x < min || x > max) {
                    throw error(what + " " + Arrays.toString(v) + ": each must be in " + min + ".." + max);
                }
            }
            return v;
        }

        FormatException error(String message) {
            return new FormatException(source, -1, "node '" + node.name() + "' (" + node.op() + "): " + message);
        }
    }

    // ---------------------------------------------------------------- folding

    /** The value of an integer node whose inputs are all constants, or null when the node must run. */
    static Tensor fold(Context c) {
        String op = c.node().op();
        if (!c.allFolded() || c.inputs().isEmpty()) {
            return null;
        }
        switch (op) {
            case "Identity" -> {
                return c.folded(0);
            }
            case "Add", "AddV2", "Sub", "Mul" -> {
                Tensor a = c.folded(0);
                Tensor b = c.folded(1);
                if (a.dtype() == DType.FLOAT32 || b.dtype() == DType.FLOAT32) {
                    return null;
                }
                return intBinary(c, op, a, b);
            }
            case "SparseToDense" -> {
                return sparseToDense(c);
            }
            default -> {
                return null;
            }
        }
    }

    private static Tensor intBinary(Context c, String op, Tensor a, Tensor b) {
        int[] x = a.toIntArray();
        int[] y = b.toIntArray();
        int[] shape;
        if ((x.length == 0) != (y.length == 0)) {
            throw c.error("cannot fold integer " + op + " of an empty and a non-empty tensor");
        }
        if (x.length == y.length && Arrays.equals(a.shape(), b.shape())) {
            shape = a.shape();
        } else if (y.length == 1) {
            shape = a.shape();
        } else if (x.length == 1) {
            shape = b.shape();
        } else {
            throw c.error("cannot fold integer " + op + " of shapes " + Arrays.toString(a.shape()) + " and "
                    + Arrays.toString(b.shape()));
        }
        int n = Math.max(x.length, y.length);
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            int p = x[x.length == 1 ? 0 : i];
            int q = y[y.length == 1 ? 0 : i];
            out[i] = switch (op) {
                case "Sub" -> p - q;
                case "Mul" -> p * q;
                default -> p + q;
            };
        }
        return Tensor.ofInts(out, shape);
    }

    /** {@code SparseToDense(indices, output_shape, values, default)}; onnx-tf emits it with no indices (a fill). */
    private static Tensor sparseToDense(Context c) {
        Tensor indices = c.folded(0);
        int[] shape = c.ints(1);
        Tensor values = c.folded(2);
        Tensor dflt = c.folded(3);
        if (values.dtype() == DType.FLOAT32 || dflt.dtype() == DType.FLOAT32) {
            throw c.error("only integer SparseToDense can be folded");
        }
        long[] dims = Arrays.stream(shape).asLongStream().toArray();
        int n;
        try {
            n = dev.graft.engine.io.Limits.elements(dims, "output shape", c.source(), -1);
        } catch (FormatException e) {
            throw c.error(e.getMessage());
        }
        int[] fill = dflt.toIntArray();
        int[] idx = indices.toIntArray();
        int count = indices.dim() == 0 ? 1 : indices.size(0);
        int rank = indices.dim() <= 1 ? 1 : indices.size(1);
        int[] vals = values.toIntArray();
        if (fill.length != 1 || (idx.length > 0 && (rank > shape.length || idx.length != count * rank
                || (vals.length != 1 && vals.length != count)))) {
            throw c.error("inconsistent SparseToDense: indices " + Arrays.toString(indices.shape()) + ", output shape "
                    + Arrays.toString(shape) + ", " + vals.length + " values, " + fill.length + " defaults");
        }
        int[] out = new int[n];
        Arrays.fill(out, fill[0]);
        for (int k = 0; k < count && idx.length > 0; k++) {
            int flat = 0;
            for (int d = 0; d < rank; d++) {
                int i = idx[k * rank + d];
                if (i < 0 || i >= shape[d]) {
                    throw c.error("index " + i + " out of range for output shape " + Arrays.toString(shape));
                }
                flat = flat * shape[d] + i;
            }
            out[flat] = vals[vals.length == 1 ? 0 : k];
        }
        return Tensor.ofInts(out, shape);
    }

    // ---------------------------------------------------------------- building

    static Built build(Context c) {
        Built built = builder(c);
        // Every input the kernel reads must exist (a MaxPool whose "input" key is gone has none).
        for (int k : built.tensorInputs()) {
            c.requireArity(k + 1);
        }
        return built;
    }

    private static Built builder(Context c) {
        TfjsNode n = c.node();
        return switch (n.op()) {
            case "Identity" -> unary(c, x -> x);
            case "Transpose" -> {
                int[] perm = c.ints(1);
                yield unary(c, x -> x.permute(perm));
            }
            case "Reshape" -> {
                int[] shape = c.ints(1);
                yield unary(c, x -> x.reshape(shape));
            }
            case "Add", "AddV2", "BiasAdd" -> binary(c, Tensor::add);
            case "Sub" -> binary(c, Tensor::sub);
            case "Mul" -> binary(c, Tensor::mul);
            case "RealDiv" -> binary(c, Tensor::div);
            case "Maximum" -> binary(c, Tensor::maximum);
            case "Minimum" -> binary(c, Tensor::minimum);
            case "LeakyRelu" -> {
                float alpha = n.attr("alpha") != null && n.attr("alpha").f() != null ? n.attr("alpha").f() : 0.2f;
                yield unary(c, x -> F.leakyRelu(x, alpha));
            }
            case "Relu" -> unary(c, F::relu);
            case "Relu6" -> unary(c, x -> x.clamp(0f, 6f));
            case "Sigmoid" -> unary(c, F::sigmoid);
            case "Tanh" -> unary(c, F::tanh);
            case "Pad", "PadV2" -> pad(c);
            case "ConcatV2" -> concat(c);
            case "SplitV" -> splitV(c);
            case "Split" -> split(c);
            case "Conv2D" -> conv2d(c);
            case "MaxPool" -> maxPool(c);
            case "ResizeBilinear" -> resizeBilinear(c);
            default -> throw c.error("no builder (this is a bug: the op passed check())");
        };
    }

    private static Built unary(Context c, java.util.function.UnaryOperator<Tensor> f) {
        c.requireArity(1);
        return new Built(new int[] {0}, 1, in -> new Tensor[] {f.apply(in[0])});
    }

    private static Built binary(Context c, java.util.function.BinaryOperator<Tensor> f) {
        c.requireArity(2);
        return new Built(new int[] {0, 1}, 1, in -> new Tensor[] {f.apply(in[0], in[1])});
    }

    /** TF paddings [rank][2] (before, after per dim) to Graft's pairs from the last dim backwards. */
    private static Built pad(Context c) {
        int[] p = c.sizes(c.ints(1), "paddings", 0, MAX_PAD);
        if (p.length % 2 != 0) {
            throw c.error("paddings must be [rank, 2], got " + Arrays.toString(p));
        }
        int rank = p.length / 2;
        int[] pads = new int[p.length];
        for (int d = 0; d < rank; d++) {
            pads[2 * (rank - 1 - d)] = p[2 * d];
            pads[2 * (rank - 1 - d) + 1] = p[2 * d + 1];
        }
        float value = c.node().op().equals("PadV2") ? c.folded(2).toFloatArray()[0] : 0f;
        return new Built(new int[] {0}, 1, in -> new Tensor[] {F.pad(in[0], pads, value)});
    }

    private static Built concat(Context c) {
        c.requireArity(2);
        int last = c.inputs().size() - 1;
        int axis = c.intScalar(last);
        int[] tensors = new int[last];
        for (int i = 0; i < last; i++) {
            tensors[i] = i;
        }
        return new Built(tensors, 1, in -> new Tensor[] {F.cat(in, axis)});
    }

    private static Built splitV(Context c) {
        int[] sizes = c.ints(1);
        int dim = c.intScalar(2);
        return new Built(new int[] {0}, sizes.length, in -> F.split(in[0], resolveSizes(sizes, in[0], dim), dim));
    }

    private static Built split(Context c) {
        int dim = c.intScalar(0);
        TfjsAttr num = c.node().attr("num_split");
        if (num == null || num.i() == null || num.i() < 1) {
            throw c.error("needs a positive num_split attribute");
        }
        int count = Math.toIntExact(num.i());
        return new Built(new int[] {1}, count, in -> {
            int length = in[0].size(dim);
            int[] sizes = new int[count];
            Arrays.fill(sizes, length / count);
            return F.split(in[0], sizes, dim);
        });
    }

    /** A -1 entry takes what the others leave. */
    private static int[] resolveSizes(int[] sizes, Tensor x, int dim) {
        int unknown = -1;
        int sum = 0;
        for (int i = 0; i < sizes.length; i++) {
            if (sizes[i] == -1) {
                unknown = i;
            } else {
                sum += sizes[i];
            }
        }
        if (unknown < 0) {
            return sizes;
        }
        int[] out = sizes.clone();
        out[unknown] = x.size(dim) - sum;
        return out;
    }

    // ---------------------------------------------------------------- spatial ops (NHWC in TensorFlow)

    private static Built conv2d(Context c) {
        TfjsNode n = c.node();
        Tensor hwio = c.folded(1);
        if (hwio.dim() != 4 || hwio.dtype() != DType.FLOAT32) {
            throw c.error("filter must be a float [KH, KW, IC, OC] constant, got " + hwio.dtype()
                    + Arrays.toString(hwio.shape()));
        }
        String filterName = ((TfjsGraphModule.Folded) c.inputs().get(1)).name();
        // Converted once, at load: HWIO -> OIHW. (A load-time copy, not part of the forward.)
        Tensor oihw = c.module().registerConstant(TfjsGraphModule.parameterName(filterName),
                Tensor.wrap(hwio.permute(3, 2, 0, 1).contiguous().toFloatArray(), hwio.size(3), hwio.size(2),
                        hwio.size(0), hwio.size(1)));
        boolean nhwc = !string(n, "data_format", "NHWC").equals("NCHW");
        int[] strides = c.sizes(spatial(c, n.attr("strides"), nhwc, 1), "strides", 1, MAX_WINDOW);
        int[] dilations = c.sizes(spatial(c, n.attr("dilations"), nhwc, 1), "dilations", 1, MAX_WINDOW);
        String padding = string(n, "padding", "VALID");
        int[] explicit = c.sizes(explicitPads(c, nhwc), "explicit_paddings", 0, MAX_PAD);
        c.sizes(hwio.shape(), "filter shape", 1, Integer.MAX_VALUE);
        int kh = hwio.size(0);
        int kw = hwio.size(1);
        int icPerGroup = hwio.size(2);
        Kernel k = in -> {
            Tensor x = nhwc ? in[0].permute(0, 3, 1, 2) : in[0];
            int[] pads = switch (padding) {
                case "SAME" -> samePads(x.size(2), x.size(3), kh, kw, strides, dilations);
                case "EXPLICIT" -> explicit;
                default -> new int[4];
            };
            int[] sym = {0, 0};
            if (pads[0] == pads[1] && pads[2] == pads[3]) {
                sym = new int[] {pads[0], pads[2]};
            } else {
                x = F.pad(x, new int[] {pads[2], pads[3], pads[0], pads[1]}, 0f);
            }
            int groups = x.size(1) / icPerGroup;
            Tensor y = F.conv2d(x, oihw, null, strides, sym, dilations, groups);
            return new Tensor[] {nhwc ? y.permute(0, 2, 3, 1) : y};
        };
        return new Built(new int[] {0}, 1, k);
    }

    private static Built maxPool(Context c) {
        TfjsNode n = c.node();
        boolean nhwc = !string(n, "data_format", "NHWC").equals("NCHW");
        int[] ksize = c.sizes(spatial(c, n.attr("ksize"), nhwc, -1), "ksize", 1, MAX_WINDOW);
        int[] strides = c.sizes(spatial(c, n.attr("strides"), nhwc, 1), "strides", 1, MAX_WINDOW);
        boolean same = string(n, "padding", "VALID").equals("SAME");
        Kernel k = in -> {
            Tensor x = nhwc ? in[0].permute(0, 3, 1, 2) : in[0];
            if (same) {
                int[] p = samePads(x.size(2), x.size(3), ksize[0], ksize[1], strides, new int[] {1, 1});
                x = F.pad(x, new int[] {p[2], p[3], p[0], p[1]}, Float.NEGATIVE_INFINITY);
            }
            Tensor y = F.maxPool2d(x, ksize, strides, new int[] {0, 0}, new int[] {1, 1}, false);
            return new Tensor[] {nhwc ? y.permute(0, 2, 3, 1) : y};
        };
        return new Built(new int[] {0}, 1, k);
    }

    private static Built resizeBilinear(Context c) {
        int[] size = c.sizes(c.ints(1), "size", 1, MAX_PAD * 4);
        if (size.length != 2) {
            throw c.error("size must hold [height, width], got " + Arrays.toString(size));
        }
        boolean alignCorners = bool(c.node(), "align_corners", false);
        return new Built(new int[] {0}, 1, in -> {
            Tensor x = in[0].permute(0, 3, 1, 2);
            return new Tensor[] {F.upsampleBilinear(x, size, alignCorners).permute(0, 2, 3, 1)};
        });
    }

    /** TensorFlow's SAME padding: {top, bottom, left, right}, the odd pixel after. */
    static int[] samePads(int h, int w, int kh, int kw, int[] stride, int[] dilation) {
        int[] out = new int[4];
        int[] in = {h, w};
        int[] k = {kh, kw};
        for (int d = 0; d < 2; d++) {
            int outSize = (in[d] + stride[d] - 1) / stride[d];
            int effective = (k[d] - 1) * dilation[d] + 1;
            int total = Math.max((outSize - 1) * stride[d] + effective - in[d], 0);
            out[2 * d] = total / 2;
            out[2 * d + 1] = total - total / 2;
        }
        return out;
    }

    /** The H and W entries of a 4-entry NHWC/NCHW list attribute ({@code dflt} when absent; -1: required). */
    private static int[] spatial(Context c, TfjsAttr a, boolean nhwc, int dflt) {
        int[] v = a == null ? null : a.intList();
        if (v == null || v.length == 0) {
            if (dflt < 0) {
                throw c.error("missing a required [N, H, W, C] list attribute");
            }
            return new int[] {dflt, dflt};
        }
        if (v.length != 4) {
            throw c.error("expected a 4-entry list attribute, got " + Arrays.toString(v));
        }
        return nhwc ? new int[] {v[1], v[2]} : new int[] {v[2], v[3]};
    }

    /** {@code explicit_paddings} (8 values, (before, after) per dim) as {top, bottom, left, right}. */
    private static int[] explicitPads(Context c, boolean nhwc) {
        TfjsAttr a = c.node().attr("explicit_paddings");
        int[] v = a == null ? null : a.intList();
        if (v == null || v.length == 0) {
            return new int[4];
        }
        if (v.length != 8) {
            throw c.error("explicit_paddings must hold 8 values, got " + Arrays.toString(v));
        }
        int h = nhwc ? 1 : 2;
        return new int[] {v[2 * h], v[2 * h + 1], v[2 * h + 2], v[2 * h + 3]};
    }

    private static String string(TfjsNode n, String key, String dflt) {
        TfjsAttr a = n.attr(key);
        return a == null || a.s() == null ? dflt : a.s();
    }

    private static boolean bool(TfjsNode n, String key, boolean dflt) {
        TfjsAttr a = n.attr(key);
        return a == null || a.b() == null ? dflt : a.b();
    }
}
