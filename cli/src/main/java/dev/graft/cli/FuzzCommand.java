package dev.graft.cli;

import dev.graft.cli.fuzz.Fuzzer;
import dev.graft.cli.fuzz.Mutator;
import dev.graft.cli.fuzz.Targets;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code graft fuzz READER|all [--inputs N] [--seed S] [--only I]}: mutated real files through one reader, every
 * outcome counted (docs/RELIABILITY.md). The inputs run in a child JVM with a small heap and low caps, so an
 * allocation a small file should not cause shows up as an OutOfMemoryError instead of passing in a big heap.
 */
final class FuzzCommand implements Command {
    static final String HEAP = "-Xmx384m";
    static final String CAPS = "-Dgraft.limit.bytes=32m";
    static final String PIXELS = "-Dgraft.limit.pixels=4m";

    @Override
    public String name() {
        return "fuzz";
    }

    @Override
    public String summary() {
        return "mutated real files through a reader: counts of loaded, refused and failed inputs";
    }

    @Override
    public String usage() {
        return """
                usage: ./graft fuzz READER|all [--inputs N] [--seed S] [--timeout MS] [--only I] [--save DIR]

                READER is one of %s. Input I of seed S is always the same bytes: byte flips, boundary
                bytes, truncation, insertion, deletion, huge length fields and varints, JSON-tree edits, over
                real seeds (../shared/data when present, the bundled assets, a model Graft saves). Outcomes:
                loaded, refused (FormatException), and the failures: untyped exception, OOM, hang.
                  --inputs N     inputs per reader (default 1000)
                  --seed S       the run's seed (default 1)
                  --timeout MS   time limit per input (default 5000)
                  --only I       run input I alone and print its stack trace (reproduce a failure)
                  --save DIR     where failing inputs are written (default target/fuzz)
                Runs in a child JVM with %s, %s and %s (the caps every reader checks before
                it allocates; see docs/RELIABILITY.md). Exit code 1 when any input failed."""
                .formatted(String.join(", ", Targets.NAMES), HEAP, CAPS, PIXELS);
    }

    @Override
    public int run(List<String> args, PrintStream out, PrintStream err) throws Exception {
        Options o = Options.spec().values("--inputs", "--seed", "--timeout", "--only", "--save").parse(args)
                .atMostPositionals(1);
        List<String> choices = new ArrayList<>(Targets.NAMES);
        choices.add("all");
        String reader = o.choice(0, "reader", choices);
        int inputs = o.integer("--inputs", 1, 100_000_000, 1000);
        int seed = o.integer("--seed", 0, Integer.MAX_VALUE, 1);
        int timeout = o.integer("--timeout", 10, 600_000, 5000);
        int only = o.integer("--only", 0, Integer.MAX_VALUE, -1);
        Path save = o.outputDir("--save", Path.of("target", "fuzz"));
        if (System.getenv("GRAFT_FUZZ_CHILD") == null) {
            return inChildJvm(args, out, err);
        }
        boolean clean = true;
        for (String name : reader.equals("all") ? Targets.NAMES : List.of(reader)) {
            Targets.Target target = Targets.create(name);
            Fuzzer fuzzer = new Fuzzer(target, timeout, save);
            if (only >= 0) {
                return reproduce(fuzzer, target, seed, only, out);
            }
            out.printf("%s: %d inputs, seed %d, %d seed file(s): %s%n", name, inputs, seed, target.seeds().size(),
                    target.seeds().stream().map(Targets.Seed::name).toList());
            Fuzzer.Report r = fuzzer.run(seed, 0, inputs, err, Math.max(1000, inputs / 20));
            out.println(r.summary());
            r.failures().stream().limit(20).forEach(f -> out.println("  " + f + "\n    reproduce: ./graft fuzz "
                    + name + " --seed " + seed + " --only " + f.index()));
            clean &= r.clean();
        }
        return clean ? 0 : 1;
    }

    private static int reproduce(Fuzzer fuzzer, Targets.Target target, int seed, int index, PrintStream out) {
        StringBuilder seedName = new StringBuilder();
        Mutator.Mutant m = fuzzer.input(seed, index, seedName);
        out.println("input " + index + ": seed file " + seedName + "; " + m.description() + "; " + m.bytes().length
                + " bytes");
        try {
            target.load(m.bytes());
            out.println("loaded");
            return 0;
        } catch (dev.graft.engine.io.FormatException e) {
            out.println("refused: " + e.getMessage());
            return 0;
        } catch (Throwable t) {
            out.println("FAILED:");
            t.printStackTrace(out);
            return 1;
        }
    }

    /** Runs this same command line again in a JVM with a small heap and low reader caps. */
    private static int inChildJvm(List<String> args, PrintStream out, PrintStream err) throws Exception {
        ProcessHandle.Info self = ProcessHandle.current().info();
        List<String> cmd = new ArrayList<>();
        cmd.add(self.command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.add(HEAP);
        cmd.add(CAPS);
        cmd.add(PIXELS);
        String[] mine = self.arguments().orElse(null);
        if (mine != null) {
            cmd.addAll(List.of(mine));
        } else {
            cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName(), "fuzz"));
            cmd.addAll(args);
        }
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(false);
        pb.environment().put("GRAFT_FUZZ_CHILD", "1");
        Process p = pb.start();
        Thread copyErr = new Thread(() -> {
            try {
                p.getErrorStream().transferTo(err);
            } catch (java.io.IOException e) {
                // the child's stderr closed early: its exit code still tells
            }
        });
        copyErr.start();
        p.getInputStream().transferTo(out);
        int code = p.waitFor();
        copyErr.join();
        return code;
    }
}
