package dev.graft.models.nanodet;

import dev.graft.engine.io.FormatException;
import dev.graft.formats.image.Images;
import dev.graft.formats.tfjs.TfjsGraph;
import dev.graft.formats.tfjs.TfjsGraphModule;
import dev.graft.models.BundledAssets;

import java.awt.image.BufferedImage;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Builds a {@link NanoDetDetector} from NanoDet's TensorFlow.js files: the graph ({@code nanodet.json} + its
 * {@code .bin}) becomes the backbone through {@link TfjsGraphModule}, the class names come from a text file with
 * one name per line ({@code coco.names}), preprocessing is NanoDet's BGR mean/std normalization.
 */
public final class NanoDetFiles {
    private NanoDetFiles() {
    }

    /** Loads {@code modelJson} (shards beside it) and the labels file. */
    public static NanoDetDetector load(Path modelJson, Path labels, NanoDetDetector.Options options) {
        return create(TfjsGraph.read(modelJson), readLabels(labels), options);
    }

    /** The detector from the copy of NanoDet's files bundled in this jar ({@code assets/NOTICE.md}). */
    public static NanoDetDetector bundled(NanoDetDetector.Options options) throws IOException {
        TfjsGraph graph = bundledGraph();
        List<String> labels;
        try (InputStream in = BundledAssets.open("coco.names")) {
            labels = readLabels(in, Path.of("assets/coco.names"));
        }
        return create(graph, labels, options);
    }

    /** The bundled TensorFlow.js graph ({@code nanodet.json} and its {@code nanodet.bin} shard). */
    public static TfjsGraph bundledGraph() throws IOException {
        try (InputStream json = BundledAssets.open("nanodet.json")) {
            return TfjsGraph.read(json, Path.of("assets/nanodet.json"), BundledAssets::open);
        }
    }

    /** The bundled sample photo (a dog, a bicycle and a truck: darknet's dog.jpg). */
    public static BufferedImage bundledPhoto() throws IOException {
        try (InputStream in = BundledAssets.open("dog.jpg")) {
            return Images.read(in, "dog.jpg");
        }
    }

    /** A detector around an already-read graph. */
    public static NanoDetDetector create(TfjsGraph graph, List<String> labels, NanoDetDetector.Options options) {
        NanoDetDetector detector = new NanoDetDetector(new NanoDetPreprocess(), new TfjsGraphModule(graph), labels,
                options);
        detector.eval();
        return detector;
    }

    /** One class name per non-empty line. */
    public static List<String> readLabels(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            return readLabels(in, file);
        } catch (IOException e) {
            throw new FormatException(file, -1, "cannot read the labels: " + e.getMessage(), e);
        }
    }

    /** One class name per non-empty line, from a stream ({@code source} names it in errors, may be null). */
    public static List<String> readLabels(InputStream in, Path source) {
        List<String> labels = new ArrayList<>();
        try {
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            for (String line = r.readLine(); line != null; line = r.readLine()) {
                String t = line.strip();
                if (!t.isEmpty()) {
                    labels.add(t);
                }
            }
        } catch (IOException e) {
            throw new FormatException(source, -1, "cannot read the labels: " + e.getMessage(), e);
        }
        if (labels.isEmpty()) {
            throw new FormatException(source, -1, "the labels file holds no names");
        }
        return labels;
    }
}
