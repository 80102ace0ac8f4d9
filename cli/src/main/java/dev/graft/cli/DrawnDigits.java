package dev.graft.cli;

import dev.graft.ops.Tensor;

/**
 * Digits drawn as thick strokes on a 28x28 canvas (MNIST's size and polarity: ink is 1, paper 0), so the demo has
 * an input that needs no data files.
 */
final class DrawnDigits {
    private static final int SIZE = 28;

    private DrawnDigits() {
    }

    /** A batch [n, 1, 28, 28] of the given digits. */
    static Tensor batch(char[] digits) {
        float[] data = new float[digits.length * SIZE * SIZE];
        for (int i = 0; i < digits.length; i++) {
            draw(digits[i], data, i * SIZE * SIZE);
        }
        return Tensor.wrap(data, digits.length, 1, SIZE, SIZE);
    }

    private static void draw(char digit, float[] img, int at) {
        switch (digit) {
            case '0' -> {
                for (int a = 0; a < 64; a++) {
                    double t = 2 * Math.PI * a / 64;
                    double x = 14 + 6 * Math.cos(t);
                    double y = 14 + 9 * Math.sin(t);
                    double t2 = 2 * Math.PI * (a + 1) / 64;
                    line(img, at, x, y, 14 + 6 * Math.cos(t2), 14 + 9 * Math.sin(t2));
                }
            }
            case '1' -> {
                line(img, at, 14, 4, 14, 24);
                line(img, at, 14, 4, 11, 8);
            }
            case '4' -> {
                line(img, at, 17, 4, 17, 24);
                line(img, at, 17, 4, 8, 17);
                line(img, at, 8, 17, 21, 17);
            }
            case '7' -> {
                line(img, at, 7, 5, 21, 5);
                line(img, at, 21, 5, 12, 24);
            }
            default -> throw new IllegalArgumentException("no drawing for digit '" + digit + "'");
        }
    }

    /** A stroke about 2.5 pixels wide with soft edges. */
    private static void line(float[] img, int at, double x0, double y0, double x1, double y1) {
        int steps = (int) Math.ceil(Math.hypot(x1 - x0, y1 - y0) * 4) + 1;
        for (int s = 0; s <= steps; s++) {
            double x = x0 + (x1 - x0) * s / steps;
            double y = y0 + (y1 - y0) * s / steps;
            for (int py = (int) y - 2; py <= (int) y + 2; py++) {
                for (int px = (int) x - 2; px <= (int) x + 2; px++) {
                    if (px < 0 || py < 0 || px >= SIZE || py >= SIZE) {
                        continue;
                    }
                    double d = Math.hypot(px - x, py - y);
                    float ink = (float) Math.max(0, Math.min(1, 1.75 - d));
                    int i = at + py * SIZE + px;
                    img[i] = Math.max(img[i], ink);
                }
            }
        }
    }

    /** Image {@code index} of a batch as ASCII art. */
    static String ascii(Tensor batch, int index) {
        StringBuilder sb = new StringBuilder();
        Tensor img = batch.select(0, index).select(0, 0);
        float[] v = img.toFloatArray();
        String shades = " .:-=+*#%@";
        for (int y = 0; y < SIZE; y += 2) {
            sb.append("    ");
            for (int x = 0; x < SIZE; x++) {
                float p = Math.max(v[y * SIZE + x], v[(y + 1) * SIZE + x]);
                sb.append(shades.charAt(Math.min(shades.length() - 1, (int) (p * (shades.length() - 1)))));
            }
            sb.append('\n');
        }
        return sb.toString();
    }
}
