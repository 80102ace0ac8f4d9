package dev.graft.engine.io;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON that Graft's own files need (the {@code .graft} manifest, safetensors headers), with no dependency, so
 * that loading and saving a model runs on the core modules alone.
 *
 * <p>Values are plain Java: {@code Map<String, Object>} (insertion order kept), {@code List<Object>}, String,
 * Integer / Long / BigInteger (by size, for numbers without fraction or exponent), Double (the others), Boolean and
 * null. Parsing is strict RFC 8259: duplicate keys, trailing commas, leading zeros, control characters in strings
 * and anything after the value but whitespace are refused with the character offset. Writing produces exactly the
 * bytes Jackson's {@code ObjectMapper} writes for the same value, compact or with its default pretty printer
 * ({@code "key" : value}, arrays on one line as {@code [ 1, 2 ]}, two-space indents), so files keep the layout they
 * had when Jackson wrote them.
 */
public final class Json {
    private Json() {
    }

    /** A malformed document: the message and the character offset where reading stopped. */
    public static final class ParseException extends RuntimeException {
        private final int offset;

        ParseException(String message, int offset) {
            super(message + " (at character " + offset + ")");
            this.offset = offset;
        }

        /** Character offset (from the start of the text) of the problem. */
        public int offset() {
            return offset;
        }
    }

    // ================================================================ reading

    /** Parses one JSON value that fills {@code text} (whitespace around it allowed). */
    public static Object parse(String text) {
        Reader r = new Reader(text);
        r.skipWhitespace();
        Object v = r.value(0);
        r.skipWhitespace();
        if (r.at < text.length()) {
            throw new ParseException("unexpected content after the JSON value", r.at);
        }
        return v;
    }

    /** Parses UTF-8 bytes. */
    public static Object parse(byte[] utf8) {
        return parse(new String(utf8, StandardCharsets.UTF_8));
    }

    private static final class Reader {
        /** Nesting bound: a hostile file cannot exhaust the stack. */
        private static final int MAX_DEPTH = 1000;
        private final String s;
        private int at;

        Reader(String s) {
            this.s = s;
        }

        Object value(int depth) {
            if (depth > MAX_DEPTH) {
                throw new ParseException("nesting deeper than " + MAX_DEPTH, at);
            }
            if (at >= s.length()) {
                throw new ParseException("unexpected end of input, expected a value", at);
            }
            char c = s.charAt(at);
            return switch (c) {
                case '{' -> object(depth);
                case '[' -> array(depth);
                case '"' -> string();
                case 't' -> literal("true", Boolean.TRUE);
                case 'f' -> literal("false", Boolean.FALSE);
                case 'n' -> literal("null", null);
                default -> {
                    if (c == '-' || (c >= '0' && c <= '9')) {
                        yield number();
                    }
                    throw new ParseException("unexpected character '" + printable(c) + "', expected a value", at);
                }
            };
        }

        private Map<String, Object> object(int depth) {
            at++; // {
            Map<String, Object> out = new LinkedHashMap<>();
            skipWhitespace();
            if (peek() == '}') {
                at++;
                return out;
            }
            while (true) {
                skipWhitespace();
                if (peek() != '"') {
                    throw new ParseException("expected a field name in double quotes", at);
                }
                int keyAt = at;
                String key = string();
                if (out.containsKey(key)) {
                    throw new ParseException("Duplicate field '" + key + "'", keyAt);
                }
                skipWhitespace();
                expect(':');
                skipWhitespace();
                out.put(key, value(depth + 1));
                skipWhitespace();
                char c = peek();
                at++;
                if (c == '}') {
                    return out;
                }
                if (c != ',') {
                    throw new ParseException("expected ',' or '}' in an object", at - 1);
                }
            }
        }

        private List<Object> array(int depth) {
            at++; // [
            List<Object> out = new ArrayList<>();
            skipWhitespace();
            if (peek() == ']') {
                at++;
                return out;
            }
            while (true) {
                skipWhitespace();
                out.add(value(depth + 1));
                skipWhitespace();
                char c = peek();
                at++;
                if (c == ']') {
                    return out;
                }
                if (c != ',') {
                    throw new ParseException("expected ',' or ']' in an array", at - 1);
                }
            }
        }

