package dev.graft.formats.onnx;

import dev.graft.engine.io.FormatException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * A bounds-checked reader of the protobuf wire format over one region {@code [position, limit)} of a buffer. Every
 * length is checked against the bytes that remain in the region before anything is allocated, so a truncated or
 * corrupted file gives a {@link FormatException} naming the byte offset and the field, never an exception from deep
 * inside, an {@code OutOfMemoryError} or a hang (every read consumes at least one byte).
 *
 * <p>Field names in messages are written {@code Message.field}, e.g. {@code TensorProto.raw_data}.
 */
final class ProtoReader {
    static final int VARINT = 0;
    static final int FIXED64 = 1;
    static final int LENGTH_DELIMITED = 2;
    static final int FIXED32 = 5;

    private final ByteBuffer buffer;
    private final Path file;
    private final int limit;
    private int position;

    /** A reader over the whole of {@code buffer} (its position to its limit). */
    ProtoReader(ByteBuffer buffer, Path file) {
        this(buffer.duplicate().order(ByteOrder.LITTLE_ENDIAN), file, buffer.position(), buffer.limit());
    }

    private ProtoReader(ByteBuffer buffer, Path file, int position, int limit) {
        this.buffer = buffer;
        this.file = file;
        this.position = position;
        this.limit = limit;
    }

    boolean hasMore() {
        return position < limit;
    }

    /** The absolute byte offset of the next read. */
    int position() {
        return position;
    }

    int remaining() {
        return limit - position;
    }

    Path file() {
        return file;
    }

    FormatException error(long offset, String message) {
        return new FormatException(file, offset, message);
    }

    /** Reads a field key; returns {@code fieldNumber << 3 | wireType} after checking both. */
    int readTag(String message) {
        int at = position;
        long key = readVarint(message + " field key");
        int field = (int) (key >>> 3);
        int wire = (int) (key & 7);
        if (key >>> 3 > 0x1FFFFFFFL || field == 0) {
            throw error(at, message + ": invalid field number " + (key >>> 3));
        }
        if (wire != VARINT && wire != FIXED64 && wire != LENGTH_DELIMITED && wire != FIXED32) {
            throw error(at, message + " field " + field + ": unsupported wire type " + wire);
        }
        return (int) key;
    }

    static int fieldOf(int tag) {
        return tag >>> 3;
    }

    static int wireOf(int tag) {
        return tag & 7;
    }

    /** Checks that a field arrived with the wire type its schema gives it. */
    void expectWire(int tag, int wire, String field) {
        if (wireOf(tag) != wire) {
            throw error(position, field + ": wire type " + wireOf(tag) + " where " + wire + " was expected");
        }
    }

