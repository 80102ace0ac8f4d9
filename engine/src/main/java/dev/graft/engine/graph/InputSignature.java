package dev.graft.engine.graph;

import dev.graft.ops.DType;
import dev.graft.ops.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The kinds of a block's inputs that a trace depends on: which are tensors (with dtype and rank), which are absent
 * (null), which are tensor arrays (with length), and which are plain constants (with value). A traced graph is
 * only valid for inputs of the same signature.
 */
public record InputSignature(List<Entry> entries) {

    /** One input's kind. */
    public sealed interface Entry {
    }

    /** A tensor input of this dtype and rank (sizes are the guards' business). */
    public record TensorEntry(DType dtype, int rank, boolean quantized) implements Entry {
    }

    /** An absent (null) input. */
    public record NullEntry() implements Entry {
    }

    /** A {@code Tensor[]} input of this length. */
    public record ArrayEntry(int length) implements Entry {
    }

    /** A plain constant input (number, boolean, string, enum): the trace baked its value in. */
    public record ConstantEntry(Object value) implements Entry {
    }

    public InputSignature {
        entries = List.copyOf(entries);
    }

    public static InputSignature of(Object[] inputs) {
        List<Entry> out = new ArrayList<>(inputs.length);
        for (Object in : inputs) {
            out.add(switch (in) {
                case null -> new NullEntry();
                case Tensor t -> new TensorEntry(t.dtype(), t.dim(), t.isQuantized());
                case Tensor[] ts -> new ArrayEntry(ts.length);
                case Number n -> new ConstantEntry(n);
                case Boolean b -> new ConstantEntry(b);
                case String s -> new ConstantEntry(s);
                case Enum<?> e -> new ConstantEntry(e);
                default -> throw new GraphException("a traced block cannot take an input of type "
                        + in.getClass().getName() + " (tensors, tensor arrays, null, numbers, booleans, strings"
                        + " and enums only)");
            });
        }
        return new InputSignature(out);
    }

    /** Why {@code inputs} do not match, in words ("input 0: rank 2, the graph takes rank 3"), or null if they do. */
    public String mismatch(Object[] inputs) {
        if (inputs.length != entries.size()) {
            return inputs.length + " inputs, the graph takes " + entries.size();
        }
        for (int i = 0; i < inputs.length; i++) {
            if (!new InputSignature(List.of(entries.get(i))).matches(new Object[] {inputs[i]})) {
                return "input " + i + " is " + describe(inputs[i]) + ", the graph takes " + describe(entries.get(i));
            }
        }
        return null;
    }

    private static String describe(Object in) {
        return switch (in) {
            case null -> "null";
            case Tensor t -> "a " + t.dtype().name().toLowerCase(java.util.Locale.ROOT) + (t.isQuantized()
                    ? " quantized" : "") + " tensor of rank " + t.dim();
            case Tensor[] ts -> "an array of " + ts.length + " tensors";
            default -> String.valueOf(in);
        };
    }

    private static String describe(Entry e) {
        return switch (e) {
            case NullEntry n -> "null";
            case TensorEntry t -> "a " + t.dtype().name().toLowerCase(java.util.Locale.ROOT) + (t.quantized()
                    ? " quantized" : "") + " tensor of rank " + t.rank();
            case ArrayEntry a -> "an array of " + a.length() + " tensors";
            case ConstantEntry c -> "the constant " + c.value();
        };
    }

    public boolean matches(Object[] inputs) {
        if (inputs.length != entries.size()) {
            return false;
        }
        for (int i = 0; i < inputs.length; i++) {
            Entry e = entries.get(i);
            Object in = inputs[i];
            boolean ok = switch (e) {
                case NullEntry n -> in == null;
                case TensorEntry t -> in instanceof Tensor x && x.dtype() == t.dtype() && x.dim() == t.rank()
                        && x.isQuantized() == t.quantized();
                case ArrayEntry a -> in instanceof Tensor[] x && x.length == a.length();
                case ConstantEntry c -> Objects.equals(c.value(), in);
            };
            if (!ok) {
                return false;
            }
        }
        return true;
    }
}
