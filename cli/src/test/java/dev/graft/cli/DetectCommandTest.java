package dev.graft.cli;

import dev.graft.models.BundledAssets;
import dev.graft.models.nanodet.Detection;
import dev.graft.models.nanodet.NanoDetDetector;
import dev.graft.models.nanodet.NanoDetFiles;
import dev.graft.models.nanodet.NanoDetImages;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The detect command on the assets bundled in the jar: it must work on a machine without the shared folder. */
class DetectCommandTest {

    @Test
    void printsDetectionsAndWritesThePicture(@TempDir Path dir) throws Exception {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        Path png = dir.resolve("boxes.png");
        int code = new DetectCommand().run(List.of("--out", png.toString()),
                new PrintStream(buf, true, StandardCharsets.UTF_8), System.err);
        assertEquals(0, code);
        String text = buf.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("dog "), text);
        assertTrue(text.contains("bicycle "), text);
        BufferedImage drawn = ImageIO.read(png.toFile());
        assertNotNull(drawn);
        assertEquals(768, drawn.getWidth());
        assertTrue(Files.size(png) > 10_000);
    }

    @Test
    void theBundledModelAndPhotoWorkWithoutTheSharedFolder() throws Exception {
        NanoDetDetector detector = NanoDetFiles.bundled(NanoDetDetector.Options.defaults());
        assertEquals(3_786_068, detector.parameterCount());
        BufferedImage photo = NanoDetFiles.bundledPhoto();
        NanoDetImages.Fitted fitted = NanoDetImages.letterbox(photo, 416);
        List<Detection> found = detector.detect(fitted.tensor(), fitted.letterbox());
        assertTrue(found.stream().anyMatch(d -> d.label().equals("dog") && d.score() > 0.4f), found.toString());
        assertTrue(BundledAssets.has("NOTICE.md"), "license notes ship with the assets");
    }

    @Test
    void badUsageIsAUsageException() {
        DetectCommand c = new DetectCommand();
        PrintStream sink = new PrintStream(new ByteArrayOutputStream());
        assertThrows(UsageException.class, () -> c.run(List.of("--threshold", "2"), sink, sink));
        assertThrows(UsageException.class, () -> c.run(List.of("--out", "x.jpg"), sink, sink));
        assertThrows(UsageException.class, () -> c.run(List.of("a.jpg", "b.jpg"), sink, sink));
        assertThrows(UsageException.class, () -> c.run(List.of("--frobnicate"), sink, sink));
    }
}
