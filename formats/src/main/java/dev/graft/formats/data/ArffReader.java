package dev.graft.formats.data;

import dev.graft.engine.io.FormatException;
import dev.graft.engine.io.Limits;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.zip.GZIPInputStream;

/**
 * Reads Weka ARFF files (plain or gzip): {@code @relation}, {@code @attribute} lines (numeric, string, nominal
 * {@code {a,b}}, date) and dense {@code @data} rows, with single- or double-quoted values and backslash escapes
 * ({@code \n}, {@code \t}, {@code \'}, ...). Errors name the byte offset of the row or line.
 */
public final class ArffReader {
    private ArffReader() {
    }

    /** Reads an ARFF file, plain or gzip-compressed (by its magic bytes). */
    public static ArffDataset read(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new FormatException(file, -1, "cannot read ARFF file: " + e.getMessage(), e);
        }
        return read(bytes, file);
    }

    /**
     * Reads ARFF bytes, plain or gzip; {@code file} names them in errors. The decompressed text may not exceed
     * {@link Limits#maxBytes()}: decompression stops at the cap, so a small bomb is refused, not inflated.
     */
    public static ArffDataset read(byte[] bytes, Path file) {
        byte[] text = bytes;
        if (bytes.length >= 2 && (bytes[0] & 0xFF) == 0x1F && (bytes[1] & 0xFF) == 0x8B) {
            text = Limits.gunzip(bytes, file, "ARFF text");
        }
        return parse(new String(text, StandardCharsets.UTF_8), file);
    }

    /** Parses ARFF text; {@code file} only names the source in errors (may be null). Offsets count characters. */
    public static ArffDataset parse(String text, Path file) {
        Cursor c = new Cursor(text, file);
        String relation = "";
        List<ArffDataset.Attribute> attributes = new ArrayList<>();
        // Header: one declaration per line until @data.
        while (true) {
            c.skipBlankAndComments();
            if (c.atEnd()) {
                throw c.error(c.pos, "no @data section");
            }
            int lineStart = c.pos;
            String keyword = c.word().toLowerCase(Locale.ROOT);
            switch (keyword) {
                case "@relation" -> relation = c.value(false);
                case "@attribute" -> attributes.add(attribute(c, lineStart));
                case "@data" -> {
                    if (attributes.isEmpty()) {
                        throw c.error(lineStart, "@data before any @attribute");
                    }
                    return new ArffDataset(relation, attributes, rows(c, attributes), file);
                }
                default -> throw c.error(lineStart, "expected @relation, @attribute or @data, found '" + keyword + "'");
            }
            c.endOfLine();
        }
    }

    private static ArffDataset.Attribute attribute(Cursor c, int lineStart) {
        String name = c.value(false);
        c.skipSpaces();
        if (c.peek() == '{') {
            c.pos++;
            List<String> values = new ArrayList<>();
            while (true) {
                c.skipSpaces();
                values.add(c.value(true));
                c.skipSpaces();
                char next = c.peek();
                c.pos++;
                if (next == '}') {
                    break;
                }
                if (next != ',') {
                    throw c.error(c.pos - 1, "nominal attribute '" + name + "': expected ',' or '}'");
                }
            }
            return new ArffDataset.Attribute(name, ArffDataset.Type.NOMINAL, values);
        }
        String type = c.word().toLowerCase(Locale.ROOT);
        ArffDataset.Type t = switch (type) {
            case "numeric", "real", "integer" -> ArffDataset.Type.NUMERIC;
            case "string" -> ArffDataset.Type.STRING;
            case "date" -> ArffDataset.Type.DATE;
            default -> throw c.error(lineStart, "attribute '" + name + "': unknown type '" + type + "'");
        };
        if (t == ArffDataset.Type.DATE) {
            c.restOfLine();
        }
        return new ArffDataset.Attribute(name, t, List.of());
    }

    private static List<Object[]> rows(Cursor c, List<ArffDataset.Attribute> attributes) {
        List<Object[]> rows = new ArrayList<>();
        c.endOfLine();
        while (true) {
            c.skipBlankAndComments();
            if (c.atEnd()) {
                return rows;
            }
            int rowStart = c.pos;
            if (c.peek() == '{') {
                throw c.error(rowStart, "sparse ARFF rows are not supported");
            }
            Object[] row = new Object[attributes.size()];
            for (int i = 0; i < row.length; i++) {
                c.skipSpaces();
                int at = c.pos;
                boolean quoted = c.peek() == '\'' || c.peek() == '"';
                String v = c.value(true);
                ArffDataset.Attribute a = attributes.get(i);
                if (v.equals("?") && !quoted) {
                    row[i] = null;
                } else {
                    row[i] = switch (a.type()) {
                        case NUMERIC -> {
                            try {
                                yield Double.parseDouble(v);
                            } catch (NumberFormatException e) {
                                throw c.error(at, "row " + rows.size() + ", attribute '" + a.name() + "': '" + v
                                        + "' is not a number");
                            }
                        }
                        case NOMINAL -> {
                            if (!a.values().contains(v)) {
                                throw c.error(at, "row " + rows.size() + ", attribute '" + a.name() + "': '" + v
                                        + "' is not one of " + a.values());
                            }
                            yield v;
                        }
                        case STRING, DATE -> v;
                    };
                }
                c.skipSpaces();
                if (i < row.length - 1) {
                    if (c.peek() != ',') {
                        throw c.error(c.pos, "row " + rows.size() + ": expected ',' after attribute '" + a.name()
                                + "' (the row has fewer than " + row.length + " values?)");
                    }
                    c.pos++;
                }
            }
            rows.add(row);
            c.endOfLine();
        }
    }

    /** A position in the text with the small lexer ARFF needs. */
    private static final class Cursor {
        final String s;
        final Path file;
        int pos;

        Cursor(String s, Path file) {
            this.s = s;
            this.file = file;
        }

        FormatException error(int at, String message) {
            return new FormatException(file, at, message);
        }

        boolean atEnd() {
            return pos >= s.length();
        }

        char peek() {
            return atEnd() ? '\0' : s.charAt(pos);
        }

        void skipSpaces() {
            while (!atEnd() && (s.charAt(pos) == ' ' || s.charAt(pos) == '\t')) {
                pos++;
            }
        }

        void skipBlankAndComments() {
            while (!atEnd()) {
                char ch = s.charAt(pos);
                if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') {
                    pos++;
                } else if (ch == '%') {
                    restOfLine();
                } else {
                    return;
                }
            }
        }

        String restOfLine() {
            int start = pos;
            while (!atEnd() && s.charAt(pos) != '\n') {
                pos++;
            }
            return s.substring(start, pos);
        }

        /** After a declaration or row: only spaces or a comment may remain on the line. */
        void endOfLine() {
            skipSpaces();
            if (!atEnd() && s.charAt(pos) != '\n' && s.charAt(pos) != '\r' && s.charAt(pos) != '%') {
                throw error(pos, "unexpected text '" + s.substring(pos, Math.min(s.length(), pos + 20)) + "'");
            }
            restOfLine();
        }

        /** An unquoted word up to whitespace. */
        String word() {
            skipSpaces();
            int start = pos;
            while (!atEnd() && !Character.isWhitespace(s.charAt(pos)) && s.charAt(pos) != '{') {
                pos++;
            }
            return s.substring(start, pos);
        }

        /** A quoted value (with escapes) or an unquoted one up to a delimiter. */
        String value(boolean inList) {
            skipSpaces();
            if (atEnd()) {
                throw error(pos, "value expected at end of file");
            }
            char q = s.charAt(pos);
            if (q == '\'' || q == '"') {
                int start = pos++;
                StringBuilder sb = new StringBuilder();
                while (true) {
                    if (atEnd()) {
                        throw error(start, "quoted value never closes");
                    }
                    char ch = s.charAt(pos++);
                    if (ch == q) {
                        return sb.toString();
                    }
                    if (ch == '\\' && !atEnd()) {
                        char e = s.charAt(pos++);
                        sb.append(switch (e) {
                            case 'n' -> '\n';
                            case 't' -> '\t';
                            case 'r' -> '\r';
                            default -> e;
                        });
                    } else {
                        sb.append(ch);
                    }
                }
            }
            int start = pos;
            while (!atEnd()) {
                char ch = s.charAt(pos);
                if (ch == '\n' || ch == '\r' || ch == '%' || (inList && (ch == ',' || ch == '}'))
                        || (!inList && (ch == ' ' || ch == '\t' || ch == '{'))) {
                    break;
                }
                pos++;
            }
            String v = s.substring(start, pos).strip();
            if (v.isEmpty()) {
                throw error(start, "empty value");
            }
            return v;
        }
    }
}
