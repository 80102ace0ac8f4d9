package dev.graft.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

/** Start-up selection: the decision table, and a real JVM started without the Vector API module. */
class KernelsTest {

    @Test
    void decisionTable() {
        assertEquals(Kernels.Choice.VECTOR, Kernels.choose(null, true));
        assertEquals(Kernels.Choice.VECTOR, Kernels.choose("vector", true));
        assertEquals(Kernels.Choice.SCALAR_BY_PROPERTY, Kernels.choose("scalar", true));
        assertEquals(Kernels.Choice.SCALAR_BY_PROPERTY, Kernels.choose(" Scalar ", false));
        assertEquals(Kernels.Choice.SCALAR_NO_MODULE, Kernels.choose(null, false));
        assertEquals(Kernels.Choice.SCALAR_NO_MODULE, Kernels.choose("vector", false));
    }

    @Test
    void picksTheVectorGemmWhenTheModuleIsPresent() {
        // Surefire starts the test JVM with --add-modules jdk.incubator.vector (parent pom).
        assertTrue(Kernels.vectorModulePresent());
        if (!"scalar".equals(System.getProperty(Kernels.PROPERTY))) {
            assertInstanceOf(VectorFloatGemm.class, Kernels.floatGemm());
            assertTrue(Kernels.description().contains("lanes"), Kernels.description());
        }
    }

    /**
     * The scalar fallback must work on a JVM that lacks the module: loading {@link Kernels} must not drag in any
     * Vector API class, and the single log line must tell the user the fix.
     */
    @Test
    void fallsBackToScalarWithOneWarningWithoutTheModule() throws Exception {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", classesDir(Kernels.class) + java.io.File.pathSeparator + classesDir(ScalarFallbackProbe.class),
                ScalarFallbackProbe.class.getName()));
        Process process = new ProcessBuilder(command).redirectErrorStream(false).start();
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "probe JVM timed out");
        String stdout = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String stderr = new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, process.exitValue(), () -> "probe failed\nstdout: " + stdout + "\nstderr: " + stderr);
        assertTrue(stdout.contains("gemm=scalar result=[58.0, 64.0, 139.0, 154.0]"), stdout);
        assertTrue(stdout.contains("description=FP32 GEMM: scalar"), stdout);
        assertTrue(stderr.contains("WARNING"), stderr);
        assertTrue(stderr.contains("run the JVM with --add-modules jdk.incubator.vector"), stderr);
        long warnings = stderr.lines().filter(line -> line.contains("--add-modules")).count();
        assertEquals(1, warnings, stderr);
    }

    private static String classesDir(Class<?> type) {
        try {
            return Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
        } catch (URISyntaxException e) {
            throw new UncheckedIOException(new IOException(e));
        }
    }
}
