package dev.graft.formats.data;

import dev.graft.engine.io.FormatException;
import dev.graft.engine.io.Limits;
import dev.graft.ops.DType;
import dev.graft.ops.Tensor;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * Reads IDX files (the MNIST format), plain or gzip-compressed (detected by the gzip magic): two zero bytes, a type
 * byte (0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64), the number of dimensions, each dimension as a
 * big-endian int32, then the big-endian data in row-major order.
 *
 * <p>Tensors come back as uint8 (u8), int8 (i8), int32 (i16, i32) or float32 (f32, f64). {@code maxItems} reads
 * only the first items along dimension 0 (the first 100 test images without decoding all 10,000). Offsets in errors
 * are positions in the uncompressed stream.
 */
public final class IdxReader {
    private IdxReader() {
    }

    /** Reads the whole file. */
    public static Tensor read(Path file) {
        return read(file, Integer.MAX_VALUE);
    }

    /** Reads at most {@code maxItems} entries along dimension 0. */
    public static Tensor read(Path file, int maxItems) {
        try (InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
            return read(raw, file, maxItems);
        } catch (NoSuchFileException e) {
            throw new FormatException(file, -1, "file not found", e);
        } catch (IOException e) {
            throw new FormatException(file, -1, "cannot read: " + e.getMessage(), e);
        }
    }

    /** Reads from a stream (gzip or plain); {@code source} names it in errors and may be null. */
    public static Tensor read(InputStream in, Path source, int maxItems) {
        if (maxItems < 0) {
            throw new IllegalArgumentException("maxItems must be >= 0, got " + maxItems);
        }
        Counting counted;
        try {
            InputStream buffered = in.markSupported() ? in : new BufferedInputStream(in);
            buffered.mark(2);
            int b0 = buffered.read();
            int b1 = buffered.read();
            buffered.reset();
            InputStream body = b0 == 0x1f && b1 == 0x8b ? new GZIPInputStream(buffered, 1 << 16) : buffered;
            counted = new Counting(body);
        } catch (ZipException e) {
            throw new FormatException(source, 0, "corrupt gzip header: " + e.getMessage(), e);
        } catch (EOFException e) {
            throw new FormatException(source, 0, "truncated gzip header", e);
        } catch (IOException e) {
            throw new FormatException(source, 0, "cannot read: " + e.getMessage(), e);
        }
        DataInputStream data = new DataInputStream(counted);
        try {
            int zero0 = data.readUnsignedByte();
            int zero1 = data.readUnsignedByte();
            int type = data.readUnsignedByte();
            int rank = data.readUnsignedByte();
            if (zero0 != 0 || zero1 != 0) {
                throw new FormatException(source, 0, String.format("bad IDX magic %02x %02x (expected 00 00)", zero0,
                        zero1));
            }
            int width = switch (type) {
                case 0x08, 0x09 -> 1;
                case 0x0B -> 2;
                case 0x0C, 0x0D -> 4;
                case 0x0E -> 8;
                default -> throw new FormatException(source, 2, String.format("unknown IDX type byte 0x%02x", type));
            };
            if (rank == 0) {
                throw new FormatException(source, 3, "an IDX file needs at least one dimension");
            }
            int[] dims = new int[rank];
            for (int d = 0; d < rank; d++) {
                dims[d] = data.readInt();
                if (dims[d] < 0) {
                    throw new FormatException(source, 4 + 4L * d, "dimension " + d + " is negative: " + dims[d]);
                }
            }
            int[] shape = dims.clone();
            shape[0] = Math.min(dims[0], maxItems);
            long count = 1;
            for (int d : shape) {
                count *= d;
                if (count > Integer.MAX_VALUE / 8) {
                    throw new FormatException(source, 4, "shape " + Arrays.toString(dims) + " is too large");
                }
            }
            long dataStart = counted.count;
            // Grown as the data arrive (never more than the stream holds), and capped: a header declaring
            // gigabytes costs nothing until the bytes are there.
            byte[] bytes = Limits.readExactly(data, count * width, "shape " + Arrays.toString(dims)
                    + (shape[0] < dims[0] ? " (first " + shape[0] + " items)" : "") + " data", source, dataStart);
            if (shape[0] == dims[0]) {
                // Read to the end: a gzip stream checks its trailer (CRC, length) only there, and extra bytes
                // after the data mean the header does not describe this file.
                long end = counted.count;
                if (data.read() >= 0) {
                    throw new FormatException(source, end, "trailing bytes after the " + Arrays.toString(dims)
                            + " data");
                }
            }
            return toTensor(type, bytes, shape);
        } catch (EOFException e) {
            throw new FormatException(source, counted.count, "truncated IDX header", e);
        } catch (ZipException e) {
            throw new FormatException(source, counted.count, "corrupt gzip data: " + e.getMessage(), e);
        } catch (IOException e) {
            String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            throw new FormatException(source, counted.count, "cannot read (truncated or corrupt gzip?): " + message,
                    e);
        }
    }

    private static Tensor toTensor(int type, byte[] bytes, int[] shape) {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.BIG_ENDIAN);
        int n = switch (type) {
            case 0x08, 0x09 -> bytes.length;
            case 0x0B -> bytes.length / 2;
            case 0x0C, 0x0D -> bytes.length / 4;
            default -> bytes.length / 8;
        };
        return switch (type) {
            case 0x08 -> Tensor.ofBytes(DType.UINT8, bytes, shape);
            case 0x09 -> Tensor.ofBytes(DType.INT8, bytes, shape);
            case 0x0B, 0x0C -> {
                int[] v = new int[n];
                for (int i = 0; i < n; i++) {
                    v[i] = type == 0x0B ? b.getShort(2 * i) : b.getInt(4 * i);
                }
                yield Tensor.ofInts(v, shape);
            }
            default -> {
                float[] v = new float[n];
                for (int i = 0; i < n; i++) {
                    v[i] = type == 0x0D ? b.getFloat(4 * i) : (float) b.getDouble(8 * i);
                }
                yield Tensor.wrap(v, shape);
            }
        };
    }

    /**
     * MNIST images as a float32 [N,1,H,W] tensor scaled to 0..1 (from a u8 [N,H,W] IDX file), at most
     * {@code maxItems} of them.
     */
    public static Tensor readImages(Path file, int maxItems) {
        Tensor raw = read(file, maxItems);
        if (raw.dtype() != DType.UINT8 || raw.dim() != 3) {
            throw new FormatException(file, 2, "expected u8 images [N, H, W], got " + raw.dtype() + " "
                    + Arrays.toString(raw.shape()));
        }
        return raw.to(DType.FLOAT32).div(255f).unsqueeze(1);
    }

    /** MNIST labels as an int64 [N] tensor (from a u8 [N] IDX file), at most {@code maxItems}. */
    public static Tensor readLabels(Path file, int maxItems) {
        Tensor raw = read(file, maxItems);
        if (raw.dtype() != DType.UINT8 || raw.dim() != 1) {
            throw new FormatException(file, 2, "expected u8 labels [N], got " + raw.dtype() + " "
                    + Arrays.toString(raw.shape()));
        }
        return raw.to(DType.INT64);
    }

    /** Counts bytes read from the (uncompressed) stream, for error offsets. */
    private static final class Counting extends java.io.FilterInputStream {
        long count;

        Counting(InputStream in) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) {
                count++;
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            if (n > 0) {
                count += n;
            }
            return n;
        }
    }
}
