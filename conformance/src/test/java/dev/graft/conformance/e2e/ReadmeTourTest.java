package dev.graft.conformance.e2e;

import dev.graft.Graft;
import dev.graft.conformance.Required;
import dev.graft.engine.Module;
import dev.graft.engine.Submodule;
import dev.graft.engine.nn.BatchNorm2d;
import dev.graft.engine.nn.Conv2d;
import dev.graft.engine.nn.Flatten;
import dev.graft.engine.nn.GELU;
import dev.graft.engine.nn.Linear;
import dev.graft.engine.nn.MaxPool2d;
import dev.graft.engine.nn.ReLU;
import dev.graft.engine.nn.Sequential;
import dev.graft.engine.quant.QConfig;
import dev.graft.engine.quant.QConfigMapping;
import dev.graft.engine.quant.passes.DynamicQuantizer;
import dev.graft.engine.quant.report.QuantizationReport;
import dev.graft.engine.save.Savable;
import dev.graft.engine.save.SavedConfig;
import dev.graft.engine.trace.Partition;
import dev.graft.engine.trace.Partitioner;
import dev.graft.formats.text.BertTokenizer;
import dev.graft.models.bert.BertModel;
import dev.graft.models.bert.MiniLm;
import dev.graft.ops.F;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The README's "A first look at the API", exactly: each test's first lines are a snippet copied from README.md
 * (between the markers), followed by checks that what it computes and prints makes sense. When the README
 * changes, this file changes with it.
 */
public class ReadmeTourTest {

    @Test
    void buildingAModel() {
        // ---- README snippet 1
        Module model = new Sequential(
                new Conv2d(1, 8, 3, 1, 1), new BatchNorm2d(8), new ReLU(), new MaxPool2d(2),
                new Flatten(), new Linear(8 * 14 * 14, 10));
        model.eval();
        Tensor logits = model.call(Tensor.randn(new Random(0), 4, 1, 28, 28));
        Tensor probs = F.softmax(logits, 1);
        // ---- end of snippet

        assertArrayEquals(new int[] {4, 10}, logits.shape());
        assertArrayEquals(new int[] {4, 10}, probs.shape());
        float[] p = probs.toFloatArray();
        for (int row = 0; row < 4; row++) {
            double sum = 0;
            for (int c = 0; c < 10; c++) {
                float v = p[row * 10 + c];
                assertTrue(v >= 0f && v <= 1f, "probability " + v);
                sum += v;
            }
            assertEquals(1.0, sum, 1e-5, "row " + row + " of " + Arrays.toString(p));
        }
    }

    // ---- README snippet 2
    class Block extends Module {
        private final Submodule fc = submodule("fc", new Linear(384, 384));
        private final Submodule act = submodule("act", new GELU());

        @Override
        protected Tensor forward(Tensor... inputs) {
            return act.call(fc.call(single(inputs)));
        }
    }
    // ---- end of snippet

    @Test
    void aModuleCallsItsChildrenThroughSubmoduleHandles() {
        Block block = new Block();
        block.eval();
        Tensor x = Tensor.randn(new Random(1), 2, 384);
        Tensor before = block.call(x);
        assertArrayEquals(new int[] {2, 384}, before.shape());
        assertTrue(block.namedModules().containsKey("fc") && block.namedModules().containsKey("act"),
                block.namedModules().keySet().toString());
        // The claim around the snippet: a child can be replaced by a traced block without touching forward.
        Partition p = Partitioner.partition(block, x);
        assertTrue(!p.blocks().isEmpty(), p.describe());
        assertArrayEquals(before.toFloatArray(), block.call(x).toFloatArray(), "traced block is bit-identical");
    }

    @Test
    void fineGrainedTracingAndDynamicQuantizationOfMiniLm() {
        Required.require(MiniLm.available(), "the model jar " + MiniLm.MAVEN_COORDINATE + " on the class path");
        PrintStream stdout = System.out;
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
        try {
            // ---- README snippet 3
            BertModel model = MiniLm.load();                                   // weights from the ONNX file
            BertTokenizer.Batch b = MiniLm.tokenizer().encodeBatch(List.of("Wheat exports rose.", "Corn prices fell."));
            Partition p = Partitioner.partition(model, b.inputIds(), b.attentionMask(), b.tokenTypeIds());
            System.out.print(p.describe());                                    // traced blocks, eager glue and why
            QuantizationReport r = DynamicQuantizer.quantize(p, new QConfigMapping().global(QConfig.dynamicDefault()), false);
            System.out.print(r.describe());                                    // INT8/FP32 operators, sizes
            Tensor hidden = model.lastHiddenState(b.inputIds(), b.attentionMask(), b.tokenTypeIds());  // now INT8 inside
            // ---- end of snippet

            String text = printed.toString(StandardCharsets.UTF_8);
            stdout.print(text);
            // Two sentences of a few tokens each: [2, tokens, 384] (padding may be trimmed, never below the longest).
            assertEquals(3, hidden.shape().length, Arrays.toString(hidden.shape()));
            assertEquals(2, hidden.size(0));
            assertEquals(384, hidden.size(2));
            assertTrue(hidden.size(1) >= 5 && hidden.size(1) <= 16, Arrays.toString(hidden.shape()));
            for (float v : hidden.toFloatArray()) {
                assertTrue(Float.isFinite(v), "non-finite hidden state");
            }
            // The report: the 6 encoder layers' 36 Linear layers are INT8, and the weights shrink about 4x.
            int int8 = r.blocks().stream().mapToInt(QuantizationReport.Block::int8Count).sum();
            assertTrue(int8 >= 36, "INT8 operators: " + int8 + "\n" + text);
            assertTrue(r.weightCompression() >= 3.9, "compression " + r.weightCompression());
            assertTrue(text.contains("INT8") && text.contains("quantized weights:") && text.contains("total"), text);
            assertTrue(text.indexOf("quantized weights:") > text.indexOf("INT8"), text);
        } finally {
            System.setOut(stdout);
        }
    }