        private String string() {
            at++; // opening quote
            StringBuilder sb = null;
            int start = at;
            while (true) {
                if (at >= s.length()) {
                    throw new ParseException("unterminated string", start - 1);
                }
                char c = s.charAt(at);
                if (c == '"') {
                    String chunk = s.substring(start, at);
                    at++;
                    return sb == null ? chunk : sb.append(chunk).toString();
                }
                if (c < 0x20) {
                    throw new ParseException("unescaped control character 0x" + Integer.toHexString(c)
                            + " in a string", at);
                }
                if (c == '\\') {
                    if (sb == null) {
                        sb = new StringBuilder();
                    }
                    sb.append(s, start, at);
                    at++;
                    if (at >= s.length()) {
                        throw new ParseException("unterminated escape", at);
                    }
                    char e = s.charAt(at++);
                    switch (e) {
                        case '"', '\\', '/' -> sb.append(e);
                        case 'b' -> sb.append('\b');
                        case 'f' -> sb.append('\f');
                        case 'n' -> sb.append('\n');
                        case 'r' -> sb.append('\r');
                        case 't' -> sb.append('\t');
                        case 'u' -> {
                            if (at + 4 > s.length()) {
                                throw new ParseException("truncated \\u escape", at);
                            }
                            int code = 0;
                            for (int k = 0; k < 4; k++) {
                                int d = Character.digit(s.charAt(at + k), 16);
                                if (d < 0) {
                                    throw new ParseException("bad hex digit in a \\u escape", at + k);
                                }
                                code = code * 16 + d;
                            }
                            at += 4;
                            sb.append((char) code);
                        }
                        default -> throw new ParseException("unknown escape '\\" + printable(e) + "'", at - 1);
                    }
                    start = at;
                } else {
                    at++;
                }
            }
        }

        private Object number() {
            int start = at;
            if (peek() == '-') {
                at++;
            }
            if (at >= s.length() || !isDigit(s.charAt(at))) {
                throw new ParseException("a number needs digits", at);
            }
            if (s.charAt(at) == '0' && at + 1 < s.length() && isDigit(s.charAt(at + 1))) {
                throw new ParseException("leading zeros are not allowed in numbers", at);
            }
            while (at < s.length() && isDigit(s.charAt(at))) {
                at++;
            }
            boolean integral = true;
            if (at < s.length() && s.charAt(at) == '.') {
                integral = false;
                at++;
                int digits = at;
                while (at < s.length() && isDigit(s.charAt(at))) {
                    at++;
                }
                if (at == digits) {
                    throw new ParseException("a decimal point must be followed by digits", at);
                }
            }
            if (at < s.length() && (s.charAt(at) == 'e' || s.charAt(at) == 'E')) {
                integral = false;
                at++;
                if (at < s.length() && (s.charAt(at) == '+' || s.charAt(at) == '-')) {
                    at++;
                }
                int digits = at;
                while (at < s.length() && isDigit(s.charAt(at))) {
                    at++;
                }
                if (at == digits) {
                    throw new ParseException("an exponent needs digits", at);
                }
            }
            String text = s.substring(start, at);
            if (!integral) {
                return Double.parseDouble(text);
            }
            // As Jackson: the smallest of Integer, Long, BigInteger that holds the value.
            if (text.length() <= 9) {
                return Integer.parseInt(text);
            }
            BigInteger big = new BigInteger(text);
            if (big.bitLength() < 32) {
                return big.intValue();
            }
            return big.bitLength() < 64 ? (Object) big.longValue() : big;
        }

        private Object literal(String word, Object value) {
            if (!s.startsWith(word, at)) {
                throw new ParseException("unexpected token, expected '" + word + "'", at);
            }
            at += word.length();
            return value;
        }

        void skipWhitespace() {
            while (at < s.length()) {
                char c = s.charAt(at);
                if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
                    return;
                }
                at++;
            }
        }

        private char peek() {
            if (at >= s.length()) {
                throw new ParseException("unexpected end of input", at);
            }
            return s.charAt(at);
        }

        private void expect(char c) {
            if (peek() != c) {
                throw new ParseException("expected '" + c + "'", at);
            }
            at++;
        }

        private static boolean isDigit(char c) {
            return c >= '0' && c <= '9';
        }

