package dev.graft.cli.fuzz;

import dev.graft.engine.io.FormatException;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs mutated inputs through one reader and sorts every outcome. Input {@code i} of a run with seed {@code s} is
 * made by a {@code Random} seeded from {@code s} and {@code i}, so any input can be made again ({@code --seed s --only i}). Each
 * input runs on a worker thread under a time limit; the run stops at the first hang (the thread cannot be stopped,
 * so continuing would measure the wrong thing).
 *
 * <p>Outcomes: {@code LOADED} (the reader accepted it: fine, for example a flip in a float), {@code REFUSED} (a
 * {@link FormatException}, the expected answer), and the failures: {@code UNTYPED} (any other exception or error,
 * stack overflow included), {@code OOM} and {@code HANG}. Each failure's input is saved for reproduction.
 */
public final class Fuzzer {
    public enum Outcome { LOADED, REFUSED, UNTYPED, OOM, HANG }

    /** A failing input: which one, what was done to which seed, what happened, and where its bytes were saved. */
    public record Failure(int index, Outcome outcome, String seed, String mutation, String error, Path saved) {
        @Override
        public String toString() {
            return "input " + index + " (" + outcome + "): " + error + "\n    seed: " + seed + "\n    mutation: "
                    + mutation + (saved == null ? "" : "\n    bytes: " + saved);
        }
    }

    /** The counts of a run and its failures. */
    public record Report(String reader, long seed, int inputs, Map<Outcome, Integer> counts, int wrapped,
                         int wrappedOom, List<Failure> failures, double seconds) {
        public boolean clean() {
            return failures.isEmpty();
        }

        public String summary() {
            return String.format(java.util.Locale.ROOT, "%s: %d inputs in %.0f s: %d loaded, %d refused (FormatException;"
                    + " %d of them wrap a JDK exception, %d an OutOfMemoryError the load-time dry run met), %d untyped,"
                    + " %d OOM, %d hangs", reader, inputs, seconds,
                    counts.get(Outcome.LOADED), counts.get(Outcome.REFUSED), wrapped, wrappedOom,
                    counts.get(Outcome.UNTYPED),
                    counts.get(Outcome.OOM), counts.get(Outcome.HANG));
        }
    }

    private final Targets.Target target;
    private final long timeoutMillis;
    private final Path saveDir;

    /** @param saveDir where failing inputs are written (null: not written) */
    public Fuzzer(Targets.Target target, long timeoutMillis, Path saveDir) {
        this.target = target;
        this.timeoutMillis = timeoutMillis;
        this.saveDir = saveDir;
    }

    /** The input {@code index} of a run with {@code seed}: which seed file, and the mutant made from it. */
    public Mutator.Mutant input(long seed, int index, StringBuilder seedName) {
        Random r = new Random(mix(seed * 1_000_003L + index));
        List<Targets.Seed> seeds = target.seeds();
        int pick = r.nextInt(seeds.stream().mapToInt(Targets.Seed::weight).sum());
        Targets.Seed s = seeds.get(0);
        for (Targets.Seed candidate : seeds) {
            s = candidate;
            pick -= candidate.weight();
            if (pick < 0) {
                break;
            }
        }
        seedName.append(s.name());
        return target.mutate(s, r);
    }

