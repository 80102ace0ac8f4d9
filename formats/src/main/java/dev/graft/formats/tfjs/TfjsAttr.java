package dev.graft.formats.tfjs;

import java.util.Arrays;

/**
 * One attribute of a TensorFlow.js graph node, as the converter writes it in {@code model.json}: exactly one of a
 * string (base64 in the file, decoded here), an integer, a float, a boolean, a dtype name, or a list of integers,
 * floats or strings. Absent parts are null.
 */
public record TfjsAttr(String s, Long i, Float f, Boolean b, String type, long[] ints, float[] floats,
                       String[] strings) {

    /** The integer list as Java ints (a list attribute such as {@code strides}, {@code ksize}). */
    public int[] intList() {
        if (ints == null) {
            return null;
        }
        int[] out = new int[ints.length];
        for (int k = 0; k < ints.length; k++) {
            out[k] = Math.toIntExact(ints[k]);
        }
        return out;
    }

    @Override
    public String toString() {
        if (s != null) {
            return "'" + s + "'";
        }
        if (i != null) {
            return i.toString();
        }
        if (f != null) {
            return f.toString();
        }
        if (b != null) {
            return b.toString();
        }
        if (type != null) {
            return type;
        }
        if (ints != null) {
            return Arrays.toString(ints);
        }
        if (floats != null) {
            return Arrays.toString(floats);
        }
        if (strings != null) {
            return Arrays.toString(strings);
        }
        return "{}";
    }
}
