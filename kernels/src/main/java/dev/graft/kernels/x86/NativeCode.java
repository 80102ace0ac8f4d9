package dev.graft.kernels.x86;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * Generated machine code installed in executable memory, callable as a downcall handle (System V AMD64 calling
 * convention, which the FFM linker follows on Linux). The code's listing is kept for error messages and dumps.
 *
 * @param name       what the code does, for logs
 * @param address    where it starts (read-execute memory that is never unmapped)
 * @param size       bytes of machine code
 */
public record NativeCode(String name, MemorySegment address, int size) {

    /** Assembles, installs, and returns the code (for {@link #handle}). */
    public static NativeCode install(String name, X86Assembler asm) throws ExecutableMemory.UnavailableException {
        byte[] bytes = asm.toBytes();
        return new NativeCode(name, ExecutableMemory.install(bytes), bytes.length);
    }

    /**
     * A downcall handle for the code. {@code critical} calls skip the thread-state transition and may take heap
     * arrays ({@code MemorySegment.ofArray}) as pointer arguments; the JVM cannot reach a safepoint while one runs,
     * so each must be short (the kernels keep a call to about a millisecond of work).
     */
    public MethodHandle handle(FunctionDescriptor descriptor, boolean critical) {
        Linker linker = Linker.nativeLinker();
        return critical ? linker.downcallHandle(address, descriptor, Linker.Option.critical(true))
                : linker.downcallHandle(address, descriptor);
    }
}
