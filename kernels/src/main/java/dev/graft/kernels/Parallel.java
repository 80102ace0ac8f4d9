package dev.graft.kernels;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntConsumer;

/**
 * A small persistent worker pool for kernels: {@code threads - 1} daemon workers plus the calling thread.
 *
 * <p>Why not an executor: a hand-off through a queue and a parked thread costs tens of microseconds, as much as a
 * whole 100 us operator. Here the workers spin (with {@link Thread#onSpinWait()}) for a short while after each job
 * waiting for the next one, and only park when the pool stays idle; a job posted while they spin starts within
 * about a microsecond. The caller always takes part in the work, so a pool of one thread is just a loop.
 *
 * <p>Tasks of one job are claimed from a shared counter, so which thread runs which task varies from run to run.
 * Kernels keep their results bit-identical for any thread count by making every output element's arithmetic
 * independent of the partition (each element is computed by one task, in the same order as a single thread would).
 *
 * <p>Re-entrancy and concurrency: a job started from inside a running task, or while another thread's job holds
 * the pool, runs on the calling thread alone. That never deadlocks and gives the same results, just slower.
 *
 * <p>The shared pool has {@code graft.threads} threads (system property; default: available processors).
 */
public final class Parallel implements AutoCloseable {

    /** System property naming the shared pool's thread count. */
    public static final String PROPERTY = "graft.threads";

    /** About 50 us of spinning before a worker parks: long enough to bridge consecutive operators. */
    private static final long SPIN_NANOS = 50_000;

    private final int threads;
    private final Thread[] workers;
    private final ReentrantLock submitLock = new ReentrantLock();
    /** The job being run, or the last one; a worker that picks up a finished job finds no task left in it. */
    private volatile Job job;
    private volatile long generation;
    private volatile boolean closed;

    /** One submission: its own counters, so a late worker can never mix two jobs' tasks. */
    private static final class Job {
        final IntConsumer body;
        final int tasks;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger pending;
        volatile Throwable failure;

        Job(IntConsumer body, int tasks) {
            this.body = body;
            this.tasks = tasks;
            this.pending = new AtomicInteger(tasks);
        }
    }

    /** Creates a pool that runs jobs on {@code threads} threads in all (the caller included). */
    public Parallel(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("Parallel: threads must be >= 1, got " + threads);
        }
        this.threads = threads;
        this.workers = new Thread[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            Thread t = new Thread(this::workerLoop, "graft-kernel-" + (i + 1));
            t.setDaemon(true);
            workers[i] = t;
            t.start();
        }
    }

    /** The process-wide pool, sized by {@value #PROPERTY} or the number of available processors. */
    public static Parallel shared() {
        return Shared.POOL;
    }

    /** Total threads that may run a job, the caller included. */
    public int threads() {
        return threads;
    }

    /**
     * Runs {@code body.accept(t)} for every {@code t} in {@code [0, tasks)}, spread over the pool, and returns when
     * all have finished. An exception thrown by a task is rethrown here (the first one; the other tasks still run).
     */
    public void forEach(int tasks, IntConsumer body) {
        if (tasks <= 0) {
            return;
        }
        if (tasks == 1 || workers.length == 0 || RUNNING_TASK.get() || !submitLock.tryLock()) {
            runInline(tasks, body);
            return;
        }
        try {
            Job j = new Job(body, tasks);
            job = j;
            generation++; // wakes spinning workers; they read the job written just before
            for (Thread w : workers) {
                LockSupport.unpark(w);
            }
            drain(j);
            while (j.pending.get() > 0) {
                Thread.onSpinWait();
            }
            Throwable t = j.failure;
            if (t != null) {
                if (t instanceof RuntimeException r) {
                    throw r;
                }
                if (t instanceof Error e) {
                    throw e;
                }
                throw new IllegalStateException(t);
            }
        } finally {
            submitLock.unlock();
        }
    }

    private static void runInline(int tasks, IntConsumer body) {
        boolean outer = !RUNNING_TASK.get();
        RUNNING_TASK.set(true);
        try {
            for (int t = 0; t < tasks; t++) {
                body.accept(t);
            }
        } finally {
            if (outer) {
                RUNNING_TASK.set(false);
            }
        }
    }

    /** Claims and runs tasks of the current job until none are left. */
    private static void drain(Job j) {
        RUNNING_TASK.set(true);
        try {
            for (int t = j.next.getAndIncrement(); t < j.tasks; t = j.next.getAndIncrement()) {
                try {
                    j.body.accept(t);
                } catch (Throwable e) {
                    if (j.failure == null) {
                        j.failure = e;
                    }
                } finally {
                    j.pending.decrementAndGet();
                }
            }
        } finally {
            RUNNING_TASK.set(false);
        }
    }

    private void workerLoop() {
        long seen = 0;
        while (!closed) {
            long deadline = System.nanoTime() + SPIN_NANOS;
            while (generation == seen && !closed) {
                if (System.nanoTime() < deadline) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.parkNanos(this, 1_000_000L);
                }
            }
            if (closed) {
                return;
            }
            seen = generation;
            Job j = job;
            if (j != null) {
                drain(j);
            }
        }
    }

    /** Stops the workers (the shared pool is never closed). */
    @Override
    public void close() {
        closed = true;
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
    }

    @Override
    public String toString() {
        return "Parallel(" + threads + " threads)";
    }

    /** True while the current thread runs a task, so nested jobs run inline instead of waiting on themselves. */
    private static final ThreadLocal<Boolean> RUNNING_TASK = ThreadLocal.withInitial(() -> Boolean.FALSE);

    /** Parses {@value #PROPERTY}; falls back to the processor count on absence or nonsense. */
    static int configuredThreads(String property, int processors) {
        if (property != null) {
            try {
                int t = Integer.parseInt(property.trim());
                if (t >= 1) {
                    return t;
                }
            } catch (NumberFormatException ignored) {
                // fall through to the default
            }
        }
        return Math.max(1, processors);
    }

    private static final class Shared {
        static final Parallel POOL = new Parallel(
                configuredThreads(System.getProperty(PROPERTY), Runtime.getRuntime().availableProcessors()));
    }
}
