package dev.graft.models.nanodet;

/**
 * How a photo was fitted into the square network input: scaled by {@code scale} (aspect kept) and placed at
 * ({@code padX}, {@code padY}); the rest is padding. Maps network-input coordinates back to the photo.
 */
public record Letterbox(int photoWidth, int photoHeight, int inputSize, float scale, int padX, int padY) {

    /** The letterbox of a {@code width x height} photo in a {@code size x size} input, centred. */
    public static Letterbox fit(int width, int height, int size) {
        if (width <= 0 || height <= 0 || size <= 0) {
            throw new IllegalArgumentException("letterbox of a " + width + "x" + height + " photo into " + size);
        }
        float scale = Math.min((float) size / width, (float) size / height);
        int w = Math.max(1, Math.round(width * scale));
        int h = Math.max(1, Math.round(height * scale));
        return new Letterbox(width, height, size, scale, (size - w) / 2, (size - h) / 2);
    }

    /** Width of the scaled photo inside the input. */
    public int scaledWidth() {
        return Math.max(1, Math.round(photoWidth * scale));
    }

    public int scaledHeight() {
        return Math.max(1, Math.round(photoHeight * scale));
    }

    /** Input x to photo x, clamped to the photo. */
    public float toPhotoX(float x) {
        return Math.min(Math.max((x - padX) / scale, 0f), photoWidth);
    }

    public float toPhotoY(float y) {
        return Math.min(Math.max((y - padY) / scale, 0f), photoHeight);
    }
}
