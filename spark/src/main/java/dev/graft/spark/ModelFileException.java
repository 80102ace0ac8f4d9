package dev.graft.spark;

import dev.graft.engine.io.FormatException;

import java.io.Serial;
import java.io.Serializable;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;

/**
 * Graft's typed error for a file that an executor could not read ({@link FormatException}: no such file, not a
 * {@code .graft} archive, a damaged member...), in a form that survives the trip to the driver: a model or
 * tokenizer file, or a photo a detector was given.
 *
 * <p>Why a subclass: Spark sends a failed task's exception to the driver with Java serialization, and a
 * {@code FormatException} holds a {@link Path}, which is not serializable; Spark would then drop the exception and
 * keep only its text. This one travels as plain strings ({@link #writeReplace}) and is rebuilt on the driver as a
 * {@code ModelFileException}, so {@code catch (FormatException e)} and {@code e.file()} work on the driver, where
 * the job's {@code SparkException} carries it as its cause ({@link SparkErrors#graftCause}).
 */
public final class ModelFileException extends FormatException {
    @Serial
    private static final long serialVersionUID = 1L;

    private final String host;

    /** Wraps what Graft's reader threw on this JVM, naming the host it ran on. */
    public ModelFileException(FormatException original) {
        super(original.file(), original.offset(), detail(original) + " (on " + localHost() + ")", original);
        this.host = localHost();
    }

    private ModelFileException(Path file, long offset, String messageWithHost, String host) {
        super(file, offset, messageWithHost);
        this.host = host;
    }

    /** The host whose JVM tried to read the file. */
    public String host() {
        return host;
    }

    /** The message without the "file at byte N: " prefix that {@link FormatException} puts in front. */
    private static String detail(FormatException e) {
        String prefix = (e.file() == null ? "<memory>" : e.file().toString())
                + (e.offset() >= 0 ? " at byte " + e.offset() : "") + ": ";
        String m = String.valueOf(e.getMessage());
        return m.startsWith(prefix) ? m.substring(prefix.length()) : m;
    }

    private static String localHost() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            return "unknown host";
        }
    }

    @Serial
    private Object writeReplace() {
        return new Form(file() == null ? null : file().toString(), offset(), detail(this), host, getStackTrace());
    }

    /** What is sent: strings, the offset and the stack trace. */
    private record Form(String file, long offset, String detail, String host, StackTraceElement[] stack)
            implements Serializable {
        @Serial
        private Object readResolve() {
            ModelFileException e = new ModelFileException(file == null ? null : Path.of(file), offset, detail, host);
            e.setStackTrace(stack);
            return e;
        }
    }
}