        private static String printable(char c) {
            return c < 0x20 || c > 0x7e ? String.format("\\u%04x", (int) c) : String.valueOf(c);
        }
    }

    // ================================================================ writing

    /**
     * Compact UTF-8 bytes, as Jackson's {@code writeValueAsBytes}: characters outside the Basic Multilingual Plane
     * are written as their two {@code \\u} surrogate escapes, the rest as UTF-8.
     */
    public static byte[] toBytes(Object value) {
        return write(value, false, true).getBytes(StandardCharsets.UTF_8);
    }

    /** Indented UTF-8 bytes, as Jackson's {@code writeValueAsBytes} with {@code INDENT_OUTPUT}. */
    public static byte[] toPrettyBytes(Object value) {
        return write(value, true, true).getBytes(StandardCharsets.UTF_8);
    }

    /** Compact text: {@code {"a":[1,2]}}. */
    public static String toString(Object value) {
        return write(value, false, false);
    }

    /** Indented text in Jackson's default pretty-printed layout. */
    public static String toPrettyString(Object value) {
        return write(value, true, false);
    }

    private static String write(Object value, boolean pretty, boolean escapeSurrogates) {
        StringBuilder sb = new StringBuilder();
        new Writer(sb, pretty, escapeSurrogates).value(value, 0);
        return sb.toString();
    }

    private record Writer(StringBuilder out, boolean pretty, boolean escapeSurrogates) {
        private static final String EOL = System.lineSeparator();
        private static final char[] HEX = "0123456789ABCDEF".toCharArray();

        void value(Object v, int level) {
            switch (v) {
                case null -> out.append("null");
                case String s -> string(s);
                case Boolean b -> out.append(b);
                case Integer i -> out.append(i);
                case Long l -> out.append(l);
                case Short i -> out.append(i);
                case Byte i -> out.append(i);
                case BigInteger i -> out.append(i);
                case Float f -> out.append(f);
                case Double d -> out.append(d);
                case Map<?, ?> m -> object(m, level);
                case Iterable<?> list -> array(list, level);
                default -> throw new IllegalArgumentException("JSON cannot hold a " + v.getClass().getName());
            }
        }

        private void object(Map<?, ?> m, int level) {
            out.append('{');
            if (m.isEmpty()) {
                out.append(pretty ? " }" : "}");
                return;
            }
            boolean first = true;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                if (!(e.getKey() instanceof String key)) {
                    throw new IllegalArgumentException("JSON object keys must be strings, got " + e.getKey());
                }
                if (!first) {
                    out.append(',');
                }
                first = false;
                indent(level + 1);
                string(key);
                out.append(pretty ? " : " : ":");
                value(e.getValue(), level + 1);
            }
            indent(level);
            out.append('}');
        }

        /** Arrays stay on one line and do not indent what they hold (Jackson's FixedSpaceIndenter). */
        private void array(Iterable<?> list, int level) {
            out.append('[');
            Iterator<?> it = list.iterator();
            if (!it.hasNext()) {
                out.append(pretty ? " ]" : "]");
                return;
            }
            out.append(pretty ? " " : "");
            boolean first = true;
            while (it.hasNext()) {
                if (!first) {
                    out.append(pretty ? ", " : ",");
                }
                first = false;
                value(it.next(), level);
            }
            out.append(pretty ? " ]" : "]");
        }

        private void indent(int level) {
            if (pretty) {
                out.append(EOL).append("  ".repeat(level));
            }
        }

        private void string(String s) {
            out.append('"');
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                switch (c) {
                    case '"' -> out.append("\\\"");
                    case '\\' -> out.append("\\\\");
                    case '\b' -> out.append("\\b");
                    case '\t' -> out.append("\\t");
                    case '\f' -> out.append("\\f");
                    case '\n' -> out.append("\\n");
                    case '\r' -> out.append("\\r");
                    default -> {
                        if (c < 0x20 || (escapeSurrogates && Character.isSurrogate(c))) {
                            out.append("\\u").append(HEX[c >> 12]).append(HEX[(c >> 8) & 15])
                                    .append(HEX[(c >> 4) & 15]).append(HEX[c & 15]);
                        } else {
                            out.append(c);
                        }
                    }
                }
            }
            out.append('"');
        }
    }
}
