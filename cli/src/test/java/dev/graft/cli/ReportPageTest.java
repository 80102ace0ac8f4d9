package dev.graft.cli;

import dev.graft.engine.Init;
import dev.graft.engine.quant.report.LayerErrorReport;
import dev.graft.engine.trace.Partition;
import dev.graft.engine.trace.PartitionNode;
import dev.graft.engine.trace.Partitioner;
import dev.graft.models.mnist.MnistCnn;
import dev.graft.models.nanodet.Detection;
import dev.graft.models.nanodet.NanoDetImages;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The report page is self-contained and renders in a real browser: Debian's Chromium, headless, loads it from disk,
 * and the page's own load script counts the pictures that decoded, the partition drawings, the table rows and the
 * lines of partition text whose bounding box leaves its box (measured by the browser's own font).
 * {@code ./graft test} installs Chromium when it can and passes its path in {@code GRAFT_BROWSER}.
 */
class ReportPageTest {
    @TempDir
    Path dir;

    private static ResultsTable.Result sample() {
        Init.manualSeed(1);
        MnistCnn cnn = new MnistCnn(0.5f);
        cnn.eval();
        Partition p = Partitioner.partition(cnn, Tensor.rand(new Random(2), 0f, 1f, 2, 1, 28, 28));
        List<ResultsTable.WorkloadResult> workloads = new ArrayList<>();
        for (String name : List.of("reuters", "cnn", "nanodet")) {
            Partition drawn = name.equals("nanodet") ? longTexts(cnn) : p;
            ResultsTable.Row row = new ResultsTable.Row(name + " <model>", "static", "99.26%", "99.28%", 0.0002,
                    44_000, 160_000, new ResultsTable.Timing(2.5, 0.1, 30), new ResultsTable.Timing(1.7, 0.1, 30),
                    "6 / 1", "a \"recipe\" & more");
            workloads.add(new ResultsTable.WorkloadResult(name, name + " title", "accuracy", drawn, List.of(row, row),
                    "static", List.of(new LayerErrorReport.Row("stem.0", "Conv2d", 40.5, 0.1, 3))));
        }
        BufferedImage photo = new BufferedImage(800, 500, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = photo.createGraphics();
        g.setColor(Color.ORANGE);
        g.fillRect(0, 0, 800, 500);
        g.dispose();
        List<Detection> boxes = List.of(new Detection(16, "dog", 0.68f, 100, 120, 400, 450));
        List<ResultsTable.Detections> detections = List.of(new ResultsTable.Detections("dog.jpg",
                NanoDetImages.drawDetections(photo, boxes), NanoDetImages.drawDetections(photo, boxes), 1, 1));
        ResultsTable.Row ort = new ResultsTable.Row("MiniLM-Reuters", "ONNX Runtime INT8 (-q)", "96.9%", "97.02%",
                0.001, 23_000_000, 90_000_000, new ResultsTable.Timing(4.0, 0.2, 30),
                new ResultsTable.Timing(9.0, 0.3, 30), "-", "ort");
        return new ResultsTable.Result(workloads, ort, "cosine 0.99", detections, 12.0, "test machine");
    }

    /**
     * A partition with the longest texts the pictures meet: NanoDet's eager reason (the line once cut at
     * "decodeLevel"), a traced block's long operator list, long module paths and class names four levels deep.
     */
    private static Partition longTexts(MnistCnn model) {
        Map<String, Integer> ops = new LinkedHashMap<>();
        for (String op : List.of("permute", "add", "conv2d", "pad", "leaky_relu", "cat", "reshape",
                "upsample_bilinear2d", "depthwise_conv2d", "batch_norm", "channel_shuffle", "split", "max_pool2d")) {
            ops.put(op, 100 + op.length());
        }
        PartitionNode traced = new PartitionNode("backbone.stage4.block3.branch_main.depthwise_separable", "Shuffle"
                + "NetV2InvertedResidualWithChannelSplit", PartitionNode.Status.TRACED, "", "", ops, List.of());
        PartitionNode inner = new PartitionNode("backbone.stage4.block3.branch_main", "Sequential",
                PartitionNode.Status.CONTAINER, "", "", Map.of(), List.of(traced));
        PartitionNode mid = new PartitionNode("backbone.stage4.block3", "ShuffleV2Block",
                PartitionNode.Status.EAGER_UNTRACEABLE, "returns a non-tensor value (a list of per-level maps) that"
                + " the tracer cannot follow", "ShuffleV2Block.java:1234 (ShuffleV2Block.forwardWithAuxiliary)",
                Map.of(), List.of(inner));
        PartitionNode root = new PartitionNode("", "NanoDetDetector", PartitionNode.Status.EAGER_CONTROL_FLOW,
                "data-dependent control flow: toFloatArray() on a traced tensor at NanoDetDetector.java:211"
                        + " (NanoDetDetector.decodeLevel)", "NanoDetDetector.java:211 (NanoDetDetector.decodeLevel)",
                Map.of(), List.of(mid));
        return new Partition(model, root);
    }

    @Test
    void pageIsSelfContainedAndEscaped() {
        String html = ReportPage.html(sample());
        assertEquals(3, count(html, "<svg "), "three partition drawings");
        assertEquals(2, count(html, "<img "), "FP32 and INT8 detections");
        assertEquals(7 + 3, count(html, "<tr><td>"), "six rows and ONNX Runtime's, one worst-layer row per model");
        assertTrue(html.contains("reuters &lt;model&gt;") && html.contains("a &quot;recipe&quot; &amp; more"));
        assertTrue(!html.contains("src=\"http") && !html.contains("href=\"http"), "no external resources");
    }

    @Test
    void rendersInHeadlessChromium() throws Exception {
        String browser = System.getenv("GRAFT_BROWSER");
        if (browser == null) {
            for (String c : new String[] {"/usr/bin/chromium", "/usr/bin/chromium-browser"}) {
                if (Files.isExecutable(Path.of(c))) {
                    browser = c;
                }
            }
        }
        // ./graft test installs Debian's chromium when it can; a CI run without one fails rather than skips.
        if (browser == null && "true".equalsIgnoreCase(System.getenv("CI"))) {
            fail("no Chromium for the report check, and CI=true");
        }
        assumeTrue(browser != null, "no Chromium (./graft test installs Debian's chromium when it can)");
        Path page = dir.resolve("report.html");
        Files.writeString(page, ReportPage.html(sample()), StandardCharsets.UTF_8);
        Process p = new ProcessBuilder(browser, "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--virtual-time-budget=5000", "--dump-dom", page.toUri().toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String dom = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "chromium finished");
        Matcher m = Pattern.compile("data-rendered=\"images=(\\d+)/(\\d+) svgs=(\\d+) rows=(\\d+) overflow=(\\d+)\"")
                .matcher(dom);
        assertTrue(m.find(), "the page's load script ran: " + dom.substring(0, Math.min(300, dom.length())));
        assertEquals("2", m.group(1), "pictures decoded");
        assertEquals("2", m.group(2));
        assertEquals("3", m.group(3), "partition drawings");
        assertEquals("7", m.group(4), "table rows (six + ONNX Runtime)");
        Matcher first = Pattern.compile("data-overflow=\"([^\"]*)\"").matcher(dom);
        assertEquals("0", m.group(5), "partition text inside its boxes; the first outside: "
                + (first.find() ? first.group(1) : "?"));
    }

    private static int count(String s, String what) {
        int n = 0;
        for (int i = s.indexOf(what); i >= 0; i = s.indexOf(what, i + 1)) {
            n++;
        }
        return n;
    }
}
