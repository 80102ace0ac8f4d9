package dev.graft.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.kernels.x86.CpuFeatures;
import dev.graft.kernels.x86.VnniGemmCode;

import java.io.File;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The guards in front of the generated code: a kernel that computes wrong results is refused by the start-up
 * self-test; a CPU or OS without AVX-512 VNNI never gets generated code; code that does run an invalid instruction
 * kills the JVM (shown in a subprocess), which is why the guards run first; and each provider can be forced, with
 * the fallback and its reason in the one log line.
 */
class JitSafetyTest {

    @TempDir
    Path dir;

    private static CpuFeatures here() throws Exception {
        CpuFeatures cpu = CpuFeatures.detect();
        Assumptions.assumeTrue(cpu.avx512Vnni(), "this CPU has no AVX-512 VNNI: " + cpu);
        return cpu;
    }

    @Test
    void selfTestRefusesAKernelThatComputesWrongResults() throws Exception {
        CpuFeatures cpu = here();
        JitInt8Gemm.UnavailableException e = assertThrows(JitInt8Gemm.UnavailableException.class,
                () -> JitInt8Gemm.build(cpu, VnniGemmCode.Fault.WRONG_RESULT));
        assertTrue(e.getMessage().startsWith("the start-up self-test failed"), e.getMessage());
        // The same code without the defect passes.
        JitInt8Gemm.build(cpu, VnniGemmCode.Fault.NONE);
    }

    @Test
    void selfTestRefusesAWrongAvxVnniKernel() throws Exception {
        CpuFeatures cpu = CpuFeatures.detect();
        Assumptions.assumeTrue(cpu.avxVnniUsable(), "this CPU has no AVX-VNNI: " + cpu);
        JitInt8Gemm.UnavailableException e = assertThrows(JitInt8Gemm.UnavailableException.class,
                () -> JitInt8Gemm.build(cpu, JitInt8Gemm.Isa.AVX_VNNI, VnniGemmCode.Fault.WRONG_RESULT));
        assertTrue(e.getMessage().startsWith("the start-up self-test failed"), e.getMessage());
        assertEquals(JitInt8Gemm.Isa.AVX_VNNI,
                JitInt8Gemm.build(cpu, JitInt8Gemm.Isa.AVX_VNNI, VnniGemmCode.Fault.NONE).isa);
    }

    @Test
    void selfTestRefusesAWrongAmxKernel() throws Exception {
        CpuFeatures cpu = CpuFeatures.detect();
        Assumptions.assumeTrue(cpu.missingForAmx() == null, () -> "this CPU has no AMX-INT8: " + cpu.missingForAmx());
        JitInt8Gemm.UnavailableException e = assertThrows(JitInt8Gemm.UnavailableException.class,
                () -> JitInt8Gemm.build(cpu, JitInt8Gemm.Isa.AMX, VnniGemmCode.Fault.WRONG_RESULT));
        assertTrue(e.getMessage().startsWith("the start-up self-test failed"), e.getMessage());
        assertEquals(JitInt8Gemm.Isa.AMX, JitInt8Gemm.build(cpu, JitInt8Gemm.Isa.AMX, VnniGemmCode.Fault.NONE).isa);
    }

