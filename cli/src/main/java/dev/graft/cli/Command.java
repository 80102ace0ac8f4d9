package dev.graft.cli;

import java.io.PrintStream;
import java.util.List;

/** One {@code graft} subcommand. */
interface Command {
    String name();

    /** One line for {@code graft --help}. */
    String summary();

    /** The command's own help text (usage, options). */
    String usage();

    /** Runs the command; returns the process exit code (0 ok, 1 failed, 2 bad usage). */
    int run(List<String> args, PrintStream out, PrintStream err) throws Exception;
}
