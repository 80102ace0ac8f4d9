package dev.graft;

import dev.graft.engine.io.AtomicFiles;
import dev.graft.engine.io.FormatException;
import dev.graft.engine.io.Json;
import dev.graft.engine.io.Safetensors;
import dev.graft.engine.io.StoredZip;
import dev.graft.engine.save.SavedModel;
import dev.graft.engine.save.SavedModelException;
import dev.graft.engine.trace.Partition;
import dev.graft.ops.Tensor;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/**
 * A quantized model in one file ({@code .graft}, format version {@value SavedModel#VERSION}): an uncompressed zip
 * archive (see {@link StoredZip}) with three members,
 * <ul>
 *   <li>{@code manifest.json}: format name and version, the glue model's class and configuration, the partition
 *       tree, and every traced block's graphs and module configurations (see {@link SavedModel} for the layout);</li>
 *   <li>{@code tensors.safetensors}: every tensor the manifest names, as plain safetensors (int8 weights as I8,
 *       their per-channel scales and zero points as separate F32/I32 tensors);</li>
 *   <li>{@code checksums.json}: the SHA-256 of the other two members and the CRC-32C of every tensor's data.</li>
 * </ul>
 * {@code unzip -p model.graft manifest.json} shows what a file holds. Writing is atomic (a reader never sees a partial
 * file). Reading refuses a model that could load wrong: the archive must be byte for byte the layout this class
 * writes, every member's zip CRC-32 and SHA-256 and every tensor's CRC-32C must match, then the JSON, the safetensors
 * header and every reference are checked before anything is built. Problems are a {@link FormatException} naming the
 * file and the place inside it (byte offset, member, tensor, block, node). Files of format version 1 (a plain zip
 * without checksums) are refused with a message saying to save the model again.
 */
public final class GraftFile {
    public static final String MANIFEST = "manifest.json";
    public static final String TENSORS = "tensors.safetensors";
    public static final String CHECKSUMS = "checksums.json";
    private static final List<String> MEMBERS = List.of(MANIFEST, TENSORS, CHECKSUMS);
    private static final String CHECKSUMS_FORMAT = "graft-checksums";

    private GraftFile() {
    }

    /** Writes {@code partition}'s model (with its traced, usually quantized, blocks) to {@code file} atomically. */
    public static void write(Path file, Partition partition, Map<String, Object> info) {
        SavedModel.Archive archive;
        try {
            archive = SavedModel.encode(partition, info);
        } catch (RuntimeException e) {
            throw new FormatException(file, -1, "cannot save: " + e.getMessage(), e);
        }
        write(file, archive.manifest(), archive.tensors());
    }

    /**
     * Writes a manifest and its tensors as they are (with fresh checksums), atomically. For tools that edit a saved
     * model's manifest; {@link #read} checks the result like any file.
     */
    public static void write(Path file, Map<String, Object> manifest, Map<String, Tensor> tensors) {
        AtomicFiles.write(file, toBytes(file, manifest, tensors));
    }

    /** The bytes {@link #write(Path, Map, Map)} puts in a file ({@code file} names it in errors). */
    public static byte[] toBytes(Path file, Map<String, Object> manifest, Map<String, Tensor> tensors) {
        byte[] manifestBytes;
        try {
            manifestBytes = Json.toPrettyBytes(manifest);
        } catch (IllegalArgumentException e) {
            throw new FormatException(file, -1, "cannot write the manifest: " + e.getMessage(), e);
        }
        byte[] tensorBytes = Safetensors.toBytes(tensors, Map.of("format", SavedModel.FORMAT));
        Map<String, Object> crcs = new LinkedHashMap<>();
        Safetensors.dataSpans(tensorBytes, file.resolve(TENSORS)).forEach((name, span) ->
                crcs.put(name, crc32c(tensorBytes, span)));
        Map<String, Object> sums = new LinkedHashMap<>();
        sums.put("format", CHECKSUMS_FORMAT);
        sums.put("sha256", Map.of(MANIFEST, sha256(manifestBytes), TENSORS, sha256(tensorBytes)));
        sums.put("tensor_crc32c", crcs);
        Map<String, byte[]> members = new LinkedHashMap<>();
        members.put(MANIFEST, manifestBytes);
        members.put(TENSORS, tensorBytes);
        members.put(CHECKSUMS, Json.toPrettyBytes(sums));
        return StoredZip.write(members);
    }