    @Test
    void noGeneratedCodeWithoutTheCpuFeatures() {
        CpuFeatures noAmx = new CpuFeatures("Test", true, true, true, true, false, true, true, true, true);
        JitInt8Gemm.UnavailableException amx = assertThrows(JitInt8Gemm.UnavailableException.class,
                () -> JitInt8Gemm.build(noAmx, JitInt8Gemm.Isa.AMX, VnniGemmCode.Fault.INVALID_INSTRUCTION));
        assertEquals("AMX-INT8: the CPU lacks AMX-TILE AMX-INT8", amx.getMessage());
        CpuFeatures noTileState = new CpuFeatures("Test", true, true, true, true, false, true, true, true, true,
                true, true, false);
        amx = assertThrows(JitInt8Gemm.UnavailableException.class,
                () -> JitInt8Gemm.build(noTileState, JitInt8Gemm.Isa.AMX, VnniGemmCode.Fault.INVALID_INSTRUCTION));
        assertEquals("AMX-INT8: the OS does not enable AMX tile state (XCR0)", amx.getMessage());
        CpuFeatures noVnni = new CpuFeatures("Test", true, true, true, false, false, true, true, true, true);
        JitInt8Gemm.UnavailableException e = assertThrows(JitInt8Gemm.UnavailableException.class,
                () -> JitInt8Gemm.build(noVnni, VnniGemmCode.Fault.INVALID_INSTRUCTION));
        assertEquals("no AVX-512 VNNI (the CPU lacks AVX512_VNNI) and no AVX-VNNI (the CPU lacks AVX-VNNI)",
                e.getMessage());
        CpuFeatures noOsState = new CpuFeatures("Test", true, true, true, true, false, true, true, true, false);
        e = assertThrows(JitInt8Gemm.UnavailableException.class,
                () -> JitInt8Gemm.build(noOsState, VnniGemmCode.Fault.INVALID_INSTRUCTION));
        assertEquals("no AVX-512 VNNI (the OS does not enable AVX-512 state (XCR0)) and no AVX-VNNI (the CPU lacks"
                + " AVX-VNNI)", e.getMessage());
        // AVX-VNNI in the CPU but no ymm state from the OS; and AVX-VNNI forced where the CPU lacks it.
        CpuFeatures noAvxState = new CpuFeatures("Test", false, false, false, false, true, true, true, false, false);
        e = assertThrows(JitInt8Gemm.UnavailableException.class,
                () -> JitInt8Gemm.build(noAvxState, JitInt8Gemm.Isa.AVX_VNNI, VnniGemmCode.Fault.INVALID_INSTRUCTION));
        assertEquals("AVX-VNNI: the OS does not enable AVX state (XCR0)", e.getMessage());
        CpuFeatures avx512Only = new CpuFeatures("Test", true, true, true, true, false, true, true, true, true);
        e = assertThrows(JitInt8Gemm.UnavailableException.class,
                () -> JitInt8Gemm.build(avx512Only, JitInt8Gemm.Isa.AVX_VNNI, VnniGemmCode.Fault.INVALID_INSTRUCTION));
        assertEquals("AVX-VNNI: the CPU lacks AVX-VNNI", e.getMessage());
        CpuFeatures noFma = new CpuFeatures("Test", false, false, false, false, true, true, false, true, false);
        e = assertThrows(JitInt8Gemm.UnavailableException.class,
                () -> JitInt8Gemm.build(noFma, JitInt8Gemm.Isa.AVX_VNNI, VnniGemmCode.Fault.INVALID_INSTRUCTION));
        assertEquals("AVX-VNNI: the CPU lacks FMA", e.getMessage());
    }

    /** The ISA choice: AVX-512 VNNI first, AVX-VNNI without it, the property over both, unknown values refused. */
    @Test
    void isaSelection() throws Exception {
        CpuFeatures both = new CpuFeatures("Test", true, true, true, true, true, true, true, true, true);
        CpuFeatures alderLake = new CpuFeatures("Test", false, false, false, false, true, true, true, true, false);
        assertEquals(JitInt8Gemm.Isa.AVX512_VNNI, JitInt8Gemm.isaFor(both, null));
        assertEquals(JitInt8Gemm.Isa.AVX512_VNNI, JitInt8Gemm.isaFor(both, " "));
        assertEquals(JitInt8Gemm.Isa.AVX_VNNI, JitInt8Gemm.isaFor(alderLake, null));
        assertEquals(JitInt8Gemm.Isa.AVX_VNNI, JitInt8Gemm.isaFor(both, "AVX-VNNI"));
        assertEquals(JitInt8Gemm.Isa.AVX512_VNNI, JitInt8Gemm.isaFor(alderLake, "avx512-vnni")); // build refuses it
        JitInt8Gemm.UnavailableException e = assertThrows(JitInt8Gemm.UnavailableException.class,
                () -> JitInt8Gemm.isaFor(both, "sse2"));
        assertEquals("unknown graft.jit.isa=sse2 (use amx, avx512-vnni or avx-vnni)", e.getMessage());
        // AMX first where the CPU and OS have it (the tile-data grant is asked for when the code is built).
        CpuFeatures sapphireRapids = new CpuFeatures("Test", true, true, true, true, true, true, true, true, true,
                true, true, true);
        assertEquals(JitInt8Gemm.Isa.AMX, JitInt8Gemm.isaFor(sapphireRapids, null));
        assertEquals(JitInt8Gemm.Isa.AVX512_VNNI, JitInt8Gemm.isaFor(sapphireRapids, "avx512-vnni"));
        CpuFeatures noTileState = new CpuFeatures("Test", true, true, true, true, true, true, true, true, true,
                true, true, false);
        assertEquals(JitInt8Gemm.Isa.AVX512_VNNI, JitInt8Gemm.isaFor(noTileState, null));
        assertEquals(JitInt8Gemm.Isa.AMX, JitInt8Gemm.isaFor(noTileState, "amx")); // build refuses it
    }

    @Test
    void anInvalidInstructionKillsTheJvm() throws Exception {
        here();
        assertKilledBySigill("invalid-instruction");
    }

    /**
     * Why {@code AmxPermission} runs before any tile code: without Linux's grant of tile state the first tile
     * instruction is SIGILL and kills the JVM; after the grant the same code returns.
     */
    @Test
    void aTileInstructionWithoutTheGrantKillsTheJvm() throws Exception {
        CpuFeatures cpu = CpuFeatures.detect();
        Assumptions.assumeTrue(cpu.missingForAmx() == null, () -> "this CPU has no AMX-INT8: " + cpu.missingForAmx());
        assertKilledBySigill("tile-without-grant");
        Result granted = probe(List.of("--enable-native-access=ALL-UNNAMED"), "tile-with-grant");
        assertEquals(0, granted.exit, granted.toString());
        assertTrue(granted.stdout.contains("grant=yes") && granted.stdout.contains("returned"), granted.toString());
    }

