package dev.graft.cli;

import java.util.Locale;

/** Small formatting helpers shared by the commands. */
final class Format {
    private Format() {
    }

    /** "30.1 MB", "45.2 kB", "812 B" (decimal units, as file managers show them). */
    static String bytes(long n) {
        if (n >= 1_000_000) {
            return String.format(Locale.ROOT, "%.1f MB", n / 1e6);
        }
        if (n >= 1_000) {
            return String.format(Locale.ROOT, "%.1f kB", n / 1e3);
        }
        return n + " B";
    }
}
