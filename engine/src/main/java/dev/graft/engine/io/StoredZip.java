package dev.graft.engine.io;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;

/**
 * A zip archive of uncompressed (STORED) members in one fixed layout, written and read byte for byte: local header,
 * data, ... , central directory, end record; no extra fields, no comments, no data descriptors, the 1980-01-01
 * timestamp (so the same model gives the same file). Any zip tool can list and extract it ({@code unzip -p}).
 *
 * <p>Reading is strict by construction: the reader takes each member's name, CRC-32 and size from its local header,
 * checks the size against the bytes present before taking any, then <em>re-encodes</em> the headers, the central
 * directory and the end record the writer would have produced and requires the file to equal them byte for byte.
 * So every byte of the file is either fixed structure that was compared or member data covered by its CRC-32; a
 * flipped byte anywhere is refused (the CRC is checked by {@link Member#crcMatches}, which the caller reports, so it
 * can name what the damaged bytes held). No decompression happens, so no member can inflate past the file size.
 */
public final class StoredZip {
    private static final int LOCAL = 0x04034b50;
    private static final int CENTRAL = 0x02014b50;
    private static final int END = 0x06054b50;
    private static final int LOCAL_SIZE = 30;
    private static final int CENTRAL_SIZE = 46;
    private static final int END_SIZE = 22;
    private static final short VERSION = 20;          // 2.0: the first version with STORED and folders
    private static final short UTF8_NAMES = 0x0800;   // general purpose flag bit 11
    private static final short DOS_DATE_1980 = 0x21;  // 1980-01-01, time 00:00:00
    private static final long MAX_MEMBER = 0xFFFF_FFFEL; // beyond needs zip64, which this format does not use

    private StoredZip() {
    }

    /** One member as found in the archive: where its data are, and the CRC-32 its header declares. */
    public record Member(String name, int offset, int length, long declaredCrc, long actualCrc) {
        public boolean crcMatches() {
            return declaredCrc == actualCrc;
        }

        /** A copy of the member's bytes out of the archive. */
        public byte[] bytes(byte[] archive) {
            return Arrays.copyOfRange(archive, offset, offset + length);
        }
    }

