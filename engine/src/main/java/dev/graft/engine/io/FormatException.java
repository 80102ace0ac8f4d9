package dev.graft.engine.io;

import java.nio.file.Path;

/**
 * A model or data file could not be read: names the file, the byte offset (when known) and the field or entry that
 * was wrong, so a corrupted or truncated file is reported precisely instead of failing deep inside a reader.
 */
public class FormatException extends RuntimeException {
    private final Path file;
    private final long offset;

    /** @param offset the byte offset of the problem, or -1 when it is not about one place */
    public FormatException(Path file, long offset, String message) {
        super(format(file, offset, message));
        this.file = file;
        this.offset = offset;
    }

    public FormatException(Path file, long offset, String message, Throwable cause) {
        super(format(file, offset, message), cause);
        this.file = file;
        this.offset = offset;
    }

    public Path file() {
        return file;
    }

    /** Byte offset of the problem, or -1. */
    public long offset() {
        return offset;
    }

    private static String format(Path file, long offset, String message) {
        return (file == null ? "<memory>" : file.toString()) + (offset >= 0 ? " at byte " + offset : "") + ": "
                + message;
    }
}
