package dev.graft.engine.io;

import dev.graft.ops.DType;
import dev.graft.ops.Tensor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The Hugging Face safetensors format: an 8-byte little-endian header length N, N bytes of JSON
 * ({@code {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}}}), then
 * the raw little-endian tensor data, offsets relative to its start.
 *
 * <p>Reading validates everything before it trusts it: the header length against the file size, the JSON, every
 * dtype, shape and offset pair (the byte count must equal the shape's), and that the tensors tile the data section
 * exactly (sorted by offset, contiguous, no overlap, no holes, no trailing bytes). Any violation is a
 * {@link FormatException} naming the byte offset or tensor. F16, BF16 and F64 data is read as float32.
 *
 * <p>Writing is atomic: a temporary file in the target's folder, moved over the target once complete.
 */
public final class Safetensors {
    /** The reference implementation refuses headers over 100 MB; so do we. */
    static final long MAX_HEADER = 100L * 1024 * 1024;
    private static final String METADATA = "__metadata__";

    private Safetensors() {
    }

    /** Tensors (in data order) and the free-form string metadata. */
    public record Contents(Map<String, Tensor> tensors, Map<String, String> metadata) {
        public Contents {
            tensors = Collections.unmodifiableMap(new LinkedHashMap<>(tensors));
            metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
        }
    }

    /** One header entry. */
    record Entry(String name, String dtype, int[] shape, long begin, long end) {
    }

    // ---------------------------------------------------------------- reading

    /** Reads the tensors of a file (see {@link #readContents} for the metadata too). */
    public static Map<String, Tensor> read(Path file) {
        return readContents(file).tensors();
    }

    public static Contents readContents(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size > Integer.MAX_VALUE - 16) {
                throw new FormatException(file, -1, "file of " + size + " bytes is larger than this reader's 2 GB"
                        + " limit");
            }
            ByteBuffer all = ByteBuffer.allocate((int) size);
            while (all.hasRemaining() && ch.read(all) >= 0) {
                // keep reading
            }
            return parse(all.array(), file);
        } catch (NoSuchFileException e) {
            throw new FormatException(file, -1, "file not found", e);
        } catch (IOException e) {
            throw new FormatException(file, -1, "cannot read: " + e.getMessage(), e);
        }
    }

    /**
     * Loads {@code state} (read from {@code file}) into {@code module} strictly: a missing, extra or wrongly shaped
     * tensor is a FormatException naming the file and the tensor, not a module error without the file.
     */
    public static void loadInto(dev.graft.engine.Module module, Map<String, Tensor> state, Path file) {
        try {
            module.loadStateDict(state);
        } catch (dev.graft.engine.ModuleException | dev.graft.ops.TensorException e) {
            throw new FormatException(file, -1, "the tensors do not fit " + module.getClass().getSimpleName() + ": "
                    + e.getMessage(), e);
        }
    }

    /** Parses safetensors bytes held in memory ({@code source} names them in errors, may be null). */
    public static Contents parse(byte[] bytes, Path source) {
        ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (bytes.length < 8) {
            throw new FormatException(source, 0, "file of " + bytes.length + " bytes is shorter than the 8-byte header"
                    + " length");
        }
        long headerLength = buf.getLong(0);
        if (headerLength < 2 || headerLength > MAX_HEADER) {
            throw new FormatException(source, 0, "header length " + Long.toUnsignedString(headerLength)
                    + " is outside 2.." + MAX_HEADER);
        }
        if (8 + headerLength > bytes.length) {
            throw new FormatException(source, 0, "header length " + headerLength + " runs past the end of the "
                    + bytes.length + "-byte file (truncated?)");
        }
        int dataStart = (int) (8 + headerLength);
        if (bytes[8] != '{') {
            throw new FormatException(source, 8, "the header must be a JSON object starting with '{'");
        }
        Map<String, Object> header = parseHeader(bytes, (int) headerLength, source);
        Map<String, String> metadata = new LinkedHashMap<>();
        List<Entry> entries = new ArrayList<>();
        for (Map.Entry<String, Object> e : header.entrySet()) {
            if (e.getKey().equals(METADATA)) {
                readMetadata(e.getValue(), metadata, source);
            } else {
                entries.add(entry(e.getKey(), e.getValue(), source));
            }
        }
        long dataLength = bytes.length - dataStart;
        checkLayout(entries, dataLength, dataStart, source);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (Entry en : entries) {
            tensors.put(en.name(), decode(en, buf, dataStart, source));
        }
        return new Contents(tensors, metadata);
    }

    /**
     * Where each tensor's data lie in {@code bytes} (absolute {@code [begin, end)}), in data order, after the same
     * checks as {@link #parse} makes of the header and layout; nothing is decoded. Integrity checks hash these spans.
     */
    public static Map<String, long[]> dataSpans(byte[] bytes, Path source) {
        if (bytes.length < 8) {
            throw new FormatException(source, 0, "file of " + bytes.length + " bytes is shorter than the 8-byte header"
                    + " length");
        }
        long headerLength = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        if (headerLength < 2 || headerLength > MAX_HEADER || 8 + headerLength > bytes.length) {
            throw new FormatException(source, 0, "header length " + Long.toUnsignedString(headerLength)
                    + " does not fit the " + bytes.length + "-byte file");
        }
        int dataStart = (int) (8 + headerLength);
        List<Entry> entries = new ArrayList<>();
        for (Map.Entry<String, Object> e : parseHeader(bytes, (int) headerLength, source).entrySet()) {
            if (!e.getKey().equals(METADATA)) {
                entries.add(entry(e.getKey(), e.getValue(), source));
            }
        }
        checkLayout(entries, bytes.length - dataStart, dataStart, source);
        Map<String, long[]> spans = new LinkedHashMap<>();
        for (Entry e : entries) {
            spans.put(e.name(), new long[] {dataStart + e.begin(), dataStart + e.end()});
        }
        return spans;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> parseHeader(byte[] bytes, int length, Path source) {
        String json = new String(bytes, 8, length, StandardCharsets.UTF_8);
        Object node;
        try {
            node = Json.parse(json);
        } catch (Json.ParseException e) {
            throw new FormatException(source, 8 + e.offset(), "malformed JSON header: " + e.getMessage(), e);
        }
        if (!(node instanceof Map<?, ?> header)) {
            throw new FormatException(source, 8, "the header is not a JSON object");
        }
        return (Map<String, Object>) header;
    }

    private static void readMetadata(Object node, Map<String, String> out, Path source) {
        if (!(node instanceof Map<?, ?> map)) {
            throw new FormatException(source, 8, "__metadata__ must be an object of strings");
        }
        for (Map.Entry<?, ?> e : map.entrySet()) {
            if (!(e.getValue() instanceof String text)) {
                throw new FormatException(source, 8, "__metadata__." + e.getKey() + " must be a string");
            }
            out.put((String) e.getKey(), text);
        }
    }

    private static Entry entry(String name, Object node, Path source) {
        if (!(node instanceof Map<?, ?> fields)) {
            throw new FormatException(source, 8, "tensor '" + name + "': header entry must be an object");
        }
        if (!(fields.get("dtype") instanceof String dtype) || !(fields.get("shape") instanceof List<?> shape)
                || !(fields.get("data_offsets") instanceof List<?> offsets) || offsets.size() != 2) {
            throw new FormatException(source, 8, "tensor '" + name + "': needs \"dtype\" (string), \"shape\" (array)"
                    + " and \"data_offsets\" ([begin, end])");
        }
        String shapeText = Json.toString(shape);
        String offsetsText = Json.toString(offsets);
        int[] dims = new int[shape.size()];
        for (int d = 0; d < dims.length; d++) {
            if (!(shape.get(d) instanceof Integer v) || v < 0) {
                throw new FormatException(source, 8, "tensor '" + name + "': shape " + shapeText
                        + " must hold non-negative integers");
            }
            dims[d] = v;
        }
        long[] off = new long[2];
        for (int k = 0; k < 2; k++) {
            Object v = offsets.get(k);
            long value = v instanceof Integer i ? i : v instanceof Long l ? l : -1;
            if (value < 0) {
                throw new FormatException(source, 8, "tensor '" + name + "': data_offsets " + offsetsText
                        + " must be non-negative integers");
            }
            off[k] = value;
        }
        if (off[1] < off[0]) {
            throw new FormatException(source, 8, "tensor '" + name + "': data_offsets " + offsetsText + " end before"
                    + " they begin");
        }
        int width = byteWidth(dtype, name, source);
        long count = 1;
        for (int d : dims) {
            count *= d; // both factors stay below 2^31, so the product cannot overflow a long
            if (count > Integer.MAX_VALUE) {
                throw new FormatException(source, 8, "tensor '" + name + "': shape " + shapeText + " is too large");
            }
        }
        if (count * width != off[1] - off[0]) {
            throw new FormatException(source, 8, "tensor '" + name + "': " + dtype + " " + shapeText + " needs "
                    + count * width + " bytes but data_offsets " + offsetsText + " span " + (off[1] - off[0]));
        }
        return new Entry(name, dtype, dims, off[0], off[1]);
    }

    private static int byteWidth(String dtype, String name, Path source) {
        return switch (dtype) {
            case "F64", "I64" -> 8;
            case "F32", "I32" -> 4;
            case "F16", "BF16" -> 2;
            case "I8", "U8", "BOOL" -> 1;
            default -> throw new FormatException(source, 8, "tensor '" + name + "': unsupported dtype '" + dtype
                    + "' (supported: F64, F32, F16, BF16, I64, I32, I8, U8, BOOL)");
        };
    }

    /** Sorted by offset, the entries must tile [0, dataLength) exactly. */
    private static void checkLayout(List<Entry> entries, long dataLength, long dataStart, Path source) {
        entries.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        long at = 0;
        for (Entry e : entries) {
            if (e.begin() != at) {
                throw new FormatException(source, dataStart + Math.min(at, e.begin()), "tensor '" + e.name()
                        + "' begins at data offset " + e.begin() + " but the previous tensor ends at " + at
                        + (e.begin() < at ? " (overlap)" : " (a hole)"));
            }
            at = e.end();
        }
        if (at != dataLength) {
            throw new FormatException(source, dataStart + Math.min(at, dataLength), "the tensors cover " + at
                    + " data bytes but the file holds " + dataLength + (at > dataLength ? " (truncated?)"
                    : " (trailing bytes)"));
        }
    }

    private static Tensor decode(Entry e, ByteBuffer buf, int dataStart, Path source) {
        int at = (int) (dataStart + e.begin());
        int n = 1;
        for (int d : e.shape()) {
            n *= d;
        }
        int[] shape = e.shape();
        switch (e.dtype()) {
            case "F32", "F16", "BF16", "F64" -> {
                float[] v = new float[n];
                for (int i = 0; i < n; i++) {
                    v[i] = switch (e.dtype()) {
                        case "F32" -> buf.getFloat(at + 4 * i);
                        case "F16" -> Float.float16ToFloat(buf.getShort(at + 2 * i));
                        case "BF16" -> Float.intBitsToFloat((buf.getShort(at + 2 * i) & 0xffff) << 16);
                        default -> (float) buf.getDouble(at + 8 * i);
                    };
                }
                return Tensor.wrap(v, shape);
            }
            case "I32" -> {
                int[] v = new int[n];
                for (int i = 0; i < n; i++) {
                    v[i] = buf.getInt(at + 4 * i);
                }
                return Tensor.ofInts(v, shape);
            }
            case "I64" -> {
                long[] v = new long[n];
                for (int i = 0; i < n; i++) {
                    v[i] = buf.getLong(at + 8 * i);
                }
                return Tensor.ofLongs(v, shape);
            }
            case "I8", "U8", "BOOL" -> {
                byte[] v = new byte[n];
                buf.get(at, v);
                if (e.dtype().equals("BOOL")) {
                    for (int i = 0; i < n; i++) {
                        if (v[i] != 0 && v[i] != 1) {
                            throw new FormatException(source, at + i, "tensor '" + e.name() + "': BOOL byte " + v[i]
                                    + " is neither 0 nor 1");
                        }
                    }
                }
                DType dt = switch (e.dtype()) {
                    case "I8" -> DType.INT8;
                    case "U8" -> DType.UINT8;
                    default -> DType.BOOL;
                };
                return Tensor.ofBytes(dt, v, shape);
            }
            default -> throw new FormatException(source, 8, "tensor '" + e.name() + "': unsupported dtype "
                    + e.dtype());
        }
    }

    // ---------------------------------------------------------------- writing

    /** Writes tensors (in map order) atomically; no metadata. */
    public static void write(Path file, Map<String, Tensor> tensors) {
        write(file, tensors, Map.of());
    }

    /**
     * Writes tensors and string metadata atomically: the bytes go to a temporary file in the same folder, which is
     * then moved over {@code file}; on failure the temporary file is deleted and {@code file} is untouched.
     */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) {
        AtomicFiles.write(file, toBytes(tensors, metadata));
    }

    /** The file's bytes: header padded with spaces to a multiple of 8, then the data in map order. */
    public static byte[] toBytes(Map<String, Tensor> tensors, Map<String, String> metadata) {
        Map<String, Object> header = new LinkedHashMap<>();
        if (!metadata.isEmpty()) {
            header.put(METADATA, new LinkedHashMap<>(metadata));
        }
        long offset = 0;
        List<byte[]> blobs = new ArrayList<>();
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            if (e.getKey().equals(METADATA)) {
                throw new IllegalArgumentException("a tensor cannot be named " + METADATA);
            }
            Tensor t = e.getValue();
            if (t.isQuantized()) {
                throw new IllegalArgumentException("tensor '" + e.getKey() + "' is quantized: safetensors has no place"
                        + " for its qparams; dequantize it or store the integers and qparams separately");
            }
            byte[] blob = encode(t);
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("dtype", dtypeName(t.dtype()));
            List<Object> shape = new ArrayList<>();
            for (int d : t.shape()) {
                shape.add(d);
            }
            entry.put("shape", shape);
            entry.put("data_offsets", List.of(offset, offset + blob.length));
            header.put(e.getKey(), entry);
            offset += blob.length;
            blobs.add(blob);
        }
        byte[] json = Json.toBytes(header);
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(8 + padded + offset)).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(padded);
        out.put(json);
        for (int i = json.length; i < padded; i++) {
            out.put((byte) ' ');
        }
        for (byte[] b : blobs) {
            out.put(b);
        }
        return out.array();
    }

    private static String dtypeName(DType d) {
        return switch (d) {
            case FLOAT32 -> "F32";
            case INT32 -> "I32";
            case INT64 -> "I64";
            case INT8 -> "I8";
            case UINT8 -> "U8";
            case BOOL -> "BOOL";
        };
    }

    private static byte[] encode(Tensor t) {
        int n = t.numel();
        ByteBuffer b = ByteBuffer.allocate(n * t.dtype().byteSize()).order(ByteOrder.LITTLE_ENDIAN);
        switch (t.dtype()) {
            case FLOAT32 -> {
                for (float v : t.toFloatArray()) {
                    b.putFloat(v);
                }
            }
            case INT32 -> {
                for (long v : t.toLongArray()) {
                    b.putInt((int) v);
                }
            }
            case INT64 -> {
                for (long v : t.toLongArray()) {
                    b.putLong(v);
                }
            }
            case INT8, UINT8, BOOL -> b.put(t.toByteArray());
        }
        return b.array();
    }
}
