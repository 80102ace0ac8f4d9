package dev.graft.cli;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The {@code graft} command. {@code ./graft} at the repository root builds the project and runs this class with the
 * right JDK and flags.
 */
public final class Main {
    /**
     * The kernels' logger: their choice is logged at INFO when the kernels start; the CLI shows it only with
     * {@code --verbose} ({@code ./graft kernels} prints it anyway), warnings (a fallback to scalar) always. Held
     * here so the level set on it stays (java.util.logging keeps loggers weakly).
     */
    private static final Logger KERNELS_LOG = Logger.getLogger("dev.graft.kernels.Kernels");

    private final Map<String, Command> commands = new LinkedHashMap<>();

    Main() {
        add(new DemoCommand());
        add(new KernelsCommand());
        add(new DetectCommand());
        add(new EmbedCommand());
        add(new PartitionCommand());
        add(new QuantizeCommand());
        add(new TuneCommand());
        add(new InspectCommand());
        add(new EvalCommand());
        add(new ReportCommand());
        add(new TrainCommand());
        add(new AccuracyCommand());
        add(new BenchCommand());
        add(new FuzzCommand());
    }

    private void add(Command c) {
        commands.put(c.name(), c);
    }

    public static void main(String[] args) {
        int code;
        try {
            code = new Main().run(List.of(args), System.out, System.err);
        } catch (Throwable e) {     // even building the command table failed: still one line
            System.err.println("graft: " + oneLine(e));
            code = 1;
        }
        System.exit(code);
    }

    int run(List<String> arguments, PrintStream out, PrintStream err) {
        List<String> args = new ArrayList<>(arguments);
        boolean verbose = args.remove("--verbose");
        KERNELS_LOG.setLevel(verbose ? Level.ALL : Level.WARNING);
        if (args.isEmpty() || args.get(0).equals("--help") || args.get(0).equals("-h") || args.get(0).equals("help")) {
            if (args.size() > 1 && commands.containsKey(args.get(1))) {
                out.println(commands.get(args.get(1)).usage());
                return 0;
            }
            printHelp(out);
            return args.isEmpty() ? 2 : 0;
        }
        Command c = commands.get(args.get(0));
        if (c == null) {
            err.println("graft: unknown command '" + args.get(0) + "' (try ./graft --help)");
            return 2;
        }
        List<String> rest = new ArrayList<>(args.subList(1, args.size()));
        if (rest.contains("--help") || rest.contains("-h")) {
            out.println(c.usage());
            return 0;
        }
        try {
            return c.run(rest, out, err);
        } catch (UsageException e) {
            err.println("graft " + c.name() + ": " + e.getMessage() + " (try ./graft " + c.name() + " --help)");
            return 2;
        } catch (Throwable e) {     // Errors too: an OutOfMemoryError or StackOverflowError is one line, not a trace
            err.println("graft " + c.name() + ": " + oneLine(e));
            if (debug()) {
                e.printStackTrace(err);
            }
            return 1;
        }
    }

    /** {@code GRAFT_DEBUG} set to anything but empty or 0 keeps stack traces. */
    private static boolean debug() {
        String v = System.getenv("GRAFT_DEBUG");
        return v != null && !v.isEmpty() && !v.equals("0");
    }

    /** What went wrong, on one line: Graft's own exceptions already name the file and place. */
    static String oneLine(Throwable e) {
        String message = e.getMessage() == null ? "" : e.getMessage().strip().replaceAll("\\s*\\R\\s*", " / ");
        if (e instanceof OutOfMemoryError) {
            return "out of memory (" + message + "); a larger heap: GRAFT_JVM_OPTS=-Xmx4g";
        }
        if (e instanceof StackOverflowError) {
            return "stack overflow (input nested too deeply?); GRAFT_DEBUG=1 prints where";
        }
        if (e instanceof dev.graft.engine.io.FormatException && !message.isEmpty()) {
            return message;
        }
        return e.getClass().getSimpleName() + (message.isEmpty() ? "" : ": " + message);
    }

    private void printHelp(PrintStream out) {
        out.println("graft: INT8 quantization of neural networks with dynamic control flow, in pure Java.");
        out.println();
        out.println("usage: ./graft COMMAND [options]      (./graft COMMAND --help for details)");
        out.println();
        out.println("commands:");
        out.printf("  %-10s %s%n", "test", "run the whole test suite (Maven)");
        for (Command c : commands.values()) {
            out.printf("  %-10s %s%n", c.name(), c.summary());
        }
        out.println();
        out.println("--verbose (with any command): also log which kernels this JVM selected");
        out.println("environment: GRAFT_JVM_OPTS (extra JVM flags), GRAFT_JAVA_HOME (a JDK >= 25), GRAFT_DEBUG (stack traces)");
    }
}
