package dev.graft.cli;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code graft} command. {@code ./graft} at the repository root builds the project and runs this class with the
 * right JDK and flags.
 */
public final class Main {
    private final Map<String, Command> commands = new LinkedHashMap<>();

    Main() {
        add(new DemoCommand());
        add(new KernelsCommand());
        add(new DetectCommand());
        add(new EmbedCommand());
        add(new PartitionCommand());
        add(new QuantizeCommand());
        add(new InspectCommand());
        add(new EvalCommand());
        add(new ReportCommand());
        add(new TrainCommand());
        add(new AccuracyCommand());
        add(new BenchCommand());
    }

    private void add(Command c) {
        commands.put(c.name(), c);
    }

    public static void main(String[] args) {
        System.exit(new Main().run(List.of(args), System.out, System.err));
    }

    int run(List<String> args, PrintStream out, PrintStream err) {
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
        } catch (Exception e) {
            err.println("graft " + c.name() + ": " + e.getClass().getSimpleName() + ": " + e.getMessage());
            if (System.getenv("GRAFT_DEBUG") != null) {
                e.printStackTrace(err);
            }
            return 1;
        }
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
        out.println("environment: GRAFT_JVM_OPTS (extra JVM flags), GRAFT_JAVA_HOME (a JDK >= 25), GRAFT_DEBUG (stack traces)");
    }
}
