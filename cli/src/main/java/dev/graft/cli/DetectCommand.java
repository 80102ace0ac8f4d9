package dev.graft.cli;

import dev.graft.formats.image.Images;
import dev.graft.models.nanodet.Detection;
import dev.graft.models.nanodet.NanoDetDetector;
import dev.graft.models.nanodet.NanoDetFiles;
import dev.graft.models.nanodet.NanoDetImages;

import java.awt.image.BufferedImage;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code graft detect [PHOTO] [--out FILE.png] [--threshold T]}: runs NanoDet (imported from its TensorFlow.js
 * graph) on a photo, prints the detections and optionally draws them. The model comes from the workplace's
 * {@code shared/data/detect} folder when there is one, else from the copy bundled in the models jar (see
 * {@code dev/graft/models/assets/NOTICE.md}); without a PHOTO the bundled {@code dog.jpg} is used.
 */
final class DetectCommand implements Command {
    @Override
    public String name() {
        return "detect";
    }

    @Override
    public String summary() {
        return "detect objects in a photo with NanoDet (COCO-80) and draw the boxes";
    }

    @Override
    public String usage() {
        return """
                usage: ./graft detect [PHOTO] [--out FILE.png] [--threshold T]

                Runs NanoDet-g (COCO-80, 416x416, imported from its TensorFlow.js graph) on PHOTO (JPEG/PNG),
                prints each detection (label, score, box in photo pixels) and, with --out, writes the photo with
                the boxes drawn as a PNG.

                  PHOTO            the photo; without it, the bundled dog.jpg
                  --out FILE.png   where to write the picture with boxes
                  --threshold T    minimum class score, 0..1 (default 0.35, NanoDet's demo value)

                The model is read from ../shared/data/detect when present (or -Dgraft.shared.dir, or
                $GRAFT_SHARED_DIR), else from the copy bundled in the jar.""";
    }

    @Override
    public int run(List<String> args, PrintStream out, PrintStream err) throws Exception {
        Options o = Options.spec().values("--out", "--threshold").alias("-o", "--out").parse(args);
        if (o.positionals().size() > 1) {
            throw new UsageException("one photo at a time, got " + String.join(" and ", o.positionals()));
        }
        // The photo is checked before the model loads: a directory or a typo fails at once, as itself.
        Path photoFile = o.positionals().isEmpty() ? null : Options.existingFile(o.positionals().get(0));
        Path outFile = o.outputFile("--out");
        float threshold = (float) o.number("--threshold", 0, 1, NanoDetDetector.Options.defaults().scoreThreshold());
        if (outFile != null && !outFile.getFileName().toString().toLowerCase().endsWith(".png")) {
            throw new UsageException("--out writes a PNG; name it *.png, got " + outFile);
        }

        long t0 = System.nanoTime();
        Path sharedDir = sharedDetectDir();
        NanoDetDetector.Options options = NanoDetDetector.Options.defaults().withScoreThreshold(threshold);
        NanoDetDetector detector;
        String modelFrom;
        if (sharedDir != null) {
            detector = NanoDetFiles.load(sharedDir.resolve("nanodet.json"), sharedDir.resolve("coco.names"), options);
            modelFrom = sharedDir.resolve("nanodet.json").toString();
        } else {
            detector = NanoDetFiles.bundled(options);
            modelFrom = "the bundled copy (jar: dev/graft/models/assets/nanodet.json)";
        }
        double loadMs = (System.nanoTime() - t0) / 1e6;

        BufferedImage photo;
        String photoName;
        if (photoFile != null) {
            photo = Images.read(photoFile);
            photoName = photoFile.toString();
        } else if (sharedDir != null && Files.isRegularFile(sharedDir.resolve("dog.jpg"))) {
            photo = Images.read(sharedDir.resolve("dog.jpg"));
            photoName = sharedDir.resolve("dog.jpg") + " (no PHOTO given)";
        } else {
            photo = NanoDetFiles.bundledPhoto();
            photoName = "the bundled dog.jpg (no PHOTO given)";
        }

        out.printf("model: NanoDet-g, COCO-80, %dx%d input, %,d parameters, from %s (%.0f ms to load)%n",
                options.inputSize(), options.inputSize(), detector.parameterCount(), modelFrom, loadMs);
        out.printf("photo: %s, %dx%d%n", photoName, photo.getWidth(), photo.getHeight());
        NanoDetImages.Fitted fitted = NanoDetImages.letterbox(photo, options.inputSize());
        long t1 = System.nanoTime();
        List<Detection> detections = detector.detect(fitted.tensor(), fitted.letterbox());
        double runMs = (System.nanoTime() - t1) / 1e6;
        out.printf("%d detection%s with score > %.2f (forward + decode + class-wise NMS: %.0f ms, first run)%n",
                detections.size(), detections.size() == 1 ? "" : "s", threshold, runMs);
        for (Detection d : detections) {
            out.printf("  %-14s %.3f  box [%4.0f, %4.0f, %4.0f, %4.0f]  (x1, y1, x2, y2 in photo pixels)%n",
                    d.label(), d.score(), d.x1(), d.y1(), d.x2(), d.y2());
        }
        if (outFile != null) {
            Images.writePng(NanoDetImages.drawDetections(photo, detections), outFile);
            out.println("wrote " + outFile);
        }
        return 0;
    }

    /** {@code <shared>/data/detect} when it holds the NanoDet files, else null. */
    static Path sharedDetectDir() {
        List<Path> candidates = DataSources.sharedRoots();
        for (Path c : candidates) {
            Path dir = c.toAbsolutePath().normalize().resolve("data/detect");
            if (Files.isRegularFile(dir.resolve("nanodet.json")) && Files.isRegularFile(dir.resolve("nanodet.bin"))
                    && Files.isRegularFile(dir.resolve("coco.names"))) {
                return dir;
            }
        }
        return null;
    }
}
