package dev.graft.engine.io;

import java.nio.file.Path;

/**
 * The sizes every reader checks before it allocates: a declared size larger than the bytes present is refused
 * outright, and whatever a reader decompresses or decodes must also stay under these caps, so a small hostile file
 * cannot make Graft allocate gigabytes. Set with system properties (for example
 * {@code GRAFT_JVM_OPTS=-Dgraft.limit.bytes=4g}); the defaults fit the reference models and data sets many times.
 * <ul>
 *   <li>{@code graft.limit.bytes}: bytes decompressed from one stream or allocated for one declared block of data
 *       that is not simply the bytes of the file (default 256 MiB);</li>
 *   <li>{@code graft.limit.pixels}: pixels of one decoded image, checked from its header (default 16 Mpixel, for example 4096 x 4096);</li>
 *   <li>{@code graft.limit.elements}: elements of one tensor built from a file (default 2^28).</li>
 * </ul>
 */
public final class Limits {
    private Limits() {
    }

    public static long maxBytes() {
        return size("graft.limit.bytes", 256L << 20);
    }

    public static long maxPixels() {
        return size("graft.limit.pixels", 16L << 20);
    }

    public static long maxElements() {
        return size("graft.limit.elements", 1L << 28);
    }

    /** Fails when {@code count} (bytes, pixels, elements: {@code what}) exceeds {@code max}. */
    public static void check(long count, long max, String what, String property, Path file, long offset) {
        if (count < 0 || count > max) {
            throw new FormatException(file, offset, what + " " + (count < 0 ? "overflows" : count + " exceeds the limit "
                    + max) + " (-D" + property + " raises it)");
        }
    }

    /** Checks a declared byte count against {@link #maxBytes()}. */
    public static void checkBytes(long count, String what, Path file, long offset) {
        check(count, maxBytes(), what, "graft.limit.bytes", file, offset);
    }

    /**
     * The element count of {@code shape}, with overflow and negative sizes refused and the product checked against
     * {@link #maxElements()}; {@code what} names the tensor in the message.
     */
    public static int elements(long[] shape, String what, Path file, long offset) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new FormatException(file, offset, what + ": negative dimension " + d + " in shape "
                        + java.util.Arrays.toString(shape));
            }
            if (d != 0 && n > Long.MAX_VALUE / d) {
                throw new FormatException(file, offset, what + ": shape " + java.util.Arrays.toString(shape)
                        + " overflows");
            }
            n *= d;
        }
        check(n, Math.min(maxElements(), Integer.MAX_VALUE - 16), what + ": elements of shape "
                + java.util.Arrays.toString(shape), "graft.limit.elements", file, offset);
        return (int) n;
    }

    /**
     * The gunzipped bytes of {@code gz}, at most {@link #maxBytes()} of them (concatenated members included): a
     * stream that inflates further is refused once it passes the cap, before more is allocated.
     */
    public static byte[] gunzip(byte[] gz, Path file, String what) {
        long max = Math.min(maxBytes(), Integer.MAX_VALUE - 64);
        try (java.io.InputStream in = new java.util.zip.GZIPInputStream(new java.io.ByteArrayInputStream(gz))) {
            byte[] out = in.readNBytes((int) max + 1);
            if (out.length > max) {
                throw new FormatException(file, -1, what + " inflates to more than " + max
                        + " bytes (-Dgraft.limit.bytes raises the limit)");
            }
            return out;
        } catch (java.io.EOFException e) {
            throw new FormatException(file, -1, "truncated gzip stream", e);
        } catch (java.io.IOException e) {
            throw new FormatException(file, -1, "damaged gzip stream: " + e.getMessage(), e);
        }
    }

    /**
     * Reads exactly {@code n} bytes from {@code in}, growing the buffer only as bytes arrive, so a declared size
     * larger than the stream costs no more memory than the stream holds. Fewer bytes: a FormatException at
     * {@code offset} (where the data began).
     */
    public static byte[] readExactly(java.io.InputStream in, long n, String what, Path file, long offset)
            throws java.io.IOException {
        checkBytes(n, what, file, offset);
        byte[] buf = new byte[(int) Math.min(n, 1 << 20)];
        int got = 0;
        while (got < n) {
            if (got == buf.length) {
                buf = java.util.Arrays.copyOf(buf, (int) Math.min(n, 2L * buf.length));
            }
            int r = in.read(buf, got, buf.length - got);
            if (r < 0) {
                throw new FormatException(file, offset + got, what + ": " + n + " bytes declared, only " + got
                        + " present (truncated?)");
            }
            got += r;
        }
        return buf;
    }

    /** Parses sizes such as {@code 1073741824}, {@code 512m} or {@code 4g}. */
    static long size(String property, long defaultValue) {
        String v = System.getProperty(property);
        if (v == null || v.isBlank()) {
            return defaultValue;
        }
        String t = v.strip().toLowerCase(java.util.Locale.ROOT);
        long unit = switch (t.charAt(t.length() - 1)) {
            case 'k' -> 1L << 10;
            case 'm' -> 1L << 20;
            case 'g' -> 1L << 30;
            default -> 1;
        };
        try {
            long n = Long.parseLong(unit == 1 ? t : t.substring(0, t.length() - 1));
            if (n <= 0 || n > Long.MAX_VALUE / unit) {
                throw new NumberFormatException();
            }
            return n * unit;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("-D" + property + "=" + v + " is not a size (such as 512m or 4g)");
        }
    }
}
