package dev.graft.formats.image;

import dev.graft.engine.io.AtomicFiles;
import dev.graft.engine.io.FormatException;
import dev.graft.engine.io.Limits;
import dev.graft.ops.Tensor;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * Photos in and out (javax.imageio): decoding, an image as a [1,3,H,W] float tensor (RGB, 0..255), writing PNG.
 *
 * <p>Decoding takes only the formats Graft documents ({@link #FORMATS}: PNG, JPEG, GIF, BMP), reads the image's size
 * from its header first and refuses more than {@link Limits#maxPixels()} pixels before any pixel buffer exists, and
 * reports whatever the JDK's decoders throw on damaged data as a {@link FormatException} naming the file.
 */
public final class Images {
    /** The formats {@link #read} decodes (javax.imageio format names). */
    public static final List<String> FORMATS = List.of("png", "jpeg", "gif", "bmp");

    private Images() {
    }

    /** Decodes a PNG, JPEG, GIF or BMP file. */
    public static BufferedImage read(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            return decode(in, file);
        } catch (IOException e) {
            throw new FormatException(file, -1, "cannot read the image: " + e.getMessage(), e);
        }
    }

    /** Decodes an image from a stream ({@code name} is used in errors). */
    public static BufferedImage read(InputStream in, String name) {
        return decode(in, Path.of(name));
    }

    private static BufferedImage decode(InputStream in, Path file) {
        ImageIO.setUseCache(false);     // decode in memory; no temporary files
        try (ImageInputStream iis = ImageIO.createImageInputStream(in)) {
            if (iis == null) {
                throw new FormatException(file, -1, "cannot open the image stream");
            }
            Iterator<ImageReader> readers = ImageIO.getImageReaders(iis);
            if (!readers.hasNext()) {
                throw new FormatException(file, 0, "not an image in a format Graft reads (" + String.join(", ",
                        FORMATS) + ")");
            }
            ImageReader reader = readers.next();
            try {
                String format = reader.getFormatName().toLowerCase(Locale.ROOT);
                if (!FORMATS.contains(format.equals("jpg") ? "jpeg" : format)) {
                    throw new FormatException(file, 0, "a " + format + " image; Graft reads " + String.join(", ",
                            FORMATS));
                }
                reader.setInput(iis, true, true);
                long w = reader.getWidth(0);
                long h = reader.getHeight(0);
                if (w <= 0 || h <= 0) {
                    throw new FormatException(file, -1, "image size " + w + "x" + h + " in the header");
                }
                Limits.check(w * h, Limits.maxPixels(), format + " image of " + w + "x" + h + ": pixels",
                        "graft.limit.pixels", file, -1);
                BufferedImage image = reader.read(0);
                if (image == null) {
                    throw new FormatException(file, -1, "the " + format + " decoder returned no image");
                }
                return image;
            } finally {
                reader.dispose();
            }
        } catch (IOException e) {
            throw new FormatException(file, -1, "cannot decode the image: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            if (e instanceof FormatException f) {
                throw f;
            }
            // The JDK's decoders report some damaged data with unchecked exceptions (IllegalArgumentException,
            // ArrayIndexOutOfBoundsException, ...): still a damaged file, named as such.
            throw new FormatException(file, -1, "damaged image data (" + e.getClass().getSimpleName()
                    + (e.getMessage() == null ? "" : ": " + e.getMessage()) + ")", e);
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
