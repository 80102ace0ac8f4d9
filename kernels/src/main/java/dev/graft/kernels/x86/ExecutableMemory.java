package dev.graft.kernels.x86;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * Executable memory for generated code, from libc through the FFM API (Linux x86-64), never writable and executable
 * at once:
 * <ol>
 *   <li>{@code mmap} an anonymous private region read-write, copy the code in, {@code mprotect} it read-execute;</li>
 *   <li>where the kernel refuses that (a hardened kernel with {@code prctl(PR_SET_MDWE)} answers EACCES), create a
 *       {@code memfd}, map it read-write to fill it, map it a second time read-execute, and drop the writable
 *       view.</li>
 * </ol>
 * Regions are never unmapped: each holds a kernel generated once for one shape family and used for the JVM's life.
 * Every failure is an {@link UnavailableException} naming the call and its errno, so the caller can fall back.
 */
public final class ExecutableMemory {

    /** How to obtain the executable mapping (tests force each in turn). */
    public enum Strategy { MPROTECT, MEMFD }

    /** Why executable memory could not be had; the message names the libc call and errno. */
    public static final class UnavailableException extends Exception {
        UnavailableException(String message) {
            super(message);
        }

        UnavailableException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private static final int PROT_READ = 1;
    private static final int PROT_WRITE = 2;
    private static final int PROT_EXEC = 4;
    private static final int MAP_SHARED = 1;
    private static final int MAP_PRIVATE = 2;
    private static final int MAP_ANONYMOUS = 0x20;
    private static final int MFD_CLOEXEC = 1;
    private static final long PAGE = 4096;

    private ExecutableMemory() {
    }

    /** True when this module may call native code (the JVM was started with {@code --enable-native-access}). */
    public static boolean nativeAccessEnabled() {
        return ExecutableMemory.class.getModule().isNativeAccessEnabled();
    }

    /** {@link #install(byte[], Strategy)} trying {@code mprotect} first, then a memfd. */
    public static MemorySegment install(byte[] code) throws UnavailableException {
        try {
            return install(code, Strategy.MPROTECT);
        } catch (UnavailableException refused) {
            try {
                return install(code, Strategy.MEMFD);
            } catch (UnavailableException alsoRefused) {
                alsoRefused.addSuppressed(refused);
                throw new UnavailableException(refused.getMessage() + "; " + alsoRefused.getMessage(), alsoRefused);
            }
        }
    }

    /** Copies {@code code} into a fresh read-execute mapping; returns the code's address (a zero-length segment). */
    public static MemorySegment install(byte[] code, Strategy strategy) throws UnavailableException {
        if (code.length == 0) {
            throw new IllegalArgumentException("no code to install");
        }
        if (!nativeAccessEnabled()) {
            throw new UnavailableException("native access is not enabled for " + ExecutableMemory.class.getModule()
                    + " (start the JVM with --enable-native-access=ALL-UNNAMED, or =dev.graft.kernels on the module"
                    + " path)");
        }
        long length = (code.length + PAGE - 1) / PAGE * PAGE;
        return switch (strategy) {
            case MPROTECT -> viaMprotect(code, length);
            case MEMFD -> viaMemfd(code, length);
        };
    }

    private static MemorySegment viaMprotect(byte[] code, long length) throws UnavailableException {
        MemorySegment region = map(MemorySegment.NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                -1);
        region.reinterpret(length).copyFrom(MemorySegment.ofArray(code));
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = call.allocate(Libc.STATE);
            int rc = (int) Libc.MPROTECT.invokeExact(state, region, length, PROT_READ | PROT_EXEC);
            if (rc != 0) {
                int errno = Libc.errno(state);
                unmap(region, length);
                throw new UnavailableException("mprotect(PROT_READ|PROT_EXEC) was refused (errno " + errno + ")");
            }
        } catch (UnavailableException e) {
            throw e;
        } catch (Throwable t) {
            throw new UnavailableException("mprotect failed: " + t, t);
        }
        return region;
    }

    private static MemorySegment viaMemfd(byte[] code, long length) throws UnavailableException {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = call.allocate(Libc.STATE);
            int fd = (int) Libc.MEMFD_CREATE.invokeExact(state, call.allocateFrom("graft-kernel"), MFD_CLOEXEC);
            if (fd < 0) {
                throw new UnavailableException("memfd_create failed (errno " + Libc.errno(state) + ")");
            }
            try {
                int rc = (int) Libc.FTRUNCATE.invokeExact(state, fd, length);
                if (rc != 0) {
                    throw new UnavailableException("ftruncate of the memfd failed (errno " + Libc.errno(state) + ")");
                }
                MemorySegment writable = map(MemorySegment.NULL, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd);
                writable.reinterpret(length).copyFrom(MemorySegment.ofArray(code));
                MemorySegment executable = map(MemorySegment.NULL, length, PROT_READ | PROT_EXEC, MAP_SHARED, fd);
                unmap(writable, length);
                return executable;
            } finally {
                int ignored = (int) Libc.CLOSE.invokeExact(state, fd);
            }
        } catch (UnavailableException e) {
            throw e;
        } catch (Throwable t) {
            throw new UnavailableException("memfd mapping failed: " + t, t);
        }
    }

    private static MemorySegment map(MemorySegment at, long length, int prot, int flags, int fd)
            throws UnavailableException {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = call.allocate(Libc.STATE);
            MemorySegment region = (MemorySegment) Libc.MMAP.invokeExact(state, at, length, prot, flags, fd, 0L);
            if (region.address() == -1L || region.address() == 0L) {
                throw new UnavailableException("mmap(prot=" + prot + ", flags=0x" + Integer.toHexString(flags)
                        + ") failed (errno " + Libc.errno(state) + ")");
            }
            return region;
        } catch (UnavailableException e) {
            throw e;
        } catch (Throwable t) {
            throw new UnavailableException("mmap failed: " + t, t);
        }
    }

    private static void unmap(MemorySegment region, long length) {
        try (Arena call = Arena.ofConfined()) {
            int ignored = (int) Libc.MUNMAP.invokeExact(call.allocate(Libc.STATE), region, length);
        } catch (Throwable ignored) {
            // Only a leaked mapping: nothing runs from it.
        }
    }

    /** The libc functions, looked up only once native access is known to be enabled. */
    private static final class Libc {
        static final Linker LINKER = Linker.nativeLinker();
        static final StructLayout STATE = Linker.Option.captureStateLayout();
        static final VarHandle ERRNO = STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
        static final Linker.Option CAPTURE = Linker.Option.captureCallState("errno");
        static final MethodHandle MMAP = function("mmap",
                FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
        static final MethodHandle MPROTECT = function("mprotect",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
        static final MethodHandle MUNMAP = function("munmap", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
        static final MethodHandle MEMFD_CREATE = function("memfd_create",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        static final MethodHandle FTRUNCATE = function("ftruncate", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG));
        static final MethodHandle CLOSE = function("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));

        private static MethodHandle function(String name, FunctionDescriptor descriptor) {
            SymbolLookup libc = LINKER.defaultLookup();
            MemorySegment address = libc.find(name).orElseThrow(
                    () -> new UnsatisfiedLinkError("libc has no " + name));
            return LINKER.downcallHandle(address, descriptor, CAPTURE);
        }

        static int errno(MemorySegment state) {
            return (int) ERRNO.get(state, 0L);
        }
    }
}