    /** Reads a model written by {@link #write}: blocks grafted in, INT8 weights packed once, ready to run. */
    public static SavedModel.Loaded read(Path file) {
        return read(file, readContents(file));
    }

    /** Builds the model from contents already read by {@link #readContents} ({@code file} names it in errors). */
    public static SavedModel.Loaded read(Path file, Contents c) {
        try {
            return SavedModel.decode(new SavedModel.Archive(c.manifest(), c.tensors()));
        } catch (SavedModelException e) {
            throw new FormatException(file, -1, e.getMessage(), e);
        } catch (dev.graft.ops.ShapeException | dev.graft.engine.StateDictException e) {
            throw new FormatException(file, -1, "the saved model does not fit together: " + e.getMessage(), e);
        }
    }

    /** The raw parts of a file, checked as an archive, as JSON and as safetensors (nothing built yet). */
    public record Contents(Map<String, Object> manifest, Map<String, Tensor> tensors, long manifestBytes,
                           long tensorBytes) {
    }

    public static Contents readContents(Path file) {
        return readContents(readFile(file), file);
    }

    /** {@link #readContents(Path)} of a file's bytes already in memory ({@code file} names them in errors). */
    @SuppressWarnings("unchecked")
    public static Contents readContents(byte[] bytes, Path file) {
        if (!StoredZip.looksLikeZip(bytes)) {
            throw new FormatException(file, 0, "not a Graft model file (a .graft file is a zip archive starting"
                    + " with PK\\3\\4)");
        }
        Map<String, StoredZip.Member> members;
        try {
            members = StoredZip.byName(StoredZip.read(bytes, file, MEMBERS));
        } catch (FormatException e) {
            refuseOlderVersion(bytes, file);
            throw e;
        }
        Map<String, Object> sums = checksums(bytes, members.get(CHECKSUMS), file);
        Map<String, Object> sha = (Map<String, Object>) sums.get("sha256");
        Map<String, Object> crcs = (Map<String, Object>) sums.get("tensor_crc32c");
        StoredZip.Member tensorsMember = members.get(TENSORS);
        byte[] tensorBytes = tensorsMember.bytes(bytes);
        if (!tensorsMember.crcMatches() || !sha256(tensorBytes).equals(sha.get(TENSORS))) {
            throw new FormatException(file, tensorsMember.offset(), TENSORS + " is damaged ("
                    + (tensorsMember.crcMatches() ? "SHA-256" : "zip CRC-32") + " mismatch)"
                    + damagedTensor(tensorBytes, crcs, file, tensorsMember.offset()));
        }
        StoredZip.Member manifestMember = members.get(MANIFEST);
        byte[] manifestBytes = manifestMember.bytes(bytes);
        if (!manifestMember.crcMatches() || !sha256(manifestBytes).equals(sha.get(MANIFEST))) {
            throw new FormatException(file, manifestMember.offset(), MANIFEST + " is damaged ("
                    + (manifestMember.crcMatches() ? "SHA-256" : "zip CRC-32") + " mismatch)");
        }
        Path tensorsPath = file.resolve(TENSORS);
        Map<String, long[]> spans = Safetensors.dataSpans(tensorBytes, tensorsPath);
        if (!spans.keySet().equals(crcs.keySet())) {
            throw new FormatException(file, -1, CHECKSUMS + " lists other tensors than " + TENSORS + " holds");
        }
        String bad = damagedTensor(tensorBytes, crcs, file, tensorsMember.offset());
        if (!bad.isEmpty()) {
            throw new FormatException(file, -1, TENSORS + bad);
        }
        Object json;
        try {
            json = Json.parse(manifestBytes);
        } catch (Json.ParseException e) {
            throw new FormatException(file, manifestMember.offset() + e.offset(), MANIFEST + " is not valid JSON: "
                    + e.getMessage());
        }
        if (!(json instanceof Map<?, ?> manifest)) {
            throw new FormatException(file, manifestMember.offset(), MANIFEST + " must hold a JSON object");
        }
        Safetensors.Contents tensors = Safetensors.parse(tensorBytes, tensorsPath);
        return new Contents((Map<String, Object>) manifest, new LinkedHashMap<>(tensors.tensors()),
                manifestBytes.length, tensorBytes.length);
    }

