package dev.graft.engine.trace;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Draws a partition tree in the manner of the fine-grained-tracing figures: every module a box nested in its
 * parent's box; traced blocks shaded, eager glue outlined in red with the reason and the user's line that kept it
 * eager. SVG (self-contained) or an HTML page around it with a legend and the text tree.
 */
public final class PartitionPicture {
    private static final int WIDTH = 880;
    private static final int PAD = 10;
    private static final int LINE = 16;
    /**
     * Width of one character in px, with a margin: monospace fonts at 12 px advance 0.60 em (DejaVu Sans Mono
     * 0.602, Liberation Mono and Courier 0.600), 7.2 px; lines are wrapped to fit at 7.5 px.
     */
    static final double CHAR = 7.5;

    private PartitionPicture() {
    }

    /** A laid-out box: position, size and the lines of text it shows. */
    private record Box(PartitionNode node, int x, int y, int w, int h, List<String> lines, List<Box> children) {
    }

    public static String svg(String title, Partition partition) {
        List<String> titleLines = wrap(title, WIDTH - 20);
        Box root = layout(partition.tree(), PAD, PAD + (titleLines.size() + 1) * LINE, WIDTH - 2 * PAD);
        int height = root.y + root.h + PAD;
        StringBuilder sb = new StringBuilder();
        sb.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(WIDTH).append("\" height=\"")
                .append(height).append("\" viewBox=\"0 0 ").append(WIDTH).append(' ').append(height)
                .append("\" font-family=\"monospace\" font-size=\"12\">\n");
        sb.append("<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n");
        for (int i = 0; i < titleLines.size(); i++) {
            sb.append(text(PAD, PAD + (i + 1) * LINE, escape(titleLines.get(i)), "font-weight=\"bold\""));
        }
        draw(sb, root);
        sb.append("</svg>\n");
        return sb.toString();
    }

    public static String html(String title, Partition partition) {
        return "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + escape(title) + "</title>\n"
                + "<style>body{font-family:sans-serif;margin:20px} pre{background:#f6f6f6;padding:10px}"
                + " .k{display:inline-block;width:14px;height:14px;margin:0 4px 0 14px;vertical-align:middle}"
                + "</style></head><body>\n<h2>" + escape(title) + "</h2>\n<p>"
                + legend(PartitionNode.Status.TRACED) + legend(PartitionNode.Status.EAGER_CONTROL_FLOW)
                + legend(PartitionNode.Status.CONTAINER) + legend(PartitionNode.Status.NOT_REACHED)
                + legend(PartitionNode.Status.NON_TRACEABLE)
                + "</p>\n" + svg(title, partition) + "<h3>Partition tree</h3>\n<pre>"
                + escape(partition.describe()) + "</pre>\n</body></html>\n";
    }

    private static String legend(PartitionNode.Status s) {
        return "<span class=\"k\" style=\"background:" + fill(s) + ";border:2px solid " + stroke(s) + "\"></span>"
                + escape(s.label());
    }

    private static Box layout(PartitionNode n, int x, int y, int w) {
        List<String> lines = describe(n, w);
        int inner = y + PAD + lines.size() * LINE;
        List<Box> kids = new ArrayList<>();
        int cy = inner + (n.children().isEmpty() ? 0 : PAD / 2);
        for (PartitionNode c : n.children()) {
            Box b = layout(c, x + 2 * PAD, cy, w - 4 * PAD);
            kids.add(b);
            cy = b.y + b.h + PAD / 2;
        }
        int h = (kids.isEmpty() ? inner : cy) - y + PAD / 2;
        return new Box(n, x, y, w, h, lines, kids);
    }

    private static List<String> describe(PartitionNode n, int w) {
        List<String> lines = new ArrayList<>();
        lines.addAll(wrap(titleOf(n), w));
        if (n.status() == PartitionNode.Status.TRACED) {
            lines.addAll(wrap(n.computeNodes() + " ops " + Partition.formatCounts(n.opCounts()), w));
        } else if (!n.reason().isEmpty()) {
            lines.addAll(wrap(n.reason() + (n.sourceLine().isEmpty() ? "" : " at " + n.sourceLine()), w));
        }
        return lines;
    }

    private static String titleOf(PartitionNode n) {
        return (n.path().isEmpty() ? "<model>" : n.path()) + " : " + n.moduleClass() + " — " + n.status().label();
    }

    private static List<String> wrap(String s, int w) {
        int max = Math.max(20, (int) ((w - 2 * PAD) / CHAR));
        List<String> out = new ArrayList<>();
        String rest = s;
        while (rest.length() > max && out.size() < 3) {
            int cut = rest.lastIndexOf(' ', max);
            cut = cut <= 0 ? max : cut;
            out.add(rest.substring(0, cut));
            rest = rest.substring(cut).trim();
        }
        if (out.size() == 3 && rest.length() > max) {
            rest = rest.substring(0, max - 3) + "...";
        }
        out.add(rest);
        return out;
    }

    private static void draw(StringBuilder sb, Box b) {
        PartitionNode.Status s = b.node.status();
        boolean eager = s == PartitionNode.Status.EAGER_CONTROL_FLOW || s == PartitionNode.Status.EAGER_UNTRACEABLE
                || s == PartitionNode.Status.EAGER_LEAF;
        sb.append("<g class=\"box\">\n");   // the box's rect, its text, then the boxes inside it
        sb.append("<rect x=\"").append(b.x).append("\" y=\"").append(b.y).append("\" width=\"").append(b.w)
                .append("\" height=\"").append(b.h).append("\" rx=\"6\" fill=\"").append(fill(s))
                .append("\" stroke=\"").append(stroke(s)).append("\" stroke-width=\"").append(eager ? 2 : 1.5)
                .append(eager ? "\" stroke-dasharray=\"6 3\"/>\n" : "\"/>\n");
        int titleLines = wrap(titleOf(b.node), b.w).size();
        for (int i = 0; i < b.lines.size(); i++) {
            String style = i < titleLines ? "font-weight=\"bold\"" : "fill=\"#333333\"";
            sb.append(text(b.x + PAD, b.y + PAD + (i + 1) * LINE - 4, escape(b.lines.get(i)), style));
        }
        for (Box c : b.children) {
            draw(sb, c);
        }
        sb.append("</g>\n");
    }

    private static String text(int x, int y, String s, String attrs) {
        return "<text x=\"" + x + "\" y=\"" + y + "\" " + attrs + ">" + s + "</text>\n";
    }

    private static String fill(PartitionNode.Status s) {
        return switch (s) {
            case TRACED -> "#cdebd0";
            case EAGER_CONTROL_FLOW, EAGER_UNTRACEABLE, EAGER_LEAF -> "#fff7f5";
            case NOT_REACHED, CONTAINER -> "#eeeeee";
            case NON_TRACEABLE -> "#fde8c8";
        };
    }

    private static String stroke(PartitionNode.Status s) {
        return switch (s) {
            case TRACED -> "#2e7d32";
            case EAGER_CONTROL_FLOW, EAGER_UNTRACEABLE, EAGER_LEAF -> "#c62828";
            case NOT_REACHED, CONTAINER -> "#9e9e9e";
            case NON_TRACEABLE -> "#ef6c00";
        };
    }

    static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }

    /** Counts of nodes by status, for a caption. */
    public static Map<PartitionNode.Status, Long> census(Partition p) {
        Map<PartitionNode.Status, Long> out = new java.util.EnumMap<>(PartitionNode.Status.class);
        for (PartitionNode n : p.tree().flatten()) {
            out.merge(n.status(), 1L, Long::sum);
        }
        return out;
    }
}
