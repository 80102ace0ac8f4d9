package dev.graft.kernels.x86;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** cpuid/xgetbv as read by the generated probe agree with what the Linux kernel reports in /proc/cpuinfo. */
class CpuFeaturesTest {

    @Test
    void agreesWithProcCpuinfo() throws Exception {
        Path cpuinfo = Path.of("/proc/cpuinfo");
        Assumptions.assumeTrue(Files.isReadable(cpuinfo), "no /proc/cpuinfo on this system");
        String flagsLine = Files.readAllLines(cpuinfo).stream().filter(l -> l.startsWith("flags")).findFirst()
                .orElseThrow();
        Set<String> flags = Arrays.stream(flagsLine.substring(flagsLine.indexOf(':') + 1).trim().split("\\s+"))
                .collect(Collectors.toSet());
        CpuFeatures cpu = CpuFeatures.detect();
        assertEquals(flags.contains("avx512f"), cpu.avx512f(), "avx512f");
        assertEquals(flags.contains("avx512bw"), cpu.avx512bw(), "avx512bw");
        assertEquals(flags.contains("avx512vl"), cpu.avx512vl(), "avx512vl");
        assertEquals(flags.contains("avx512_vnni"), cpu.avx512vnni(), "avx512_vnni");
        assertEquals(flags.contains("avx_vnni"), cpu.avxVnni(), "avx_vnni");
        assertEquals(flags.contains("avx2"), cpu.avx2(), "avx2");
        assertEquals(flags.contains("fma"), cpu.fma(), "fma");
        // AMX one way only: a kernel older than the CPU may leave the flags out (or the tile state off).
        if (flags.contains("amx_tile")) {
            assertTrue(cpu.amxTile(), "amx_tile listed but cpuid says no");
            assertEquals(flags.contains("amx_int8"), cpu.amxInt8(), "amx_int8");
        }
        if (cpu.osAmx()) {
            assertTrue(flags.contains("amx_tile"), "XCR0 has tile state but Linux lists no amx_tile");
        }
        // The kernel lists AVX-512 flags only where it enables the state, so XCR0 must agree.
        assertEquals(flags.contains("avx512f"), cpu.osAvx512(), "XCR0 AVX-512 state");
        String vendor = Files.readAllLines(cpuinfo).stream().filter(l -> l.startsWith("vendor_id")).findFirst()
                .orElseThrow();
        assertEquals(vendor.substring(vendor.indexOf(':') + 1).trim(), cpu.vendor());
    }
}