    /** The whole file (its bytes are what it holds: nothing inflates), after checking that it is a regular file. */
    private static byte[] readFile(Path file) {
        if (Files.isDirectory(file)) {
            throw new FormatException(file, -1, "is a directory, not a model file");
        }
        if (!Files.isRegularFile(file)) {
            throw new FormatException(file, -1, "no such file");
        }
        try {
            long size = Files.size(file);
            if (size > Integer.MAX_VALUE - 64) {
                throw new FormatException(file, -1, "file of " + size + " bytes is larger than the 2 GB a .graft"
                        + " file may hold");
            }
            try (InputStream in = Files.newInputStream(file)) {
                byte[] bytes = in.readNBytes((int) size + 1);
                if (bytes.length != size) {
                    throw new FormatException(file, -1, "changed size while being read");
                }
                return bytes;
            }
        } catch (IOException e) {
            throw new FormatException(file, -1, "cannot read: " + e.getMessage(), e);
        }
    }

    /** The checksums member, checked for its own CRC and shape. */
    @SuppressWarnings("unchecked")
    private static Map<String, Object> checksums(byte[] bytes, StoredZip.Member m, Path file) {
        if (!m.crcMatches()) {
            throw new FormatException(file, m.offset(), CHECKSUMS + " is damaged (zip CRC-32 mismatch)");
        }
        Object json;
        try {
            json = Json.parse(m.bytes(bytes));
        } catch (Json.ParseException e) {
            throw new FormatException(file, m.offset() + e.offset(), CHECKSUMS + " is not valid JSON: "
                    + e.getMessage());
        }
        if (!(json instanceof Map<?, ?> sums) || !CHECKSUMS_FORMAT.equals(sums.get("format"))
                || !(sums.get("sha256") instanceof Map<?, ?> sha) || !(sha.get(MANIFEST) instanceof String)
                || !(sha.get(TENSORS) instanceof String) || !(sums.get("tensor_crc32c") instanceof Map<?, ?> crcs)
                || !crcs.values().stream().allMatch(v -> v instanceof String)) {
            throw new FormatException(file, m.offset(), CHECKSUMS + " must be {\"format\": \"" + CHECKSUMS_FORMAT
                    + "\", \"sha256\": {member: hex}, \"tensor_crc32c\": {tensor: hex}}");
        }
        return (Map<String, Object>) sums;
    }

    /** " : tensor 'x' ... " for the first tensor whose data do not match its CRC-32C, or "" (also when unknown). */
    private static String damagedTensor(byte[] tensorBytes, Map<String, Object> crcs, Path file, long memberOffset) {
        Map<String, long[]> spans;
        try {
            spans = Safetensors.dataSpans(tensorBytes, file.resolve(TENSORS));
        } catch (FormatException e) {
            return "; its header is damaged too: " + e.getMessage();
        }
        for (Map.Entry<String, long[]> e : spans.entrySet()) {
            if (!crc32c(tensorBytes, e.getValue()).equals(crcs.get(e.getKey()))) {
                return ": tensor '" + e.getKey() + "' (bytes " + (memberOffset + e.getValue()[0]) + ".."
                        + (memberOffset + e.getValue()[1]) + " of the file) does not match its CRC-32C";
            }
        }
        return "";
    }

    /**
     * A file of the first format (a plain zip whose manifest says version 1, no checksums) gets its own message.
     * Called only when the strict layout check failed; reads at most a bounded manifest, and stays quiet on any
     * problem (the layout error is reported then).
     */
    private static void refuseOlderVersion(byte[] bytes, Path file) {
        Object version = null;
        try (ZipInputStream zip = new ZipInputStream(new java.io.ByteArrayInputStream(bytes))) {
            for (ZipEntry e = zip.getNextEntry(); e != null && version == null; e = zip.getNextEntry()) {
                if (e.getName().equals(MANIFEST)) {
                    byte[] head = zip.readNBytes(16 << 20);
                    if (Json.parse(head) instanceof Map<?, ?> m && SavedModel.FORMAT.equals(m.get("format"))) {
                        version = m.get("version");
                    }
                }
            }
        } catch (IOException | RuntimeException ignored) {
            return;
        }
        if (version instanceof Integer v && v < SavedModel.VERSION) {
            throw new FormatException(file, -1, "format version " + v + " (written by an older Graft, without"
                    + " checksums): this Graft reads version " + SavedModel.VERSION + " only; quantize the model again"
                    + " with ./graft quantize ... --out FILE");
        }
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    private static String crc32c(byte[] bytes, long[] span) {
        CRC32C c = new CRC32C();
        c.update(bytes, (int) span[0], (int) (span[1] - span[0]));
        return String.format("%08x", c.getValue());
    }
}
