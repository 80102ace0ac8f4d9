package dev.graft.cli;

import dev.graft.engine.ProgressListener;

import java.io.PrintStream;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * Progress of long work (calibration, training, evaluation) on stderr: on a terminal a bar redrawn in place,
 * {@code calibration [##########..........]  50%  16/32  3.1 s, about 3 s left}; otherwise (a log, a pipe, CI) a
 * few plain lines per task: the first after {@link #PLAIN_FIRST_NANOS}, each further one after twice the previous
 * wait (10 s, 30 s, 70 s, 150 s, ... into the task), and its last state when it ends (the next task starts or
 * {@link #finishLine} is called). A task of a few seconds is one line, one of twenty minutes seven.
 *
 * <p>A task is identified by its message up to the first digit ({@link #label}); the same label counting again
 * from below (the next training epoch) continues the task. The time left is shown only once there is a rate: at
 * least {@link #RATE_NANOS} and one more step since the task (or the epoch) first reported.
 */
final class Progress implements ProgressListener {
    private static final int WIDTH = 24;
    /** Plain mode: the wait before a task's first line; each next wait is twice the last. */
    static final long PLAIN_FIRST_NANOS = 10_000_000_000L;
    /** How long a task must have run before a time-left estimate is shown. */
    static final long RATE_NANOS = 2_000_000_000L;

    private final PrintStream err;
    private final boolean terminal;
    private final LongSupplier clock;
    private String lastLabel;
    private long taskStart;        // first report of the task, for the plain lines' interval
    private long rateStart;        // first report of this run of the task (an epoch), for the rate
    private long rateStartDone;
    private long lastDone;
    private long lastPrinted;
    private int printed;           // plain lines printed for this task
    private long lastDraw;
    private String pending;        // plain mode: the latest line not printed yet
    private boolean open;          // terminal mode: a bar is drawn and its line not ended

    Progress(PrintStream err, boolean terminal, LongSupplier clock) {
        this.err = err;
        this.terminal = terminal;
        this.clock = clock;
    }

    /**
     * A bar when stderr is a terminal, plain lines otherwise. The {@code graft} script tells which with
     * {@code -Dgraft.stderr.tty} (Java cannot test stderr itself); without it, {@code Console.isTerminal()} decides.
     */
    static Progress on(PrintStream err) {
        String tty = System.getProperty("graft.stderr.tty");
        java.io.Console c = System.console();
        boolean terminal = tty != null ? Boolean.parseBoolean(tty) : c != null && c.isTerminal();
        return new Progress(err, terminal, System::nanoTime);
    }

    /** Plain lines whatever stderr is (tests). */
    static Progress plain(PrintStream err) {
        return new Progress(err, false, System::nanoTime);
    }

    @Override
    public synchronized void progress(long done, long total, String message) {
        long now = clock.getAsLong();
        String label = label(message);
        if (!label.equals(lastLabel)) {                  // another task
            finishLine();
            lastLabel = label;
            taskStart = now;
            lastPrinted = now;
            printed = 0;
            rateStart = now;
            rateStartDone = done;
        } else if (done < lastDone) {                    // the same task counting again: the next epoch
            rateStart = now;
            rateStartDone = done;
        }
        lastDone = done;
        String line = line(message, done, total, (now - rateStart) / 1e9, eta(done, total, now));
        if (terminal) {
            if (now - lastDraw < 50_000_000L && done != total) {
                return;   // at most 20 redraws a second
            }
            lastDraw = now;
            err.print("\r" + line + "\u001b[K");
            open = true;
            if (done == total) {
                finishLine();
            }
            return;
        }
        pending = line;
        if (now - lastPrinted >= PLAIN_FIRST_NANOS << Math.min(printed, 20) && now > taskStart) {
            err.println(line);
            pending = null;
            lastPrinted = now;
            printed++;
        }
    }

    /** Seconds left at the rate since this run of the task began, or negative while there is no rate yet. */
    private double eta(long done, long total, long now) {
        long elapsed = now - rateStart;
        long steps = done - rateStartDone;
        if (total <= 0 || done >= total || elapsed < RATE_NANOS || steps <= 0) {
            return -1;
        }
        return elapsed / 1e9 / steps * (total - done);
    }

    /** Ends the current task's output: a bar's line on a terminal, the last state as a plain line otherwise. */
    synchronized void finishLine() {
        if (open) {
            err.println();
            open = false;
        }
        if (pending != null) {
            err.println(pending);
            pending = null;
        }
        lastLabel = null;
    }

    static String line(String label, long done, long total, double seconds, double secondsLeft) {
        if (total <= 0) {
            return String.format(Locale.ROOT, "%s  %d  %.1f s", label, done, seconds);
        }
        double f = Math.min(1.0, (double) done / total);
        int filled = (int) Math.round(f * WIDTH);
        String bar = "#".repeat(filled) + ".".repeat(WIDTH - filled);
        String eta = secondsLeft >= 0 ? String.format(Locale.ROOT, ", about %.0f s left", Math.ceil(secondsLeft)) : "";
        return String.format(Locale.ROOT, "%s [%s] %3.0f%%  %d/%d  %.1f s%s", label, bar, 100 * f, done, total,
                seconds, eta);
    }

    /**
     * What identifies one task across calls: the message up to its first digit ("calibration batch 3" and "epoch
     * 1/1  loss 0.12" count as "calibration batch" and "epoch"), so changing numbers do not start a new line.
     */
    static String label(String message) {
        return message.replaceAll("\\d.*$", "").trim();
    }
}
