package dev.graft.kernels.x86;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Both ways of getting executable memory run code, and neither leaves a mapping writable and executable. */
class ExecutableMemoryTest {

    @ParameterizedTest
    @EnumSource(ExecutableMemory.Strategy.class)
    void installedCodeRunsFromReadExecuteMemory(ExecutableMemory.Strategy strategy) throws Throwable {
        X86Assembler a = new X86Assembler();
        a.mov(Gpr.RAX, 0x1234_5678_9abcL);
        a.ret();
        MemorySegment code = ExecutableMemory.install(a.toBytes(), strategy);
        MethodHandle f = new NativeCode("constant", code, a.size()).handle(FunctionDescriptor.of(JAVA_LONG), true);
        assertEquals(0x1234_5678_9abcL, (long) f.invokeExact());

        String perms = permissionsOf(code.address());
        assertTrue(perms.startsWith("r-x"), "mapping of the code is " + perms);
        for (String line : maps()) {
            String p = line.split("\\s+")[1];
            assertFalse(p.startsWith("rwx") && line.contains("graft-kernel"), "writable and executable: " + line);
        }
    }

    private static List<String> maps() throws IOException {
        return Files.readAllLines(Path.of("/proc/self/maps"));
    }

    private static String permissionsOf(long address) throws IOException {
        for (String line : maps()) {
            String[] range = line.split("\\s+")[0].split("-");
            long lo = Long.parseUnsignedLong(range[0], 16);
            long hi = Long.parseUnsignedLong(range[1], 16);
            if (Long.compareUnsigned(address, lo) >= 0 && Long.compareUnsigned(address, hi) < 0) {
                return line.split("\\s+")[1];
            }
        }
        throw new AssertionError("no mapping holds 0x" + Long.toHexString(address));
    }
}