    long readVarint(String field) {
        int at = position;
        long result = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (position >= limit) {
                throw error(at, field + ": varint truncated (" + (limit - at) + " bytes remain)");
            }
            byte b = buffer.get(position++);
            result |= (long) (b & 0x7F) << shift;
            if (b >= 0) {
                return result;
            }
        }
        throw error(at, field + ": varint longer than 10 bytes");
    }

    /** An int32 field (negative values arrive as 10-byte varints; the low 32 bits are the value). */
    int readInt32(String field) {
        return (int) readVarint(field);
    }

    float readFloat(String field) {
        need(4, field);
        float v = buffer.getFloat(position);
        position += 4;
        return v;
    }

    double readDouble(String field) {
        need(8, field);
        double v = buffer.getDouble(position);
        position += 8;
        return v;
    }

    /** The length of a length-delimited field, checked against the remaining bytes of this region. */
    int readLength(String field) {
        int at = position;
        long length = readVarint(field + " length");
        if (length < 0 || length > remaining()) {
            throw error(at, field + " length " + Long.toUnsignedString(length) + " exceeds remaining " + remaining()
                    + " bytes");
        }
        return (int) length;
    }

    /** A length-delimited field as a read-only little-endian view of the file bytes (no copy). */
    ByteBuffer readBytes(String field) {
        int length = readLength(field);
        ByteBuffer view = buffer.slice(position, length).asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
        position += length;
        return view;
    }

    String readString(String field) {
        int at = position;
        ByteBuffer bytes = readBytes(field);
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(bytes).toString();
        } catch (CharacterCodingException e) {
            throw error(at, field + ": not valid UTF-8");
        }
    }

    /** A reader over an embedded message; this reader moves past it. */
    ProtoReader readMessage(String field) {
        int length = readLength(field);
        ProtoReader sub = new ProtoReader(buffer, file, position, position + length);
        position += length;
        return sub;
    }

    /** Skips a field of an unknown or ignored number. */
    void skip(int tag, String message) {
        String field = message + " field " + fieldOf(tag);
        switch (wireOf(tag)) {
            case VARINT -> readVarint(field);
            case FIXED64 -> skipBytes(8, field);
            case FIXED32 -> skipBytes(4, field);
            case LENGTH_DELIMITED -> skipBytes(readLength(field), field);
            default -> throw error(position, field + ": unsupported wire type " + wireOf(tag));
        }
    }

    private void skipBytes(int n, String field) {
        need(n, field);
        position += n;
    }

    private void need(int n, String field) {
        if (n > remaining()) {
            throw error(position, field + ": needs " + n + " bytes but " + remaining() + " remain");
        }
    }

    // ---------------------------------------------------------------- repeated scalars (packed or not)

    /** Appends one or more varints (a packed run, or a single unpacked element) to {@code out}. */
    void readVarints(int tag, String field, LongList out) {
        if (wireOf(tag) == LENGTH_DELIMITED) {
            ProtoReader packed = readMessage(field);
            while (packed.hasMore()) {
                out.add(packed.readVarint(field));
            }
        } else {
            expectWire(tag, VARINT, field);
            out.add(readVarint(field));
        }
    }

    /** Appends one or more 32-bit floats (packed, or one unpacked element) as raw little-endian bits. */
    void readFixed32s(int tag, String field, ByteSink out) {
        if (wireOf(tag) == LENGTH_DELIMITED) {
            int at = position;
            ByteBuffer packed = readBytes(field);
            if (packed.remaining() % 4 != 0) {
                throw error(at, field + ": packed length " + packed.remaining() + " is not a multiple of 4");
            }
            out.add(packed);
        } else {
            expectWire(tag, FIXED32, field);
            need(4, field);
            out.add(buffer.slice(position, 4));
            position += 4;
        }
    }

    /** Appends one or more 64-bit values (packed, or one unpacked element) as raw little-endian bytes. */
    void readFixed64s(int tag, String field, ByteSink out) {
        if (wireOf(tag) == LENGTH_DELIMITED) {
            int at = position;
            ByteBuffer packed = readBytes(field);
            if (packed.remaining() % 8 != 0) {
                throw error(at, field + ": packed length " + packed.remaining() + " is not a multiple of 8");
            }
            out.add(packed);
        } else {
            expectWire(tag, FIXED64, field);
            need(8, field);
            out.add(buffer.slice(position, 8));
            position += 8;
        }
    }

    /** A growable list of longs (repeated varint fields); it can only grow as fast as bytes are read. */
    static final class LongList {
        private long[] values = new long[8];
        private int size;

        void add(long v) {
            if (size == values.length) {
                values = java.util.Arrays.copyOf(values, size * 2);
            }
            values[size++] = v;
        }

        int size() {
            return size;
        }

        long[] toArray() {
            return java.util.Arrays.copyOf(values, size);
        }
    }

    /** Collects raw little-endian bytes of repeated fixed-width fields. */
    static final class ByteSink {
        private final java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();

        void add(ByteBuffer bytes) {
            ByteBuffer b = bytes.duplicate();
            byte[] chunk = new byte[b.remaining()];
            b.get(chunk);
            out.writeBytes(chunk);
        }

        int size() {
            return out.size();
        }

        byte[] toArray() {
            return out.toByteArray();
        }
    }
}
