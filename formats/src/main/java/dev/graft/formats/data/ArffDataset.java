package dev.graft.formats.data;

import dev.graft.engine.io.FormatException;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * An ARFF data set: the relation name, the attributes and the rows. A row holds one value per attribute: a String
 * (string, nominal, date), a Double (numeric), or null for a missing value ({@code ?}). Asking for an attribute the
 * file does not have (or has with another type) is a {@link FormatException} naming the file ({@code source}, null
 * when the data did not come from one).
 */
public record ArffDataset(String relation, List<Attribute> attributes, List<Object[]> rows, Path source) {
    public ArffDataset {
        attributes = List.copyOf(attributes);
        rows = List.copyOf(rows);
    }

    public ArffDataset(String relation, List<Attribute> attributes, List<Object[]> rows) {
        this(relation, attributes, rows, null);
    }

    /** An ARFF attribute's type. */
    public enum Type { NUMERIC, NOMINAL, STRING, DATE }

    /** An attribute; {@code values} lists a nominal attribute's values in declaration order. */
    public record Attribute(String name, Type type, List<String> values) {
        public Attribute {
            values = List.copyOf(values);
        }
    }

    public int size() {
        return rows.size();
    }

    /** The index of the attribute of this name. */
    public int attributeIndex(String name) {
        for (int i = 0; i < attributes.size(); i++) {
            if (attributes.get(i).name().equals(name)) {
                return i;
            }
        }
        throw new FormatException(source, -1, "no attribute '" + name + "' in relation " + relation + " (attributes: "
                + attributes.stream().map(Attribute::name).toList() + ")");
    }

    /** The values of a string (or nominal) attribute, one per row (null where missing). */
    public List<String> strings(String attribute) {
        int i = attributeIndex(attribute);
        Type type = attributes.get(i).type();
        if (type == Type.NUMERIC) {
            throw new FormatException(source, -1, "attribute '" + attribute + "' is numeric, not string or nominal");
        }
        List<String> out = new ArrayList<>(rows.size());
        for (Object[] r : rows) {
            out.add((String) r[i]);
        }
        return out;
    }

    /** A nominal attribute as indices into its declared values (-1 where missing), e.g. class labels. */
    public int[] nominalIndices(String attribute) {
        int i = attributeIndex(attribute);
        Attribute a = attributes.get(i);
        if (a.type() != Type.NOMINAL) {
            throw new FormatException(source, -1, "attribute '" + attribute + "' is " + a.type() + ", not nominal");
        }
        int[] out = new int[rows.size()];
        for (int r = 0; r < out.length; r++) {
            Object v = rows.get(r)[i];
            out[r] = v == null ? -1 : a.values().indexOf(v);
        }
        return out;
    }

    /** The last attribute's name (Weka's default class attribute). */
    public String classAttribute() {
        if (attributes.isEmpty()) {
            throw new FormatException(source, -1, "relation " + relation + " declares no attributes");
        }
        return attributes.get(attributes.size() - 1).name();
    }
}
