package dev.graft.cli;

import dev.graft.engine.quant.report.LayerErrorReport;
import dev.graft.engine.trace.PartitionPicture;

import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.LocalDate;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/**
 * The results as one self-contained HTML page (no external files, scripts or fonts): the table, the partition
 * pictures of the three models (inline SVG), the worst layers of each model, and NanoDet's detections in FP32 and
 * INT8 side by side (PNG data URLs). A few lines of script record, once the page has loaded, how many pictures
 * decoded, the drawings and table rows, and how many lines of text run past their partition box
 * ({@code <body data-rendered="..." data-overflow="the first such line">}), which is what the headless-browser
 * check reads.
 */
final class ReportPage {
    private ReportPage() {
    }

    static String html(ResultsTable.Result r) {
        StringBuilder h = new StringBuilder();
        h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n")
                .append("<title>Graft results</title>\n<style>\n")
                .append("body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1180px;color:#222}\n")
                .append("table{border-collapse:collapse;margin:8px 0 16px}td,th{border:1px solid #ccc;padding:3px 7px}\n")
                .append("th{background:#f2f2f2}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\n")
                .append("figure{display:inline-block;margin:6px}figcaption{font-size:12px;color:#555}\n")
                .append("img{max-width:540px;border:1px solid #ddd}.svg{overflow-x:auto;border:1px solid #eee}\n")
                .append("code{background:#f6f6f6;padding:1px 3px}\n</style></head>\n<body>\n");
        h.append("<h1>Graft: INT8 models with dynamic control flow, results</h1>\n");
        h.append("<p>Measured in one run on ").append(esc(r.machine())).append(", ")
                .append(LocalDate.now()).append(String.format(Locale.ROOT, " (%.0f s). ", r.seconds()))
                .append("Reproduce with <code>./graft demo</code> or <code>./graft report --out report.html</code>.")
                .append(" Latency: ms per call at batch 1, median ± half the interquartile range; all rows of a model")
                .append(" timed in one interleaved loop against one FP32 run, after a shared warm-up.")
                .append(" Sizes: the saved <code>.graft</code> files (FP32 saved the same way).</p>\n");

        h.append("<h2>Results</h2>\n<table id=\"results\"><tr><th>model</th><th>approach</th><th>INT8 score</th>")
                .append("<th>FP32 score</th><th>relative loss</th><th>INT8 size</th><th>FP32 size</th>")
                .append("<th>compression</th><th>INT8 ms</th><th>FP32 ms</th><th>speedup</th>")
                .append("<th>blocks traced / eager</th></tr>\n");
        for (ResultsTable.Row row : r.rows()) {
            h.append("<tr><td>").append(esc(row.model())).append("</td><td title=\"").append(esc(row.recipe()))
                    .append("\">").append(esc(row.approach())).append("</td>")
                    .append(num(row.int8Score())).append(num(row.fp32Score()))
                    .append(num(String.format(Locale.ROOT, "%.2f%%", 100 * row.relativeLoss())))
                    .append(num(Format.bytes(row.int8Bytes()))).append(num(Format.bytes(row.fp32Bytes())))
                    .append(num(String.format(Locale.ROOT, "%.2fx", row.compression())))
                    .append(num(row.int8().text()))
                    .append(num(row.fp32().text()))
                    .append(num(String.format(Locale.ROOT, "%.2fx", row.speedup())))
                    .append(num(row.blocks())).append("</tr>\n");
        }
        h.append("</table>\n<ul>\n");
        for (ResultsTable.WorkloadResult w : r.workloads()) {
            h.append("<li><b>").append(esc(w.title())).append("</b>: ").append(esc(w.metric())).append(".<ul>");
            for (ResultsTable.Row row : w.rows()) {
                h.append("<li>").append(esc(row.approach())).append(": ").append(esc(row.recipe())).append("</li>");
            }
            h.append("</ul></li>\n");
        }
        if (r.ort() != null) {
            h.append("<li><b>ONNX Runtime INT8 (-q)</b>: ").append(esc(r.ortNote())).append(".</li>\n");
        }
        h.append("</ul>\n");

        h.append("<h2>Fine-grained partitions</h2>\n<p>Shaded boxes were traced and quantized as blocks; dashed red")
                .append(" boxes stayed eager Java code, with the reason and the line that stopped the trace.</p>\n");
        for (ResultsTable.WorkloadResult w : r.workloads()) {
            h.append("<h3>").append(esc(w.title())).append("</h3>\n<div class=\"svg\">")
                    .append(PartitionPicture.svg(w.title() + ": fine-grained partition", w.partition()))
                    .append("</div>\n");
        }

        h.append("<h2>Worst layers</h2>\n<p>SQNR of each INT8 layer's output against its FP32 original on the same")
                .append(" inputs (lowest first).</p>\n");
        for (ResultsTable.WorkloadResult w : r.workloads()) {
            if (w.worstLayers().isEmpty()) {
                continue;
            }
            h.append("<h3>").append(esc(w.title())).append(" (").append(esc(w.worstApproach())).append(")</h3>\n")
                    .append("<table><tr><th>layer</th><th>FP32 was</th><th>SQNR dB</th><th>max |err|</th></tr>\n");
            List<LayerErrorReport.Row> rows = w.worstLayers();
            for (LayerErrorReport.Row row : rows.subList(0, Math.min(8, rows.size()))) {
                h.append("<tr><td>").append(esc(row.path())).append("</td><td>").append(esc(row.kind())).append("</td>")
                        .append(num(String.format(Locale.ROOT, "%.2f", row.sqnrDb())))
                        .append(num(String.format(Locale.ROOT, "%.4g", row.maxAbsError()))).append("</tr>\n");
            }
            h.append("</table>\n");
        }

        if (!r.detections().isEmpty()) {
            h.append("<h2>NanoDet detections, FP32 and static INT8</h2>\n");
            for (ResultsTable.Detections d : r.detections()) {
                h.append("<div>").append(figure(d.fp32(), d.photo() + ": FP32, " + d.fp32Count() + " detections"))
                        .append(figure(d.int8(), d.photo() + ": static INT8, " + d.int8Count() + " detections"))
                        .append("</div>\n");
            }
        }
        h.append("<script>\nwindow.addEventListener('load', function () {\n")
                .append("  var imgs = document.images, ok = 0;\n")
                .append("  for (var i = 0; i < imgs.length; i++) { if (imgs[i].complete && imgs[i].naturalWidth > 0) ok++; }\n")
                .append("  var svgs = document.querySelectorAll('svg').length;\n")
                .append("  var rows = document.querySelectorAll('#results tr').length - 1;\n")
                // Text that runs past its box: each partition box is a <g class="box"> of its rect and its lines;
                // the title lines must fit the drawing's width.
                .append("  var over = 0, first = '';\n")
                .append("  function outside(t, x, y, w, h) { var b = t.getBBox();\n")
                .append("    if (b.x < x || b.y < y || b.x + b.width > x + w || b.y + b.height > y + h) {\n")
                .append("      over++; if (!first) first = t.textContent; } }\n")
                .append("  document.querySelectorAll('svg g.box').forEach(function (g) {\n")
                .append("    var r = g.querySelector(':scope > rect').getBBox();\n")
                .append("    g.querySelectorAll(':scope > text').forEach(function (t) {")
                .append(" outside(t, r.x, r.y, r.width, r.height); }); });\n")
                .append("  document.querySelectorAll('svg').forEach(function (s) { var v = s.viewBox.baseVal;\n")
                .append("    s.querySelectorAll(':scope > text').forEach(function (t) {")
                .append(" outside(t, v.x, v.y, v.width, v.height); }); });\n")
                .append("  document.body.setAttribute('data-overflow', first);\n")
                .append("  document.body.setAttribute('data-rendered', 'images=' + ok + '/' + imgs.length + ' svgs=' + svgs")
                .append(" + ' rows=' + rows + ' overflow=' + over);\n});\n</script>\n");
        h.append("</body></html>\n");
        return h.toString();
    }

    private static String figure(BufferedImage image, String caption) {
        return "<figure><img alt=\"" + esc(caption) + "\" src=\"data:image/png;base64," + png(scaled(image, 540))
                + "\"><figcaption>" + esc(caption) + "</figcaption></figure>";
    }

    /** The image scaled down to at most {@code maxWidth} pixels wide (keeps the page small). */
    static BufferedImage scaled(BufferedImage image, int maxWidth) {
        if (image.getWidth() <= maxWidth) {
            return image;
        }
        int h = Math.max(1, image.getHeight() * maxWidth / image.getWidth());
        BufferedImage out = new BufferedImage(maxWidth, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
        g.drawImage(image, 0, 0, maxWidth, h, null);
        g.dispose();
        return out;
    }

    static String png(BufferedImage image) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try {
            ImageIO.write(image, "png", bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return Base64.getEncoder().encodeToString(bytes.toByteArray());
    }

    private static String num(String s) {
        return "<td class=\"n\">" + esc(s) + "</td>";
    }

    static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
