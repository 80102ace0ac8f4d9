package dev.graft.spark;

import dev.graft.Graft;
import dev.graft.engine.io.FormatException;
import dev.graft.formats.image.Images;
import dev.graft.models.nanodet.Detection;
import dev.graft.models.nanodet.NanoDetDetector;
import dev.graft.models.nanodet.NanoDetFiles;
import dev.graft.models.nanodet.NanoDetImages;
import org.apache.spark.SparkException;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import javax.imageio.ImageIO;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** NanoDet (the copy bundled with Graft, saved as a .graft file) on a column of photo paths, in local[2]. */
class SparkDetectorTest {
    @TempDir
    static Path dir;
    static Path model;
    static Path dog;
    static Path rightHalf;

    @BeforeAll
    static void files() throws Exception {
        NanoDetDetector detector = NanoDetFiles.bundled(NanoDetDetector.Options.defaults());
        BufferedImage photo = NanoDetFiles.bundledPhoto();
        NanoDetImages.Fitted fitted = NanoDetImages.letterbox(photo, detector.options().inputSize());
        model = dir.resolve("nanodet.graft");
        Graft.save(Graft.partition(detector, fitted.tensor(), photo.getWidth(), photo.getHeight()), model);
        dog = dir.resolve("dog.png");
        ImageIO.write(photo, "png", dog.toFile());
        // A second, different photo: the right half (another size, another letterbox).
        rightHalf = dir.resolve("right.png");
        ImageIO.write(photo.getSubimage(photo.getWidth() / 2, 0, photo.getWidth() / 2, photo.getHeight()), "png",
                rightHalf.toFile());
    }

    static Dataset<Row> paths(String... paths) {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < paths.length; i++) {
            rows.add(RowFactory.create(i, paths[i]));
        }
        return LocalSpark.get().createDataFrame(rows,
                new StructType().add("id", DataTypes.IntegerType).add("path", DataTypes.StringType)).repartition(2);
    }

    /** What a user writes without Spark: load the saved detector, read the photo, letterbox, detect. */
    static List<Detection> plain(NanoDetDetector detector, Path photo) {
        var fitted = NanoDetImages.letterbox(Images.read(photo), detector.options().inputSize());
        return detector.detect(fitted.tensor(), fitted.letterbox());
    }

    @Test
    void detectionsOnAPathColumnAreThePlainModelsAndANullPathGivesNull() {
        List<Row> out = GraftSpark.detector(model.toString()).transform(paths(dog.toString(), rightHalf.toString(),
                null)).collectAsList();
        assertEquals(3, out.size());
        NanoDetDetector detector = (NanoDetDetector) Graft.load(model).model();
        int found = 0;
        for (Row r : out) {
            int column = r.fieldIndex("detections");
            if (r.getInt(0) == 2) {
                assertTrue(r.isNullAt(column), "a null path: null detections");
                continue;
            }
            List<Detection> expected = plain(detector, Path.of(r.getString(1)));
            List<Row> got = r.getList(column);
            assertEquals(expected.size(), got.size(), r.getString(1));
            for (int i = 0; i < got.size(); i++) {
                Detection e = expected.get(i);
                Row g = got.get(i);
                assertEquals(e.label(), g.getString(0));
                float[] want = {e.score(), e.x1(), e.y1(), e.x2(), e.y2()};
                float[] have = {g.getFloat(1), g.getFloat(2), g.getFloat(3), g.getFloat(4), g.getFloat(5)};
                assertTrue(Arrays.equals(want, have), e + " vs " + g);
            }
            found += got.size();
            if (r.getInt(0) == 0) {
                assertTrue(got.stream().anyMatch(g -> g.getString(0).equals("dog")), "the dog in dog.jpg: " + got);
            }
        }
        assertTrue(found >= 3, "detections in the two photos: " + found);
    }

    @Test
    void theThresholdKeepsOnlyDetectionsScoringAtLeastIt() {
        List<Row> all = GraftSpark.detector(model.toString()).transform(paths(dog.toString())).collectAsList();
        List<Row> high = GraftSpark.detector(model.toString()).threshold(0.6f).transform(paths(dog.toString()))
                .collectAsList();
        List<Row> every = all.get(0).getList(all.get(0).fieldIndex("detections"));
        List<Row> kept = high.get(0).getList(high.get(0).fieldIndex("detections"));
        assertEquals(every.stream().filter(d -> d.getFloat(1) >= 0.6f).toList(), kept);
        assertTrue(kept.size() < every.size(), "the threshold removed something: " + every);
    }

    @Test
    void anUnreadablePhotoFailsTheJobWithGraftsTypedErrorNamingIt() {
        Path missing = dir.resolve("no-such-photo.jpg");
        SparkException e = assertThrows(SparkException.class, () -> GraftSpark.detector(model.toString())
                .transform(paths(dog.toString(), missing.toString())).collectAsList());
        FormatException graft = assertInstanceOf(FormatException.class, SparkErrors.graftCause(e).orElseThrow(),
                "cause of " + e);
        assertEquals(missing, graft.file());
    }
}
