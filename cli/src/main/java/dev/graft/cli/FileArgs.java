package dev.graft.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/** The arguments of the commands that take one saved model: {@code FILE [--switch ...]}. */
record FileArgs(Path file, Set<String> switches) {

    /** Parses {@code args}, accepting only the given switches; fails with a usage error otherwise. */
    static FileArgs parse(List<String> args, Set<String> allowed) {
        Path file = null;
        java.util.Set<String> on = new java.util.LinkedHashSet<>();
        for (String a : args) {
            if (allowed.contains(a)) {
                on.add(a);
            } else if (a.startsWith("--")) {
                throw new UsageException("unexpected option '" + a + "'");
            } else if (file == null) {
                file = Path.of(a);
            } else {
                throw new UsageException("one file at a time");
            }
        }
        if (file == null) {
            throw new UsageException("which file? (./graft quantize ... --out FILE makes one)");
        }
        return new FileArgs(file, on);
    }

    boolean has(String flag) {
        return switches.contains(flag);
    }
}
