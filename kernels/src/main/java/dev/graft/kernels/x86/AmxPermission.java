package dev.graft.kernels.x86;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * Linux hands AMX tile data (8 KiB of register state per thread) to a process only on request: before the first
 * tile instruction the process calls {@code arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)}; without it a tile
 * load is SIGILL, which kills the JVM. The grant holds for every thread of the process, now and later (Linux 5.16
 * and newer). Here through libc's {@code syscall} from the FFM API, then read back with
 * {@code ARCH_GET_XCOMP_PERM} so the caller knows the bit is really set.
 */
public final class AmxPermission {

    private static final long SYS_ARCH_PRCTL = 158;
    private static final long ARCH_GET_XCOMP_PERM = 0x1022;
    private static final long ARCH_REQ_XCOMP_PERM = 0x1023;
    private static final int XFEATURE_XTILEDATA = 18;

    private static String refusal;
    private static boolean granted;

    private AmxPermission() {
    }

    /**
     * Asks once per JVM; returns null when tile data is granted, else why not (the errno and what it means).
     * Needs native access; the caller has checked it.
     */
    public static synchronized String request() {
        if (granted) {
            return null;
        }
        if (refusal != null) {
            return refusal;
        }
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = call.allocate(Libc.STATE);
            long rc = (long) Libc.SYSCALL.invokeExact(state, SYS_ARCH_PRCTL, ARCH_REQ_XCOMP_PERM,
                    (long) XFEATURE_XTILEDATA);
            if (rc != 0) {
                int errno = (int) Libc.ERRNO.get(state, 0L);
                refusal = "arch_prctl(ARCH_REQ_XCOMP_PERM, XTILEDATA) was refused (errno " + errno
                        + (errno == 22 ? ": this Linux kernel predates 5.16 or does not offer AMX" : "")
                        + (errno == 28 ? ": a signal stack is too small for the tile state" : "") + ")";
                return refusal;
            }
            MemorySegment mask = call.allocate(JAVA_LONG);
            rc = (long) Libc.SYSCALL.invokeExact(state, SYS_ARCH_PRCTL, ARCH_GET_XCOMP_PERM, mask.address());
            if (rc != 0 || (mask.get(JAVA_LONG, 0) >>> XFEATURE_XTILEDATA & 1) == 0) {
                refusal = "arch_prctl(ARCH_GET_XCOMP_PERM) does not report tile data after the request";
                return refusal;
            }
            granted = true;
            return null;
        } catch (Throwable t) {
            refusal = "arch_prctl through libc's syscall failed: " + t;
            return refusal;
        }
    }

    /** libc's variadic {@code long syscall(long number, ...)} with two long arguments, errno captured. */
    private static final class Libc {
        static final Linker LINKER = Linker.nativeLinker();
        static final StructLayout STATE = Linker.Option.captureStateLayout();
        static final VarHandle ERRNO = STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
        static final MethodHandle SYSCALL = LINKER.downcallHandle(
                LINKER.defaultLookup().find("syscall").orElseThrow(() -> new UnsatisfiedLinkError("libc has no syscall")),
                FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG),
                Linker.Option.firstVariadicArg(1), Linker.Option.captureCallState("errno"));
    }
}
