package dev.graft.models.bert;

import dev.graft.engine.Init;
import dev.graft.engine.io.FormatException;
import dev.graft.engine.io.Safetensors;
import dev.graft.formats.onnx.OnnxModel;
import dev.graft.formats.onnx.OnnxReader;
import dev.graft.formats.onnx.OnnxWriter;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The BERT-family loader on small models written by the test: both file layouts, the names, and the refusals. */
class BertFilesTest {
    static final BertConfig SMALL = BertConfig.builder().vocabSize(40).hiddenSize(16).numHiddenLayers(2)
            .numAttentionHeads(4).intermediateSize(24).maxPositionEmbeddings(16).build();
    static final Tensor IDS = Tensor.ofLongs(new long[] {1, 5, 9, 2, 1, 7, 2, 0}, 2, 4);
    static final Tensor MASK = Tensor.ofLongs(new long[] {1, 1, 1, 1, 1, 1, 1, 0}, 2, 4);

    static String configJson(BertConfig c, String extra) {
        return """
                {"model_type": "bert", "hidden_act": "gelu", "vocab_size": %d, "hidden_size": %d,
                 "num_hidden_layers": %d, "num_attention_heads": %d, "intermediate_size": %d,
                 "max_position_embeddings": %d, "type_vocab_size": %d, "layer_norm_eps": 1e-12%s}
                """.formatted(c.vocabSize(), c.hiddenSize(), c.numHiddenLayers(), c.numAttentionHeads(),
                c.intermediateSize(), c.maxPositionEmbeddings(), c.typeVocabSize(), extra);
    }

    @Test
    void theBuilderNamesEveryFieldAndStartsFromHuggingFaceDefaults() {
        BertConfig base = BertConfig.builder().build();
        assertEquals(new BertConfig(30522, 768, 12, 12, 3072, 512, 2, 1e-12f, 0.1f, 0.1f, 2), base);
        assertEquals(SMALL, SMALL.toBuilder().build());
        assertEquals(7, SMALL.withNumLabels(7).numLabels());
        assertEquals(new BertConfig(30522, 384, 6, 12, 1536, 512, 2, 1e-12f, 0.1f, 0.1f, 2), BertConfig.allMiniLmL6V2());
    }

    @Test
    void anOnnxExportWithoutPositionIdsLoadsWithItsConfigurationInferred() {
        Init.manualSeed(3);
        BertModel original = new BertModel(SMALL);
        original.eval();
        OnnxModel onnx = OnnxReader.read(OnnxWriter.write(MiniLmLoaderTest.export(original,
                k -> !k.equals("embeddings.position_ids"))));
        BertFiles.Loaded loaded = BertFiles.fromOnnx(onnx, Path.of("small.onnx"), null, null, null);
        assertEquals(SMALL, loaded.config(), "layers, sizes and heads from the graph");
        assertEquals(BertPooling.MEAN_NORMALIZED, loaded.pooling(), "the default without sentence-transformers files");
        assertArrayEquals(original.lastHiddenState(IDS, MASK, null).toFloatArray(),
                loaded.encoder().lastHiddenState(IDS, MASK, null).toFloatArray(), 0f);
        FormatException e = assertThrows(FormatException.class, loaded::requireTokenizer);
        assertTrue(e.getMessage().contains("small-tokenizer.json"), e.getMessage());
    }