    /** SplitMix64's finalizer: neighbouring indices get unrelated seeds (java.util.Random's first draws of
     *  neighbouring seeds are alike). */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    /** Runs inputs {@code from .. from + count - 1}; {@code progress} gets a line every {@code every} inputs. */
    public Report run(long seed, int from, int count, PrintStream progress, int every) {
        Map<Outcome, Integer> counts = new EnumMap<>(Outcome.class);
        for (Outcome o : Outcome.values()) {
            counts.put(o, 0);
        }
        List<Failure> failures = new ArrayList<>();
        long t0 = System.nanoTime();
        ExecutorService worker = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "fuzz-" + target.name());
            t.setDaemon(true);
            return t;
        });
        int done = 0;
        int wrapped = 0;
        int wrappedOom = 0;
        // Warm-up (not counted): class loading and the JIT must not be mistaken for a slow input.
        for (Targets.Seed s : target.seeds()) {
            attempt(s.bytes());
        }
        try {
            for (int i = from; i < from + count; i++) {
                StringBuilder seedName = new StringBuilder();
                Mutator.Mutant m = input(seed, i, seedName);
                Outcome outcome;
                String error = null;
                Future<Throwable> f = worker.submit(() -> attempt(m.bytes()));
                Throwable thrown;
                try {
                    thrown = answer(f);
                } catch (TimeoutException e) {
                    thrown = null;
                    f.cancel(true);
                    outcome = Outcome.HANG;
                    error = "no answer within " + 3 * timeoutMillis + " ms";
                    counts.merge(outcome, 1, Integer::sum);
                    failures.add(new Failure(i, outcome, seedName.toString(), m.description(), error,
                            save(i, m.bytes())));
                    done++;
                    break;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                } catch (ExecutionException e) {
                    thrown = e.getCause();
                }
                outcome = classify(thrown);
                counts.merge(outcome, 1, Integer::sum);
                if (outcome == Outcome.REFUSED && wrapsJdkException(thrown)) {
                    wrapped++;
                }
                if (outcome == Outcome.REFUSED && wrapsOutOfMemory(thrown)) {
                    wrappedOom++;
                }
                if (outcome != Outcome.LOADED && outcome != Outcome.REFUSED) {
                    failures.add(new Failure(i, outcome, seedName.toString(), m.description(), describe(thrown),
                            save(i, m.bytes())));
                }
                done++;
                if (progress != null && every > 0 && done % every == 0) {
                    progress.printf("  %s: %d / %d inputs, %d failures%n", target.name(), done, count,
                            failures.size());
                }
            }
        } finally {
            worker.shutdownNow();
        }
        return new Report(target.name(), seed, done, counts, wrapped, wrappedOom, failures,
                (System.nanoTime() - t0) / 1e9);
    }

    /**
     * What the input threw, within the time limit; on a busy machine a slow answer gets twice the limit again
     * before it counts as a hang (a real hang does not finish either way).
     */
    private Throwable answer(Future<Throwable> f) throws TimeoutException, InterruptedException,
            ExecutionException {
        try {
            return f.get(timeoutMillis, TimeUnit.MILLISECONDS);
        } catch (TimeoutException slow) {
            return f.get(2 * timeoutMillis, TimeUnit.MILLISECONDS);
        }
    }

    /** Loads the input; returns what it threw (null when it loaded). Errors are caught too: OOM is an outcome. */
    private Throwable attempt(byte[] input) {
        try {
            target.load(input);
            return null;
        } catch (Throwable t) {
            return t;
        }
    }

    static Outcome classify(Throwable t) {
        if (t == null) {
            return Outcome.LOADED;
        }
        if (t instanceof OutOfMemoryError) {
            return Outcome.OOM;
        }
        return t instanceof FormatException ? Outcome.REFUSED : Outcome.UNTYPED;
    }

    /**
     * Whether a FormatException was made from an unchecked JDK exception (a reader's last line of defence, for
     * example around the JDK's image decoders) rather than from a check of its own: reported, not a failure.
     */
    static boolean wrapsJdkException(Throwable t) {
        for (Throwable c = t.getCause(); c != null; c = c.getCause()) {
            if (c instanceof RuntimeException && c.getClass().getName().startsWith("java.")) {
                return true;
            }
        }
        return false;
    }

    /** Whether a FormatException was made from an OutOfMemoryError (the .graft dry run's last line of defence). */
    static boolean wrapsOutOfMemory(Throwable t) {
        for (Throwable c = t.getCause(); c != null; c = c.getCause()) {
            if (c instanceof OutOfMemoryError) {
                return true;
            }
        }
        return false;
    }

    /** The exception and the first frames of the stack that are Graft's, on one line. */
    static String describe(Throwable t) {
        StringBuilder s = new StringBuilder(t.getClass().getName());
        if (t.getMessage() != null) {
            String m = t.getMessage().replaceAll("\\s+", " ");
            s.append(": ").append(m.length() > 300 ? m.substring(0, 300) + "..." : m);
        }
        int shown = 0;
        for (StackTraceElement e : t.getStackTrace()) {
            if (e.getClassName().startsWith("dev.graft") && !e.getClassName().startsWith("dev.graft.cli.fuzz")) {
                s.append(shown == 0 ? " at " : " < ").append(e.getClassName().replaceAll(".*\\.", "")).append('.')
                        .append(e.getMethodName()).append(':').append(e.getLineNumber());
                if (++shown == 4) {
                    break;
                }
            }
        }
        return s.toString();
    }

    private Path save(int index, byte[] bytes) {
        if (saveDir == null) {
            return null;
        }
        try {
            Files.createDirectories(saveDir);
            Path p = saveDir.resolve(target.name() + "-" + index + ".bin");
            Files.write(p, bytes);
            return p;
        } catch (IOException e) {
            return null;
        }
    }
}
