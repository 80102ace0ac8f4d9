package dev.graft.models.nanodet;

import dev.graft.formats.image.Images;
import dev.graft.ops.Tensor;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.Rectangle;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.util.List;

/** Photos for the detector: fitted into its square input (letterbox), and with its detections drawn on. */
public final class NanoDetImages {
    private NanoDetImages() {
    }

    /** A photo fitted into the network input: the tensor and the mapping back to the photo. */
    public record Fitted(Tensor tensor, Letterbox letterbox) {
    }

    /**
     * Scales the photo to fit a {@code size x size} square keeping its aspect (bilinear), centres it on black, and
     * returns it as a [1,3,size,size] float tensor of RGB values in 0..255.
     */
    public static Fitted letterbox(BufferedImage photo, int size) {
        Letterbox box = Letterbox.fit(photo.getWidth(), photo.getHeight(), size);
        BufferedImage square = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = square.createGraphics();
        try {
            g.setColor(Color.BLACK);
            g.fillRect(0, 0, size, size);
            g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
            g.setRenderingHint(RenderingHints.KEY_RENDERING, RenderingHints.VALUE_RENDER_QUALITY);
            g.drawImage(photo, box.padX(), box.padY(), box.scaledWidth(), box.scaledHeight(), null);
        } finally {
            g.dispose();
        }
        return new Fitted(Images.toTensor(square), box);
    }

    /** A copy of the photo with each detection drawn as a coloured box and a "label score" tag. */
    public static BufferedImage drawDetections(BufferedImage photo, List<Detection> detections) {
        BufferedImage out = new BufferedImage(photo.getWidth(), photo.getHeight(), BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        try {
            g.drawImage(photo, 0, 0, null);
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            int side = Math.max(photo.getWidth(), photo.getHeight());
            float stroke = Math.max(2f, side / 300f);
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, Math.max(12, side / 45)));
            FontMetrics fm = g.getFontMetrics();
            // Most confident first: it gets the best place for its tag; boxes first, then every tag over them.
            List<Detection> order = new java.util.ArrayList<>(detections);
            order.sort(java.util.Comparator.comparingDouble((Detection d) -> d.score()).reversed());
            int[] widths = new int[order.size()];
            List<String> tags = new java.util.ArrayList<>();
            for (int i = 0; i < order.size(); i++) {
                Detection d = order.get(i);
                tags.add(String.format(java.util.Locale.ROOT, "%s %.2f", d.label(), d.score()));
                widths[i] = fm.stringWidth(tags.get(i)) + 6;
            }
            List<Rectangle> places = labelPlaces(order, widths, fm.getHeight(), photo.getWidth(),
                    photo.getHeight());
            g.setStroke(new BasicStroke(stroke));
            for (int i = order.size() - 1; i >= 0; i--) {
                Detection d = order.get(i);
                g.setColor(colorOf(d.classId()));
                g.drawRect(Math.round(d.x1()), Math.round(d.y1()), Math.round(d.width()), Math.round(d.height()));
            }
            for (int i = 0; i < order.size(); i++) {
                Color color = colorOf(order.get(i).classId());
                Rectangle r = places.get(i);
                g.setColor(color);
                g.fillRect(r.x, r.y, r.width, r.height);
                g.setColor(brightness(color) > 140 ? Color.BLACK : Color.WHITE);
                g.drawString(tags.get(i), r.x + 3, r.y + fm.getAscent());
            }
        } finally {
            g.dispose();
        }
        return out;
    }

    /**
     * Where each detection's tag goes ({@code widths[i]} x {@code height} px): just above its box's top-left
     * corner, else just inside it, else below the box, else inside its bottom edge, else the first place further
     * down from the top that overlaps no tag placed before it; always inside the image. Tags are placed in the
     * order given (most confident first), so no two overlap as long as the image has room for them.
     */
    static List<Rectangle> labelPlaces(List<Detection> detections, int[] widths, int height, int imageWidth,
                                                int imageHeight) {
        List<Rectangle> placed = new java.util.ArrayList<>();
        for (int i = 0; i < detections.size(); i++) {
            Detection d = detections.get(i);
            int w = Math.min(widths[i], imageWidth);
            int x = Math.max(0, Math.min(Math.round(d.x1()), imageWidth - w));
            int top = Math.round(d.y1());
            int bottom = Math.round(d.y2());
            Rectangle found = null;
            for (int y : new int[] {top - height, top, bottom, bottom - height}) {
                Rectangle r = new Rectangle(x, y, w, height);
                if (y >= 0 && y + height <= imageHeight && free(r, placed)) {
                    found = r;
                    break;
                }
            }
            for (int y = Math.max(0, top); found == null && y + height <= imageHeight; y++) {
                Rectangle r = new Rectangle(x, y, w, height);
                if (free(r, placed)) {
                    found = r;
                }
            }
            for (int y = 0; found == null && y + height <= imageHeight; y++) {   // above the box, then
                Rectangle r = new Rectangle(x, y, w, height);
                if (free(r, placed)) {
                    found = r;
                }
            }
            placed.add(found != null ? found : new Rectangle(x, Math.max(0, Math.min(top,
                    imageHeight - height)), w, height));   // no room anywhere in this column: over the box
        }
        return placed;
    }

    private static boolean free(Rectangle r, List<Rectangle> placed) {
        for (Rectangle p : placed) {
            if (p.intersects(r)) {
                return false;
            }
        }
        return true;
    }

    private static Color colorOf(int classId) {
        float hue = (classId * 0.61803398875f) % 1f;
        return Color.getHSBColor(hue, 0.85f, 0.95f);
    }

    private static int brightness(Color c) {
        return (c.getRed() * 299 + c.getGreen() * 587 + c.getBlue() * 114) / 1000;
    }
}
