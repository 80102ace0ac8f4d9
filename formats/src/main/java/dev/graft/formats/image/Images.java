package dev.graft.formats.image;

import dev.graft.engine.io.AtomicFiles;
import dev.graft.engine.io.FormatException;
import dev.graft.ops.Tensor;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;

/**
 * Photos in and out (javax.imageio): decoding, an image as a [1,3,H,W] float tensor (RGB, 0..255), writing PNG.
 */
public final class Images {
    private Images() {
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
}
