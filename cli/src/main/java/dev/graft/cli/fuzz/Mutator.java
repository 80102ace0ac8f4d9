package dev.graft.cli.fuzz;

import dev.graft.engine.io.Json;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.zip.GZIPOutputStream;

/**
 * The mutations the fuzzer applies to a seed. Byte level: bit flips, boundary bytes (0, 0x7F, 0x80, 0xFF), truncation,
 * insertion of random or repeated bytes, deletion, and huge length fields (32/64-bit little- and big-endian integers
 * and protobuf varints near 2^31, 2^32 and 2^63 written over the bytes). JSON level: one node of the parsed tree
 * replaced by a value of the wrong type or an extreme number, an array element repeated many times, a key removed, or
 * a deep nesting, then written back. Every mutation is described in one line so a report can say what the input was.
 */
public final class Mutator {
    /** A mutated input and what was done to the seed. */
    public record Mutant(byte[] bytes, String description) {
    }

    private static final long[] HUGE = {Integer.MAX_VALUE, Integer.MAX_VALUE + 1L, 0xFFFF_FFFFL, 1L << 32,
        Long.MAX_VALUE, -1, Integer.MIN_VALUE, 1_000_000, 100_000, 65_536};

    private Mutator() {
    }

    /** One to three byte-level mutations of {@code seed}. */
    public static Mutant bytes(byte[] seed, Random r) {
        byte[] b = seed;
        StringBuilder what = new StringBuilder();
        int rounds = 1 + (r.nextInt(4) == 0 ? r.nextInt(3) : 0);
        for (int i = 0; i < rounds; i++) {
            if (!what.isEmpty()) {
                what.append(", ");
            }
            b = once(b, r, what);
        }
        return new Mutant(b, what.toString());
    }

    private static byte[] once(byte[] b, Random r, StringBuilder what) {
        int n = b.length;
        // Mutations cluster near the start, where headers and length fields live, half of the time.
        int at = n == 0 ? 0 : r.nextBoolean() ? r.nextInt(Math.min(n, 256)) : r.nextInt(n);
        switch (r.nextInt(8)) {
            case 0 -> {
                if (n == 0) {
                    return new byte[] {(byte) r.nextInt(256)};
                }
                byte[] c = b.clone();
                int bit = r.nextInt(8);
                c[at] ^= (byte) (1 << bit);
                what.append("flip bit ").append(bit).append(" of byte ").append(at);
                return c;
            }
            case 1 -> {
                if (n == 0) {
                    return new byte[] {0};
                }
                byte[] c = b.clone();
                int v = new int[] {0, 0x7F, 0x80, 0xFF, 0x01, 0x3F}[r.nextInt(6)];
                c[at] = (byte) v;
                what.append(String.format("byte %d := 0x%02x", at, v));
                return c;
            }
            case 2 -> {
                int cut = n == 0 ? 0 : r.nextInt(n);
                what.append("truncate to ").append(cut).append(" bytes");
                return Arrays.copyOf(b, cut);
            }
            case 3 -> {
                int len = 1 + r.nextInt(r.nextBoolean() ? 8 : 512);
                byte[] ins = new byte[len];
                if (r.nextBoolean() && n > 0) {
                    int from = r.nextInt(n);
                    for (int k = 0; k < len; k++) {
                        ins[k] = b[(from + k) % n];
                    }
                    what.append("insert ").append(len).append(" bytes copied from ").append(from);
                } else {
                    r.nextBytes(ins);
                    what.append("insert ").append(len).append(" random bytes");
                }
                what.append(" at ").append(at);
                return splice(b, at, 0, ins);
            }
            case 4 -> {
                int len = n == 0 ? 0 : 1 + r.nextInt(Math.min(n - at, 64));
                what.append("delete ").append(len).append(" bytes at ").append(at);
                return splice(b, at, len, new byte[0]);
            }
            case 5, 6 -> {
                long v = HUGE[r.nextInt(HUGE.length)];
                int width = new int[] {4, 8, 4, 2}[r.nextInt(4)];
                boolean big = r.nextBoolean();
                ByteBuffer buf = ByteBuffer.allocate(8).order(big ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN);
                if (width == 8) {
                    buf.putLong(v);
                } else if (width == 4) {
                    buf.putInt((int) v);
                } else {
                    buf.putShort((short) v);
                }
                byte[] c = b.clone();
                for (int k = 0; k < width && at + k < n; k++) {
                    c[at + k] = buf.array()[k];
                }
                what.append(String.format("int%d %s %d at byte %d", width * 8, big ? "BE" : "LE", v, at));
                return c;
            }
            default -> {
                long v = HUGE[r.nextInt(HUGE.length)];
                byte[] varint = varint(v);
                what.append("varint ").append(v).append(" over byte ").append(at);
                return splice(b, at, Math.min(varint.length, n - at), varint);
            }
        }
    }