    @Test
    void aHuggingFaceClassifierCheckpointWithOldLayerNormNamesLoads(@TempDir Path dir) throws IOException {
        Init.manualSeed(4);
        BertForSequenceClassification original = new BertForSequenceClassification(SMALL.withNumLabels(3), false);
        original.eval();
        Map<String, Tensor> state = new LinkedHashMap<>();
        original.stateDict().forEach((k, v) -> {
            if (!k.endsWith("position_ids")) {
                state.put(k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta"),
                        v);
            }
        });
        Safetensors.write(dir.resolve("model.safetensors"), state);
        Files.writeString(dir.resolve("config.json"), configJson(SMALL,
                ", \"id2label\": {\"0\": \"a\", \"1\": \"b\", \"2\": \"c\"}"));
        BertFiles.Loaded loaded = BertFiles.load(dir);
        assertTrue(loaded.isClassifier());
        assertEquals(3, loaded.config().numLabels());
        assertNull(loaded.tokenizer());
        assertArrayEquals(original.call(IDS, MASK).toFloatArray(), loaded.model().call(IDS, MASK).toFloatArray(), 0f);
        var mapping = BertRecipes.staticMapping(loaded.model());
        for (int layer = 0; layer < 2; layer++) {
            String path = "bert.encoder.layer." + layer + ".output.dense";
            assertTrue(mapping.qconfigFor(path, loaded.model().module(path)).isDynamic(), path + " is dynamic");
        }
    }

    @Test
    void configJsonThatDisagreesWithTheWeightsNamesBoth(@TempDir Path dir) throws IOException {
        writeEncoder(dir, SMALL.toBuilder().numHiddenLayers(3).build(), "");
        FormatException e = assertThrows(FormatException.class, () -> BertFiles.load(dir));
        assertTrue(e.getMessage().contains("config.json says 3 layers") && e.getMessage().contains("weights have 2 layers"),
                e.getMessage());
    }

    @Test
    void anArchitectureGraftDoesNotComputeIsRefusedByKey(@TempDir Path dir) throws IOException {
        writeEncoder(dir, SMALL, "");
        Files.writeString(dir.resolve("config.json"), configJson(SMALL, "").replace("\"gelu\"", "\"relu\""));
        FormatException e = assertThrows(FormatException.class, () -> BertFiles.load(dir));
        assertTrue(e.getMessage().contains("hidden_act") && e.getMessage().contains("relu"), e.getMessage());
    }

    @Test
    void aDirectoryWithoutConfigJsonOrWeightsSaysWhatIsMissing(@TempDir Path dir) throws IOException {
        FormatException none = assertThrows(FormatException.class, () -> BertFiles.load(dir));
        assertTrue(none.getMessage().contains("no model.safetensors"), none.getMessage());
        writeEncoder(dir, SMALL, "");
        Files.delete(dir.resolve("config.json"));
        FormatException e = assertThrows(FormatException.class, () -> BertFiles.load(dir));
        assertTrue(e.getMessage().contains("config.json"), e.getMessage());
    }

    @Test
    void sentenceTransformersFilesChoosePooling(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("modules.json"), """
                [{"idx": 0, "path": "", "type": "sentence_transformers.models.Transformer"},
                 {"idx": 1, "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
                """);
        Files.createDirectories(dir.resolve("1_Pooling"));
        Files.writeString(dir.resolve("1_Pooling/config.json"),
                "{\"pooling_mode_cls_token\": true, \"pooling_mode_mean_tokens\": false}");
        assertEquals(new BertPooling(BertPooling.Mode.CLS, false), BertPooling.fromSentenceTransformers(dir));
        Files.writeString(dir.resolve("1_Pooling/config.json"), "{\"pooling_mode_max_tokens\": true}");
        FormatException e = assertThrows(FormatException.class, () -> BertPooling.fromSentenceTransformers(dir));
        assertTrue(e.getMessage().contains("pooling_mode_max_tokens"), e.getMessage());
        assertEquals(new BertPooling(BertPooling.Mode.CLS, true), BertPooling.parse("cls-normalized"));
        assertThrows(IllegalArgumentException.class, () -> BertPooling.parse("max"));
    }

    /** A plain encoder's weights (no position_ids) and a config.json built from {@code declared}. */
    static void writeEncoder(Path dir, BertConfig declared, String extra) throws IOException {
        Init.manualSeed(5);
        Map<String, Tensor> state = new LinkedHashMap<>(new BertModel(SMALL).stateDict());
        state.remove("embeddings.position_ids");
        Safetensors.write(dir.resolve("model.safetensors"), state);
        Files.writeString(dir.resolve("config.json"), configJson(declared, extra));
    }
}
