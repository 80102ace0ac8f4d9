package dev.graft.conformance.models;

import dev.graft.engine.graph.GraphModule;
import dev.graft.engine.trace.Partition;
import dev.graft.engine.trace.Partitioner;
import dev.graft.models.nanodet.Detection;
import dev.graft.models.nanodet.NanoDetDetector;
import dev.graft.models.nanodet.NanoDetFiles;
import dev.graft.models.nanodet.NanoDetImages;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The imported NanoDet is ordinary Graft code: the detector as a whole does not trace (its threshold and NMS read
 * data), its preprocessing and the whole TensorFlow.js backbone do, and the traced blocks compute the same values.
 */
class NanoDetPartitionTest {

    @Test
    void backboneAndPreprocessTraceTheDetectorStaysEager() throws IOException {
        NanoDetDetector detector = NanoDetFiles.bundled(NanoDetDetector.Options.defaults());
        NanoDetImages.Fitted fitted = NanoDetImages.letterbox(NanoDetFiles.bundledPhoto(), 416);
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