    /** The archive of {@code members} (name to bytes, in order). */
    public static byte[] write(Map<String, byte[]> members) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        List<Member> written = new ArrayList<>();
        for (Map.Entry<String, byte[]> e : members.entrySet()) {
            byte[] data = e.getValue();
            if (data.length > MAX_MEMBER) {
                throw new IllegalArgumentException("member " + e.getKey() + " is too large for a zip without zip64");
            }
            CRC32 crc = new CRC32();
            crc.update(data);
            byte[] header = localHeader(e.getKey(), crc.getValue(), data.length);
            written.add(new Member(e.getKey(), out.size() + header.length, data.length, crc.getValue(),
                    crc.getValue()));
            out.writeBytes(header);
            out.writeBytes(data);
        }
        out.writeBytes(trailer(written, out.size()));
        return out.toByteArray();
    }

    /**
     * The members of an archive written by {@link #write}, which must hold exactly {@code names} in this order.
     * Structure problems are a {@link FormatException} naming the byte offset; a CRC mismatch is left to the caller
     * ({@link Member#crcMatches}).
     */
    public static List<Member> read(byte[] bytes, Path file, List<String> names) {
        ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        List<Member> members = new ArrayList<>();
        int at = 0;
        for (String name : names) {
            if (bytes.length - at < LOCAL_SIZE) {
                throw new FormatException(file, at, "the archive ends where the local header of " + name
                        + " should be (truncated?)");
            }
            if (buf.getInt(at) != LOCAL) {
                throw new FormatException(file, at, "no zip local header where " + name + " should begin");
            }
            long crc = buf.getInt(at + 14) & 0xFFFF_FFFFL;
            long size = buf.getInt(at + 22) & 0xFFFF_FFFFL;
            int nameLength = buf.getShort(at + 26) & 0xFFFF;
            long dataStart = (long) at + LOCAL_SIZE + nameLength;
            if (size > bytes.length - dataStart) {
                throw new FormatException(file, at + 22L, "member " + name + " declares " + size + " bytes but only "
                        + Math.max(0, bytes.length - dataStart) + " follow (truncated?)");
            }
            byte[] expected = localHeader(name, crc, size);
            int differs = firstDifference(bytes, at, expected);
            if (differs >= 0) {
                throw new FormatException(file, at + differs, "the local header of " + name + " is not the one this"
                        + " format writes (damaged, or not written by Graft)");
            }
            CRC32 actual = new CRC32();
            actual.update(bytes, (int) dataStart, (int) size);
            members.add(new Member(name, (int) dataStart, (int) size, crc, actual.getValue()));
            at = (int) (dataStart + size);
        }
        byte[] trailer = trailer(members, at);
        if (bytes.length - at != trailer.length) {
            throw new FormatException(file, at, "the central directory and end record take " + (bytes.length - at)
                    + " bytes; the members' take exactly " + trailer.length + (bytes.length - at < trailer.length
                    ? " (truncated?)" : " (extra bytes or members)"));
        }
        int differs = firstDifference(bytes, at, trailer);
        if (differs >= 0) {
            throw new FormatException(file, at + differs, "the zip central directory does not match the members"
                    + " (damaged)");
        }
        return members;
    }

    /** Whether {@code bytes} start like a zip archive at all. */
    public static boolean looksLikeZip(byte[] bytes) {
        return bytes.length >= 4 && ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getInt(0) == LOCAL;
    }

    // ---------------------------------------------------------------- the fixed layout

    private static byte[] localHeader(String name, long crc, long size) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(LOCAL_SIZE + n.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(LOCAL).putShort(VERSION).putShort(UTF8_NAMES).putShort((short) 0)   // method 0: STORED
                .putShort((short) 0).putShort(DOS_DATE_1980)
                .putInt((int) crc).putInt((int) size).putInt((int) size)
                .putShort((short) n.length).putShort((short) 0).put(n);
        return b.array();
    }

    private static byte[] trailer(List<Member> members, int centralStart) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Member m : members) {
            byte[] n = m.name().getBytes(StandardCharsets.UTF_8);
            ByteBuffer b = ByteBuffer.allocate(CENTRAL_SIZE + n.length).order(ByteOrder.LITTLE_ENDIAN);
            b.putInt(CENTRAL).putShort(VERSION).putShort(VERSION).putShort(UTF8_NAMES).putShort((short) 0)
                    .putShort((short) 0).putShort(DOS_DATE_1980)
                    .putInt((int) m.declaredCrc()).putInt(m.length()).putInt(m.length())
                    .putShort((short) n.length).putShort((short) 0).putShort((short) 0)   // extra, comment
                    .putShort((short) 0).putShort((short) 0).putInt(0)                    // disk, attributes
                    .putInt(m.offset() - LOCAL_SIZE - n.length).put(n);
            out.writeBytes(b.array());
        }
        int centralSize = out.size();
        ByteBuffer end = ByteBuffer.allocate(END_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        end.putInt(END).putShort((short) 0).putShort((short) 0)
                .putShort((short) members.size()).putShort((short) members.size())
                .putInt(centralSize).putInt(centralStart).putShort((short) 0);
        out.writeBytes(end.array());
        return out.toByteArray();
    }

    /** The index in {@code expected} of the first byte that differs from {@code bytes[at..]}, or -1. */
    private static int firstDifference(byte[] bytes, int at, byte[] expected) {
        int n = Math.min(expected.length, bytes.length - at);
        int i = Arrays.mismatch(bytes, at, at + n, expected, 0, n);
        return i >= 0 ? i : n < expected.length ? n : -1;
    }

    /** Members by name. */
    public static Map<String, Member> byName(List<Member> members) {
        Map<String, Member> m = new LinkedHashMap<>();
        members.forEach(x -> m.put(x.name(), x));
        return m;
    }
}
