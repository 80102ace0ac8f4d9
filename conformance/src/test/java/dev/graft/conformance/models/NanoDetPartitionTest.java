package dev.graft.conformance.models;

import dev.graft.models.nanodet.NanoDetImages;
import dev.graft.conformance.SharedData;
import dev.graft.engine.graph.GraphModule;
import dev.graft.engine.trace.Partition;
import dev.graft.engine.trace.Partitioner;
import dev.graft.formats.image.Images;
import dev.graft.models.nanodet.NanoDetFiles;
import dev.graft.models.nanodet.Detection;
import dev.graft.models.nanodet.NanoDetDetector;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The imported NanoDet is ordinary Graft code: the detector as a whole does not trace (its threshold and NMS read
 * data), its preprocessing and the whole TensorFlow.js backbone do, and the traced blocks compute the same values.
 */
class NanoDetPartitionTest {

    @Test
    void backboneAndPreprocessTraceTheDetectorStaysEager() {
        Optional<Path> json = SharedData.file("data/detect/nanodet.json");
        assumeTrue(json.isPresent(), "the shared folder with data/detect is absent");
        Path dir = json.get().getParent();
        NanoDetDetector detector = NanoDetFiles.load(json.get(), dir.resolve("coco.names"),
                NanoDetDetector.Options.defaults());
        NanoDetImages.Fitted fitted = NanoDetImages.letterbox(Images.read(dir.resolve("dog.jpg")), 416);
        List<Detection> eager = detector.detect(fitted.tensor(), fitted.letterbox());

        Partition p = Partitioner.partition(detector, fitted.tensor(), fitted.letterbox().photoWidth(),
                fitted.letterbox().photoHeight());
        System.out.println(p.describe());
        Map<String, GraphModule> blocks = p.blocks();
        assertTrue(blocks.containsKey("backbone") && blocks.containsKey("preprocess"), p.describe());
        assertTrue(!blocks.containsKey(""), "the detector itself reads data: " + p.describe());
        assertTrue(p.describe().contains("control flow"), p.describe());

        Tensor normalized = detector.child("preprocess").call(fitted.tensor());
        Tensor[] expected = (Tensor[]) detector.child("backbone").callAny(normalized);
        Object traced = blocks.get("backbone").callAny(normalized);
        Tensor[] got = (Tensor[]) traced;
        assertEquals(expected.length, got.length);
        for (int i = 0; i < got.length; i++) {
            assertArrayEquals(expected[i].toFloatArray(), got[i].toFloatArray(), 1e-6f);
        }
        assertEquals(eager.size(), detector.detect(fitted.tensor(), fitted.letterbox()).size());
    }
}
