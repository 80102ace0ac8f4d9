package dev.graft.formats.image;

import dev.graft.formats.AtomicFiles;
import dev.graft.formats.FormatException;
import dev.graft.models.nanodet.Detection;
import dev.graft.models.nanodet.Letterbox;
import dev.graft.ops.Tensor;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Photos in and out (javax.imageio): decoding, fitting into a square network input as a [1,3,S,S] float tensor
 * (RGB, 0..255), and drawing detections onto a copy of the photo saved as PNG.
 */
public final class Images {
    private Images() {
    }

    /** A photo fitted into the network input: the tensor and the mapping back to the photo. */
    public record Fitted(Tensor tensor, Letterbox letterbox) {
    }

    /** Decodes a JPEG, PNG, BMP or GIF file. */
    public static BufferedImage read(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            BufferedImage image = ImageIO.read(in);
            if (image == null) {
                throw new FormatException(file, -1, "not an image javax.imageio can decode (JPEG, PNG, BMP, GIF)");
            }
            return image;
        } catch (IOException e) {
            throw new FormatException(file, -1, "cannot read the image: " + e.getMessage(), e);
        }
    }

    /** Decodes an image from a stream ({@code name} is used in errors). */
    public static BufferedImage read(InputStream in, String name) {
        try {
            BufferedImage image = ImageIO.read(in);
            if (image == null) {
                throw new FormatException(Path.of(name), -1, "not an image javax.imageio can decode");
            }
            return image;
        } catch (IOException e) {
            throw new FormatException(Path.of(name), -1, "cannot read the image: " + e.getMessage(), e);
        }
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
        return new Fitted(toTensor(square), box);
    }

    /** An image as a [1,3,H,W] float tensor, RGB, values 0..255. */
    public static Tensor toTensor(BufferedImage image) {
        int w = image.getWidth();
        int h = image.getHeight();
        int[] argb = image.getRGB(0, 0, w, h, null, 0, w);
        int plane = w * h;
        float[] data = new float[3 * plane];
        for (int i = 0; i < plane; i++) {
            int p = argb[i];
            data[i] = (p >> 16) & 0xff;
            data[plane + i] = (p >> 8) & 0xff;
            data[2 * plane + i] = p & 0xff;
        }
        return Tensor.wrap(data, 1, 3, h, w);
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

    /**
     * Writes a PNG atomically: to a temporary file in the same folder, then moved over the target, so a reader
     * never sees a partial file.
     */
    public static void writePng(BufferedImage image, Path file) {
        AtomicFiles.write(file, out -> {
            if (!ImageIO.write(image, "png", out)) {
                throw new FormatException(file, -1, "no PNG writer available in javax.imageio");
            }
        });
    }

    private static Color colorOf(int classId) {
        float hue = (classId * 0.61803398875f) % 1f;
        return Color.getHSBColor(hue, 0.85f, 0.95f);
    }

    private static int brightness(Color c) {
        return (c.getRed() * 299 + c.getGreen() * 587 + c.getBlue() * 114) / 1000;
    }
}
