package dev.graft.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/** The arguments of the commands that take one saved model: {@code FILE [--switch ...]}. */
record FileArgs(Path file, Options options) {

    /** Parses {@code args}, accepting only the given switches; fails with a usage error otherwise. */
    static FileArgs parse(List<String> args, Set<String> allowed) {
        Options o = Options.spec().switches(allowed.toArray(String[]::new)).parse(args);
        if (o.positionals().size() > 1) {
            throw new UsageException("one file at a time, got " + o.positionals());
        }
        Path file = Path.of(o.positional(0, "which file? (./graft quantize ... --out FILE makes one)"));
        return new FileArgs(file, o);
    }

    boolean has(String flag) {
        return options.has(flag);
    }
}