    /** Runs the probe in {@code mode} and checks the JVM died of SIGILL before the call returned. */
    private void assertKilledBySigill(String mode) throws Exception {
        Path errorFile = dir.resolve("hs_err-" + mode + ".log");
        Result r = probe(List.of("-XX:ErrorFile=" + errorFile, "-XX:-CreateCoredumpOnCrash",
                "--enable-native-access=ALL-UNNAMED"), mode);
        assertNotEquals(0, r.exit, r.toString());
        assertFalse(r.stdout.contains("returned"), r.toString());
        String report = Files.exists(errorFile) ? Files.readString(errorFile) : r.stdout + r.stderr;
        assertTrue(report.contains("SIGILL"), report.lines().limit(20).toList().toString());
    }

    @Test
    void eachProviderCanBeForced() throws Exception {
        here();
        for (String level : new String[] {"jit", "vector", "scalar"}) {
            Result r = probe(List.of("--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                    "-Dgraft.kernels=" + level), "select");
            assertEquals(0, r.exit, r.toString());
            assertTrue(r.stdout.contains("int8=" + level + " "), r.toString());
            assertTrue(r.stdout.contains("result=[-1, 3, 0, 0, 5]"), r.toString());
            assertEquals(1, r.stderr.lines().filter(l -> l.contains("Graft kernels:")).count(), r.toString());
        }
        Result auto = probe(List.of("--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"),
                "select");
        assertTrue(auto.stdout.contains("int8=jit "), auto.toString());
    }

    /** {@code -Dgraft.jit.isa=avx-vnni} runs the 256-bit code on a machine that also has AVX-512 VNNI. */
    @Test
    void avxVnniCanBeForced() throws Exception {
        Assumptions.assumeTrue(CpuFeatures.detect().avxVnniUsable(), "this CPU has no AVX-VNNI");
        Result r = probe(List.of("--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-Dgraft.jit.isa=avx-vnni"), "select");
        assertEquals(0, r.exit, r.toString());
        assertTrue(r.stdout.contains("int8=jit "), r.toString());
        assertTrue(r.stdout.contains("result=[-1, 3, 0, 0, 5]"), r.toString());
        List<String> lines = r.stderr.lines().filter(l -> l.contains("Graft kernels:")).toList();
        assertEquals(1, lines.size(), r.toString());
        assertTrue(lines.get(0).contains("INT8 GEMM: jit (AVX-VNNI machine code generated at start-up"),
                r.toString());
        assertTrue(r.stdout.contains("isa=AVX_VNNI"), r.toString());
        // A requantized result through the AVX-VNNI code's u8 tail path, against the scalar reference.
        Result q = probe(List.of("--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-Dgraft.jit.isa=avx-vnni"), "requantize");
        assertEquals(0, q.exit, q.toString());
        assertTrue(q.stdout.contains("requantize=same"), q.toString());
        // A value the CPU cannot honour, or an unknown one, falls back with the reason.
        Result unknown = probe(List.of("--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-Dgraft.jit.isa=sse2"), "select");
        assertTrue(unknown.stdout.contains("int8=vector "), unknown.toString());
        assertTrue(unknown.stdout.contains("unknown graft.jit.isa=sse2"), unknown.toString());
    }

    @Test
    void anInvalidInstructionInTheAvxVnniCodeKillsTheJvm() throws Exception {
        Assumptions.assumeTrue(CpuFeatures.detect().avxVnniUsable(), "this CPU has no AVX-VNNI");
        assertKilledBySigill("invalid-instruction-avx-vnni");
    }

    @Test
    void withoutNativeAccessItFallsBackAndTheJdkPrintsNoWarning() throws Exception {
        Result r = probe(List.of("--add-modules", "jdk.incubator.vector"), "select");
        assertEquals(0, r.exit, r.toString());
        assertTrue(r.stdout.contains("int8=vector "), r.toString());
        assertTrue(r.stdout.contains("native access is not enabled"), r.toString());
        assertFalse(r.stderr.contains("restricted method"), r.toString());
    }

    private record Result(int exit, String stdout, String stderr) {
        @Override
        public String toString() {
            return "exit " + exit + "\nstdout: " + stdout + "\nstderr: " + stderr;
        }
    }

    private static Result probe(List<String> jvmFlags, String mode) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(jvmFlags);
        command.add("-cp");
        command.add(classesDir(Kernels.class) + File.pathSeparator + classesDir(JitProbe.class));
        command.add(JitProbe.class.getName());
        command.add(mode);
        Process process = new ProcessBuilder(command).start();
        assertTrue(process.waitFor(120, TimeUnit.SECONDS), "probe JVM timed out");
        return new Result(process.exitValue(),
                new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8),
                new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
    }

    private static String classesDir(Class<?> type) throws URISyntaxException {
        return Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    }
}
