package dev.graft.conformance;

import java.util.Optional;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * What a test needs from outside the repository (a data set, a model jar): present, it runs; absent, it skips on a
 * developer's machine and fails under {@code CI=true}, so a CI run can never be green without its checks.
 */
public final class Required {
    private Required() {
    }

    /** Whether this is a CI run ({@code CI=true} in the environment, as CI services set it). */
    public static boolean onCi() {
        return "true".equalsIgnoreCase(System.getenv("CI"));
    }

    /** {@code what}'s value, or the test stops (skip, or failure under CI). */
    public static <T> T present(Optional<T> found, String what) {
        require(found.isPresent(), what);
        return found.get();
    }

    /** Stops the test (skip, or failure under CI) unless {@code present}. */
    public static void require(boolean present, String what) {
        String miss = SharedData.takeLastMiss();   // where a data set was looked for, and how to get it
        if (present) {
            return;
        }
        String detail = what + (miss == null ? "" : " (" + miss + ")");
        if (onCi()) {
            fail("missing: " + detail + " (CI=true: a test that cannot find what it checks against fails)");
        }
        assumeTrue(false, "missing: " + detail + " (skipped here; this fails under CI=true)");
    }
}
