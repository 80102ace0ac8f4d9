package dev.graft.formats.safetensors;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.graft.formats.AtomicFiles;
import dev.graft.formats.FormatException;
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
import java.util.Iterator;
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
        JsonNode header = parseHeader(bytes, (int) headerLength, source);
        Map<String, String> metadata = new LinkedHashMap<>();
        List<Entry> entries = new ArrayList<>();
        Iterator<Map.Entry<String, JsonNode>> it = header.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
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

    private static JsonNode parseHeader(byte[] bytes, int length, Path source) {
        String json = new String(bytes, 8, length, StandardCharsets.UTF_8);
        try {
            ObjectMapper mapper = new ObjectMapper();
            mapper.enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
            JsonNode node = mapper.readTree(json);
            if (node == null || !node.isObject()) {
                throw new FormatException(source, 8, "the header is not a JSON object");
            }
            return node;
        } catch (JsonProcessingException e) {
            long at = e.getLocation() == null ? 8 : 8 + Math.max(0, e.getLocation().getCharOffset());
            throw new FormatException(source, at, "malformed JSON header: " + e.getOriginalMessage(), e);
        }
    }

    private static void readMetadata(JsonNode node, Map<String, String> out, Path source) {
        if (!node.isObject()) {
            throw new FormatException(source, 8, "__metadata__ must be an object of strings");
        }
        Iterator<Map.Entry<String, JsonNode>> it = node.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual()) {
                throw new FormatException(source, 8, "__metadata__." + e.getKey() + " must be a string");
            }
            out.put(e.getKey(), e.getValue().asText());
        }
    }

    private static Entry entry(String name, JsonNode node, Path source) {
        if (!node.isObject()) {
            throw new FormatException(source, 8, "tensor '" + name + "': header entry must be an object");
        }
        JsonNode dtype = node.get("dtype");
        JsonNode shape = node.get("shape");
        JsonNode offsets = node.get("data_offsets");
        if (dtype == null || !dtype.isTextual() || shape == null || !shape.isArray() || offsets == null
                || !offsets.isArray() || offsets.size() != 2) {
            throw new FormatException(source, 8, "tensor '" + name + "': needs \"dtype\" (string), \"shape\" (array)"
                    + " and \"data_offsets\" ([begin, end])");
        }
        int[] dims = new int[shape.size()];
        for (int d = 0; d < dims.length; d++) {
            JsonNode v = shape.get(d);
            if (!v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < 0) {
                throw new FormatException(source, 8, "tensor '" + name + "': shape " + shape
                        + " must hold non-negative integers");
            }
            dims[d] = v.asInt();
        }
        long[] off = new long[2];
        for (int k = 0; k < 2; k++) {
            JsonNode v = offsets.get(k);
            if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < 0) {
                throw new FormatException(source, 8, "tensor '" + name + "': data_offsets " + offsets
                        + " must be non-negative integers");
            }
            off[k] = v.asLong();
        }
        if (off[1] < off[0]) {
            throw new FormatException(source, 8, "tensor '" + name + "': data_offsets " + offsets + " end before they"
                    + " begin");
        }
        int width = byteWidth(dtype.asText(), name, source);
        long count = 1;
        for (int d : dims) {
            count *= d; // both factors stay below 2^31, so the product cannot overflow a long
            if (count > Integer.MAX_VALUE) {
                throw new FormatException(source, 8, "tensor '" + name + "': shape " + shape + " is too large");
            }
        }
        if (count * width != off[1] - off[0]) {
            throw new FormatException(source, 8, "tensor '" + name + "': " + dtype.asText() + " " + shape + " needs "
                    + count * width + " bytes but data_offsets " + offsets + " span " + (off[1] - off[0]));
        }
        return new Entry(name, dtype.asText(), dims, off[0], off[1]);
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
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode header = mapper.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = header.putObject(METADATA);
            metadata.forEach(meta::put);
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
            ObjectNode entry = header.putObject(e.getKey());
            entry.put("dtype", dtypeName(t.dtype()));
            ArrayNode shape = entry.putArray("shape");
            for (int d : t.shape()) {
                shape.add(d);
            }
            entry.putArray("data_offsets").add(offset).add(offset + blob.length);
            offset += blob.length;
            blobs.add(blob);
        }
        byte[] json;
        try {
            json = mapper.writeValueAsBytes(header);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialize the header", e);
        }
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
