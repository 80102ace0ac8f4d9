package dev.graft.cli;

import dev.graft.engine.ProgressListener;

import java.io.PrintStream;
import java.util.Locale;

/**
 * Progress of long work (calibration, training, evaluation) on stderr: on a terminal a bar redrawn in place,
 * {@code calibration [##########..........]  50%  16/32  3.1 s, about 3 s left}; otherwise (a log, a pipe, CI) a
 * plain line each time another tenth is done, so logs stay short and readable.
 */
final class Progress implements ProgressListener {
    private static final int WIDTH = 24;

    private final PrintStream err;
    private final boolean terminal;
    private long start = System.nanoTime();
    private String lastMessage = "";
    private long lastTenth = -1;
    private long lastDraw;
    private long lastDone;
    private boolean open;

    private Progress(PrintStream err, boolean terminal) {
        this.err = err;
        this.terminal = terminal;
    }

    /**
     * A bar when stderr is a terminal, plain lines otherwise. The {@code graft} script tells which with
     * {@code -Dgraft.stderr.tty} (Java cannot test stderr itself); without it, {@code Console.isTerminal()} decides.
     */
    static Progress on(PrintStream err) {
        String tty = System.getProperty("graft.stderr.tty");
        java.io.Console c = System.console();
        boolean terminal = tty != null ? Boolean.parseBoolean(tty) : c != null && c.isTerminal();
        return new Progress(err, terminal);
    }

    /** Plain lines whatever stderr is (tests). */
    static Progress plain(PrintStream err) {
        return new Progress(err, false);
    }

    @Override
    public synchronized void progress(long done, long total, String message) {
        String label = label(message);
        if (!label.equals(lastMessage) || done < lastDone) {   // another task, or the same task run again
            finishLine();
            lastMessage = label;
            lastTenth = -1;
            start = System.nanoTime();
        }
        lastDone = done;
        double seconds = (System.nanoTime() - start) / 1e9;
        if (terminal) {
            long now = System.nanoTime();
            if (now - lastDraw < 50_000_000L && done != total) {
                return;   // at most 20 redraws a second
            }
            lastDraw = now;
            err.print("\r" + line(message, done, total, seconds) + "\u001b[K");
            open = true;
            if (done == total) {
                finishLine();
            }
            return;
        }
        long tenth = total > 0 ? done * 10 / total : done;
        if (tenth != lastTenth || done == total) {
            lastTenth = tenth;
            err.println(line(message, done, total, seconds));
        }
    }

    /** Ends an open bar line (call before printing other text). */
    synchronized void finishLine() {
        if (open) {
            err.println();
            open = false;
        }
    }

    static String line(String label, long done, long total, double seconds) {
        if (total <= 0) {
            return String.format(Locale.ROOT, "%s  %d  %.1f s", label, done, seconds);
        }
        double f = Math.min(1.0, (double) done / total);
        int filled = (int) Math.round(f * WIDTH);
        String bar = "#".repeat(filled) + ".".repeat(WIDTH - filled);
        String eta = done > 0 && done < total
                ? String.format(Locale.ROOT, ", about %.0f s left", seconds / done * (total - done)) : "";
        return String.format(Locale.ROOT, "%s [%s] %3.0f%%  %d/%d  %.1f s%s", label, bar, 100 * f, done, total,
                seconds, eta);
    }

    /**
     * What identifies one task across calls: the message up to its first digit ("calibration batch 3" and "epoch
     * 1/1  loss 0.12" count as "calibration batch" and "epoch"), so changing numbers do not start a new line.
     */
    private static String label(String message) {
        return message.replaceAll("\\d.*$", "").trim();
    }
}
