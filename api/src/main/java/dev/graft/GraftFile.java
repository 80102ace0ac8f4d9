package dev.graft;

import dev.graft.engine.io.AtomicFiles;
import dev.graft.engine.io.FormatException;
import dev.graft.engine.io.Json;
import dev.graft.engine.io.Safetensors;
import dev.graft.engine.save.SavedModel;
import dev.graft.engine.save.SavedModelException;
import dev.graft.engine.trace.Partition;
import dev.graft.ops.Tensor;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/**
 * A quantized model in one file ({@code .graft}): a zip archive with two members,
 * <ul>
 *   <li>{@code manifest.json}: format name and version, the glue model's class and configuration, the partition
 *       tree, and every traced block's graphs and module configurations (see {@link SavedModel} for the layout);</li>
 *   <li>{@code tensors.safetensors}: every tensor the manifest names, as plain safetensors (int8 weights as I8,
 *       their per-channel scales and zero points as separate F32/I32 tensors), stored uncompressed.</li>
 * </ul>
 * {@code unzip -p model.graft manifest.json} shows what a file holds. Writing is atomic (a reader never sees a partial
 * file); reading checks the archive, the JSON, the safetensors header and every reference before building anything,
 * and reports problems as a {@link FormatException} naming the file and the place inside it.
 */
public final class GraftFile {
    public static final String MANIFEST = "manifest.json";
    public static final String TENSORS = "tensors.safetensors";
    private static final long MAX_MANIFEST = 256L << 20;
    private static final long MAX_TENSORS = Integer.MAX_VALUE - 64;

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
        byte[] manifest;
        try {
            manifest = Json.toPrettyBytes(archive.manifest());
        } catch (IllegalArgumentException e) {
            throw new FormatException(file, -1, "cannot write the manifest: " + e.getMessage(), e);
        }
        byte[] tensors = Safetensors.toBytes(archive.tensors(), Map.of("format", SavedModel.FORMAT));
        AtomicFiles.write(file, out -> {
            ZipOutputStream zip = new ZipOutputStream(out);
            zip.putNextEntry(new ZipEntry(MANIFEST));
            zip.write(manifest);
            zip.closeEntry();
            ZipEntry t = new ZipEntry(TENSORS);
            t.setMethod(ZipEntry.STORED);       // int8 weights barely compress; stored members load faster
            t.setSize(tensors.length);
            t.setCompressedSize(tensors.length);
            CRC32 crc = new CRC32();
            crc.update(tensors);
            t.setCrc(crc.getValue());
            zip.putNextEntry(t);
            zip.write(tensors);
            zip.closeEntry();
            zip.finish();
            zip.flush();
        });
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
        }
    }

    /** The raw parts of a file, checked as an archive, as JSON and as safetensors (nothing built yet). */
    public record Contents(Map<String, Object> manifest, Map<String, Tensor> tensors, long manifestBytes,
                           long tensorBytes) {
    }

    @SuppressWarnings("unchecked")
    public static Contents readContents(Path file) {
        if (Files.isDirectory(file)) {
            throw new FormatException(file, -1, "is a directory, not a model file");
        }
        if (!Files.isRegularFile(file)) {
            throw new FormatException(file, -1, "no such file");
        }
        try (InputStream head = Files.newInputStream(file)) {
            byte[] magic = head.readNBytes(4);
            if (magic.length < 4 || magic[0] != 'P' || magic[1] != 'K' || magic[2] != 3 || magic[3] != 4) {
                throw new FormatException(file, 0, "not a Graft model file (a .graft file is a zip archive starting"
                        + " with PK\\3\\4)");
            }
        } catch (IOException e) {
            throw new FormatException(file, -1, "cannot read: " + e.getMessage(), e);
        }
        try (ZipFile zip = new ZipFile(file.toFile())) {
            Set<String> names = new java.util.TreeSet<>();
            for (Enumeration<? extends ZipEntry> en = zip.entries(); en.hasMoreElements(); ) {
                names.add(en.nextElement().getName());
            }
            if (!names.equals(Set.of(MANIFEST, TENSORS))) {
                throw new FormatException(file, -1, "archive members are " + names + ", expected exactly "
                        + MANIFEST + " and " + TENSORS);
            }
            byte[] manifestBytes = member(zip, MANIFEST, MAX_MANIFEST, file);
            byte[] tensorBytes = member(zip, TENSORS, MAX_TENSORS, file);
            Object json;
            try {
                json = Json.parse(manifestBytes);
            } catch (Json.ParseException e) {
                throw new FormatException(file, -1, MANIFEST + " is not valid JSON: " + e.getMessage());
            }
            if (!(json instanceof Map<?, ?> manifest)) {
                throw new FormatException(file, -1, MANIFEST + " must hold a JSON object");
            }
            Safetensors.Contents tensors = Safetensors.parse(tensorBytes, file.resolve(TENSORS));
            return new Contents((Map<String, Object>) manifest, new LinkedHashMap<>(tensors.tensors()),
                    manifestBytes.length, tensorBytes.length);
        } catch (ZipException e) {
            throw new FormatException(file, -1, "damaged zip archive: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new FormatException(file, -1, "cannot read: " + e.getMessage(), e);
        }
    }

    private static byte[] member(ZipFile zip, String name, long max, Path file) throws IOException {
        ZipEntry e = zip.getEntry(name);
        if (e.getSize() > max) {
            throw new FormatException(file, -1, name + " declares " + e.getSize() + " bytes, more than the " + max
                    + " allowed");
        }
        try (InputStream in = zip.getInputStream(e)) {
            byte[] bytes = in.readNBytes((int) Math.min(max, e.getSize() < 0 ? max : e.getSize()) + 1);
            if (bytes.length > max || (e.getSize() >= 0 && bytes.length != e.getSize())) {
                throw new FormatException(file, -1, name + " holds " + bytes.length + " bytes but declares "
                        + e.getSize());
            }
            return bytes;
        }
    }
}
