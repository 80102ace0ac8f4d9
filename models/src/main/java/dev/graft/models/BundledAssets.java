package dev.graft.models;

import dev.graft.engine.io.FormatException;
import dev.graft.engine.io.Safetensors;
import dev.graft.ops.Tensor;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * The files shipped inside this module's jar under {@code dev/graft/models/assets/} (the trained MNIST CNN and
 * Reuters head, NanoDet's TensorFlow.js graph, the COCO names, a sample photo; {@code assets/NOTICE.md} says where
 * each came from), so the reference models run on a machine with no data folder.
 */
public final class BundledAssets {
    /** Where the assets sit in the source tree, relative to the repository root. */
    public static final String SOURCE_FOLDER = "models/src/main/resources/dev/graft/models/assets";
    private static final String PREFIX = "assets/";

    private BundledAssets() {
    }

    /** Whether the jar holds {@code name}. */
    public static boolean has(String name) {
        return BundledAssets.class.getResource(PREFIX + name) != null;
    }

    /** Opens {@code name}; a jar built without the assets folder is reported as such. */
    public static InputStream open(String name) throws IOException {
        InputStream in = BundledAssets.class.getResourceAsStream(PREFIX + name);
        if (in == null) {
            throw new FormatException(Path.of(PREFIX + name), -1, "bundled asset missing from the jar (was the"
                    + " models module built from a checkout with " + SOURCE_FOLDER + "?)");
        }
        return in;
    }

    /** The tensors of a bundled safetensors file, or null when the jar does not hold it. */
    public static Map<String, Tensor> safetensors(String name) throws IOException {
        if (!has(name)) {
            return null;
        }
        try (InputStream in = open(name)) {
            return Safetensors.parse(in.readAllBytes(), Path.of(PREFIX + name)).tensors();
        }
    }

    /**
     * The asset's path in the source tree (for {@code graft train}, which writes new weights there), found from
     * the working directory: the repository root or one of its modules.
     */
    public static Path sourcePath(String name) {
        for (Path root : new Path[] {Path.of("."), Path.of(".."), Path.of("main")}) {
            Path folder = root.resolve(SOURCE_FOLDER);
            if (Files.isDirectory(folder)) {
                return folder.resolve(name).toAbsolutePath().normalize();
            }
        }
        return Path.of(name).toAbsolutePath();
    }
}
