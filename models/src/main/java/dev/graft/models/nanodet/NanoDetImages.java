package dev.graft.models.nanodet;

import dev.graft.formats.image.Images;
import dev.graft.ops.Tensor;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
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
            // Lowest score first, so the most confident boxes and tags end up on top.
            List<Detection> order = new java.util.ArrayList<>(detections);
            order.sort(java.util.Comparator.comparingDouble(Detection::score));
            for (Detection d : order) {
                Color color = colorOf(d.classId());
                g.setColor(color);
                g.setStroke(new BasicStroke(stroke));
                int x = Math.round(d.x1());
                int y = Math.round(d.y1());
                g.drawRect(x, y, Math.round(d.width()), Math.round(d.height()));
                String tag = String.format("%s %.2f", d.label(), d.score());
                int tw = fm.stringWidth(tag) + 6;
                int th = fm.getHeight();
                int ty = y - th >= 0 ? y - th : y;
                g.fillRect(x, ty, tw, th);
                g.setColor(brightness(color) > 140 ? Color.BLACK : Color.WHITE);
                g.drawString(tag, x + 3, ty + fm.getAscent());
            }
        } finally {
            g.dispose();
        }
        return out;
    }

    private static Color colorOf(int classId) {
        float hue = (classId * 0.61803398875f) % 1f;
        return Color.getHSBColor(hue, 0.85f, 0.95f);
    }

    private static int brightness(Color c) {
        return (c.getRed() * 299 + c.getGreen() * 587 + c.getBlue() * 114) / 1000;
    }
}
