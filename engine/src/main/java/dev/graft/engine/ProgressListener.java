package dev.graft.engine;

/**
 * Told how a long task (calibration, evaluation) advances. The caller decides how to show it: the CLI draws a line on
 * stderr when it is a terminal, tests print or ignore it. Called on the worker's thread; keep it cheap.
 */
@FunctionalInterface
public interface ProgressListener {

    /** Ignores everything. */
    ProgressListener NONE = (done, total, message) -> { };

    /**
     * @param done    units finished so far
     * @param total   units in all, or -1 when unknown
     * @param message what was just finished, for a person
     */
    void progress(long done, long total, String message);
}