    private static byte[] splice(byte[] b, int at, int remove, byte[] insert) {
        byte[] c = new byte[b.length - remove + insert.length];
        System.arraycopy(b, 0, c, 0, at);
        System.arraycopy(insert, 0, c, at, insert.length);
        System.arraycopy(b, at + remove, c, at + insert.length, b.length - at - remove);
        return c;
    }

    /** Protobuf's base-128 varint of {@code v} (negative values take ten bytes, as protobuf writes them). */
    static byte[] varint(long v) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        while ((v & ~0x7FL) != 0) {
            out.write((int) ((v & 0x7F) | 0x80));
            v >>>= 7;
        }
        out.write((int) v);
        return out.toByteArray();
    }

    // ---------------------------------------------------------------- JSON trees

    /** The JSON document {@code seed} with one to three nodes edited (see the class comment), as UTF-8. */
    public static Mutant json(Object seed, Random r) {
        Object root = deepCopy(seed);
        StringBuilder what = new StringBuilder();
        int rounds = 1 + (r.nextInt(3) == 0 ? r.nextInt(3) : 0);
        boolean nested = false;
        for (int i = 0; i < rounds; i++) {
            if (!what.isEmpty()) {
                what.append(", ");
            }
            int before = what.length();
            root = editJson(root, r, what, !nested);
            nested |= what.indexOf(" deep", before) >= 0;
        }
        return new Mutant(Json.toBytes(root), what.toString());
    }

    /** Edits one node of {@code root} in place (or returns a replacement root). */
    public static Object editJson(Object root, Random r, StringBuilder what) {
        return editJson(root, r, what, true);
    }

    /**
     * One edit; {@code mayNest}: whether it may wrap a value in a deep nesting (once per input: the readers refuse
     * one deep nesting as well as two, and the fuzzer's own recursive walks over the tree stay shallow).
     */
    private static Object editJson(Object root, Random r, StringBuilder what, boolean mayNest) {
        List<Object[]> slots = new ArrayList<>();   // {container, key or index, path}
        collect(root, "$", 0, slots);
        if (slots.isEmpty()) {
            what.append("root := ").append(describe(root = wrongValue(root, r)));
            return root;
        }
        Object[] slot = slots.get(r.nextInt(slots.size()));
        String path = (String) slot[2];
        Object old = get(slot);
        int kind = r.nextInt(10);
        if (kind == 0 && slot[0] instanceof Map<?, ?> m) {
            m.remove(slot[1]);
            what.append("remove ").append(path);
        } else if (kind == 1 && slot[0] instanceof List<?> list) {
            @SuppressWarnings("unchecked")
            List<Object> l = (List<Object>) list;
            int copies = new int[] {2, 10, 300}[r.nextInt(3)];
            int index = (Integer) slot[1];
            for (int k = 1; k < copies; k++) {
                l.add(index, deepCopy(l.get(index)));
            }
            what.append("repeat ").append(path).append(" ").append(copies).append(" times");
        } else if (kind == 2 && mayNest) {
            Object nested = old;
            int depth = new int[] {50, 1200}[r.nextInt(2)];
            for (int k = 0; k < depth; k++) {
                List<Object> wrap = new ArrayList<>(1);
                wrap.add(nested);
                nested = wrap;
            }
            set(slot, nested);
            what.append(path).append(" nested ").append(depth).append(" deep");
        } else {
            Object v = wrongValue(old, r);
            set(slot, v);
            what.append(path).append(" := ").append(describe(v));
        }
        return root;
    }

    /** A value of another type, or an extreme number, for a slot that held {@code old}. */
    private static Object wrongValue(Object old, Random r) {
        return switch (r.nextInt(14)) {
            case 0 -> null;
            case 1 -> "x";
            case 2 -> true;
            case 3 -> new ArrayList<>();
            case 4 -> new LinkedHashMap<>();
            case 5 -> -1;
            case 6 -> 0;
            case 7 -> Integer.MAX_VALUE;
            case 8 -> 1_000_000;
            case 9 -> Long.MAX_VALUE;
            case 10 -> 1e300;
            case 11 -> -0.5;
            case 12 -> old instanceof Number n ? n.longValue() + 1 : "";
            default -> old instanceof String s ? s + "0" : 2147483648L;
        };
    }

    private static String describe(Object v) {
        String s = v == null ? "null" : Json.toString(v);
        return s.length() > 40 ? s.substring(0, 40) + "..." : s;
    }

    /** Slots deeper than this are not offered for editing (a real file's structure is far shallower). */
    private static final int MAX_EDIT_DEPTH = 64;

    private static void collect(Object node, String path, int depth, List<Object[]> out) {
        if (depth >= MAX_EDIT_DEPTH) {
            return;
        }
        if (node instanceof Map<?, ?> m) {
            for (Object k : m.keySet()) {
                out.add(new Object[] {m, k, path + "." + k});
                collect(m.get(k), path + "." + k, depth + 1, out);
            }
        } else if (node instanceof List<?> l) {
            // Long arrays (weights, vocabularies) get a sample of slots, so the structure is edited as often.
            int step = Math.max(1, l.size() / 16);
            for (int i = 0; i < l.size(); i += step) {
                out.add(new Object[] {l, i, path + "[" + i + "]"});
                collect(l.get(i), path + "[" + i + "]", depth + 1, out);
            }
        }
    }

    private static Object get(Object[] slot) {
        return slot[0] instanceof Map<?, ?> m ? m.get(slot[1]) : ((List<?>) slot[0]).get((Integer) slot[1]);
    }

    @SuppressWarnings("unchecked")
    private static void set(Object[] slot, Object v) {
        if (slot[0] instanceof Map<?, ?> m) {
            ((Map<Object, Object>) m).put(slot[1], v);
        } else {
            ((List<Object>) slot[0]).set((Integer) slot[1], v);
        }
    }

    /** A mutable copy of a parsed JSON tree. */
    public static Object deepCopy(Object node) {
        if (node instanceof Map<?, ?> m) {
            Map<Object, Object> c = new LinkedHashMap<>();
            m.forEach((k, v) -> c.put(k, deepCopy(v)));
            return c;
        }
        if (node instanceof List<?> l) {
            List<Object> c = new ArrayList<>(l.size());
            l.forEach(v -> c.add(deepCopy(v)));
            return c;
        }
        return node;
    }

    // ---------------------------------------------------------------- compression

    /** gzip of {@code bytes}. */
    public static byte[] gzip(byte[] bytes) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream z = new GZIPOutputStream(out)) {
            z.write(bytes);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** A small gzip stream that inflates to {@code size} zero bytes after {@code head}: a decompression bomb. */
    public static byte[] bomb(byte[] head, long size) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream z = new GZIPOutputStream(out)) {
            z.write(head);
            byte[] zeros = new byte[1 << 16];
            for (long w = 0; w < size; w += zeros.length) {
                z.write(zeros);
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