    // ---- README snippet 4
    public static class Router extends Module implements Savable {      // your model; Savable: how to rebuild it
        private final Submodule encoder = submodule("encoder", new Sequential(new Linear(16, 64), new ReLU()));
        private final Submodule small = submodule("small", new Linear(64, 4));
        private final Submodule large = submodule("large",
                new Sequential(new Linear(64, 64), new ReLU(), new Linear(64, 4)));

        @Override
        protected Tensor forward(Tensor... in) {
            Tensor h = encoder.call(in[0]);
            return h.mean().item() < 0.3f ? small.call(h) : large.call(h);   // data-dependent: stays Java
        }

        public Map<String, Object> saveConfig() { return Map.of(); }

        public static Router fromConfig(SavedConfig c) { return new Router(); }
    }
    // ---- end of snippet

    @Test
    void quantizeYourOwnModuleSaveLoadRun() throws Exception {
        Path dir = Files.createTempDirectory("graft-tour");
        Path file = dir.resolve("router.graft");
        List<Object[]> batches = new ArrayList<>();
        Random random = new Random(3);
        for (int i = 0; i < 8; i++) {
            // small inputs take the small branch, large ones the large branch: both get calibration data
            batches.add(new Object[] {i % 2 == 0 ? Tensor.rand(random, -1f, 1f, 8, 16) : Tensor.rand(random, 0f, 4f, 8, 16)});
        }
        Tensor x = Tensor.rand(random, 0f, 4f, 3, 16);
        PrintStream stdout = System.out;
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
        try {
            // ---- README snippet 5
            Router model = new Router();
            model.eval();
            Graft.Prepared prepared = Graft.prepare(model, batches, Graft.Config.staticDefaults());  // traces both ways
            prepared.calibrate(batches);                                 // runs the whole model: both branches
            Graft.Quantized q = prepared.convert();                      // INT8 blocks, Java control flow kept
            System.out.print(q.partition().describe());                  // encoder, small, large: traced
            q.save(file);                                                // one file, written atomically
            Tensor y = Graft.load(file).model().call(x);                 // bit-identical to q.model().call(x)
            // ---- end of snippet

            assertArrayEquals(q.model().call(x).toFloatArray(), y.toFloatArray(), 0f, "loaded model is bit-identical");
            assertEquals(java.util.Set.of("encoder", "small", "large"), q.partition().blocks().keySet(),
                    q.partition().describe());
            assertTrue(q.report().blocks().stream().allMatch(b -> b.int8Count() > 0), q.report().describe());
            String text = printed.toString(StandardCharsets.UTF_8);
            assertTrue(text.contains("eager: control flow") && text.contains("ReadmeTourTest.java"), text);
        } finally {
            System.setOut(stdout);
            stdout.print(printed.toString(StandardCharsets.UTF_8));
        }
        Files.deleteIfExists(file);
        Files.deleteIfExists(dir);
    }

    /** Every snippet marked in this file appears in README.md exactly (indentation aside), and vice versa in count. */
    @Test
    void theReadmeShowsExactlyTheseSnippets() throws Exception {
        String readme = Files.readString(Path.of("..", "README.md"));
        String source = Files.readString(Path.of("src/test/java/dev/graft/conformance/e2e/ReadmeTourTest.java"));
        java.util.regex.Matcher m = java.util.regex.Pattern.compile(
                "// ---- README snippet (\\d+)\\n(.*?)\\n[ ]*// ---- end of snippet", java.util.regex.Pattern.DOTALL)
                .matcher(source);
        String normalizedReadme = normalize(readme);
        int snippets = 0;
        while (m.find()) {
            snippets++;
            String snippet = normalize(m.group(2));
            assertTrue(normalizedReadme.contains(snippet), "README.md lacks snippet " + m.group(1) + ":\n" + snippet);
        }
        assertEquals(5, snippets, "snippets marked in this file");
    }

    /** Lines without their common indentation and trailing spaces. */
    private static String normalize(String text) {
        List<String> lines = text.lines().toList();
        int indent = lines.stream().filter(l -> !l.isBlank()).mapToInt(l -> l.length() - l.stripLeading().length())
                .min().orElse(0);
        StringBuilder sb = new StringBuilder();
        for (String l : lines) {
            sb.append(l.isBlank() ? "" : l.substring(Math.min(indent, l.length() - l.stripLeading().length())).stripTrailing())
                    .append('\n');
        }
        return sb.toString();
    }
}
