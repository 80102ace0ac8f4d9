package dev.graft.conformance;

import dev.graft.engine.io.FormatException;
import dev.graft.formats.onnx.OnnxDataType;
import dev.graft.formats.onnx.OnnxGraph;
import dev.graft.formats.onnx.OnnxModel;
import dev.graft.formats.onnx.OnnxReader;
import dev.graft.formats.onnx.OnnxStateDict;
import dev.graft.models.bert.MiniLm;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.InputStream;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** The ONNX reader on the real all-MiniLM-L6-v2 file: its content, truncations and bit flips. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OnnxReaderRealFileTest {
    private byte[] file;

    @BeforeAll
    void load() throws Exception {
        Required.require(MiniLm.available(), "the model jar " + MiniLm.MAVEN_COORDINATE + " on the class path");
        try (InputStream in = MiniLm.class.getClassLoader().getResourceAsStream(MiniLm.MODEL_RESOURCE)) {
            file = in.readAllBytes();
        }
    }

    @Test
    void readsTheGraphInitializersAndValueInfos() {
        OnnxModel model = OnnxReader.read(file);
        assertEquals("pytorch", model.producerName());
        assertEquals(11, model.defaultOpsetVersion());
        OnnxGraph g = model.graph();
        assertEquals(102, g.initializers().size());
        assertEquals(3, g.inputs().size());
        assertEquals("input_ids", g.inputs().get(0).name());
        assertEquals(OnnxDataType.INT64, g.inputs().get(0).elemType());
        assertEquals("batch_size", g.inputs().get(0).dims().get(0).param());
        assertEquals("last_hidden_state", g.outputs().get(0).name());
        assertEquals(384, g.outputs().get(0).dims().get(2).value());
        assertArrayEquals(new long[] {30522, 384}, g.initializer("embeddings.word_embeddings.weight").dims());
        assertEquals(48, g.nodes().stream().filter(n -> n.opType().equals("MatMul")).count());
        assertEquals(6, g.nodes().stream().filter(n -> n.opType().equals("Erf")).count());
    }

    @Test
    void theStateDictHasHuggingFaceNamesAndTransposedWeights() {
        OnnxGraph g = OnnxReader.read(file).graph();
        Map<String, Tensor> state = OnnxStateDict.fromGraph(g, null);
        assertEquals(102, state.size());
        Tensor up = state.get("encoder.layer.3.intermediate.dense.weight");
        assertArrayEquals(new int[] {1536, 384}, up.shape(), "[out, in] after transposing the [in, out] MatMul weight");
        String anonymous = g.nodes().stream().filter(n -> n.name().equals("/encoder/layer.3/intermediate/dense/MatMul"))
                .findFirst().orElseThrow().inputs().get(1);
        float[] raw = g.initializer(anonymous).toFloatArray();
        assertEquals(raw[5 * 1536 + 7], up.getFloat(7, 5));
        assertTrue(state.keySet().stream().noneMatch(k -> k.startsWith("onnx::")));
    }

    @Test
    void truncationsAnywhereGiveAFormatException() {
        Random rng = new Random(11);
        int[] cuts = new int[400];
        for (int i = 0; i < cuts.length; i++) {
            cuts[i] = i < 200 ? i * 37 : rng.nextInt(file.length);
        }
        for (int n : cuts) {
            try {
                OnnxReader.read(java.nio.ByteBuffer.wrap(file, 0, n), null);
                fail("a prefix of " + n + " bytes was read as a whole model");
            } catch (FormatException e) {
                assertTrue(e.offset() >= 0 && e.offset() <= n, "offset " + e.offset() + " within " + n);
            }
        }
    }

    @Test
    void bitFlipsInTheGraphGiveAModelOrAFormatException() {
        Random rng = new Random(12);
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            for (int trial = 0; trial < 300; trial++) {
                // Mostly the structure (the first 300 KB hold the nodes), sometimes anywhere.
                int at = trial % 4 == 3 ? rng.nextInt(file.length) : rng.nextInt(300_000);
                byte bit = (byte) (1 << rng.nextInt(8));
                file[at] ^= bit;
                try {
                    OnnxReader.read(file);
                } catch (FormatException expected) {
                    // fine
                } finally {
                    file[at] ^= bit;
                }
            }
        });
        assertEquals(102, OnnxReader.read(Arrays.copyOf(file, file.length)).graph().initializers().size());
    }
}
