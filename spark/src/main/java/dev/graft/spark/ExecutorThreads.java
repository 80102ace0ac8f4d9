package dev.graft.spark;

import dev.graft.kernels.Parallel;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkEnv;

/**
 * How many threads Graft's kernels get on an executor. Spark already runs one task per slot
 * ({@code spark.executor.cores / spark.task.cpus}, or N in {@code local[N]}), each on its own thread, and every task
 * calls Graft; the kernels' pool adds {@code threads - 1} workers to the calling thread
 * ({@link Parallel}). By default Graft takes what the slots leave free: {@code 1 + max(0, cores - slots)}, so
 * {@code local[2]} on two cores runs each task's kernels on its own thread, and {@code local[1]} lends the idle core
 * to the one task. A job started while another task holds the pool runs on the calling thread alone (never a
 * deadlock, the same results). The executor's cores are {@code spark.executor.cores} when set (at most the JVM's
 * processors): on a node shared by several executors (YARN without CPU cgroups, where every JVM sees all of the
 * node's processors) Graft then stays within its own executor's share.
 *
 * <p>Set it explicitly with {@code -Dgraft.threads=N} in {@code spark.executor.extraJavaOptions} (wins), the Spark
 * setting {@value #CONF} or the inference builders' {@code threads(n)}. The pool is sized once per JVM, when Graft
 * first runs a kernel there: a value asked for after that is not applied (the pool keeps its size).
 */
public final class ExecutorThreads {
    /** The Spark configuration key for Graft's threads per executor. */
    public static final String CONF = "spark.graft.threads";

    private ExecutorThreads() {
    }

    /**
     * Sizes the kernel pool on this JVM before Graft's first kernel runs: {@code requested} when positive, else
     * {@value #CONF}, else what the task slots leave free. Does nothing when {@code -Dgraft.threads} was given.
     */
    public static void configure(int requested) {
        if (System.getProperty(Parallel.PROPERTY) != null) {
            return;
        }
        int threads = requested > 0 ? requested : fromConf();
        synchronized (ExecutorThreads.class) {
            if (System.getProperty(Parallel.PROPERTY) == null) {
                System.setProperty(Parallel.PROPERTY, Integer.toString(threads));
            }
        }
    }

    private static int fromConf() {
        SparkEnv env = SparkEnv.get();
        return threadsFor(env == null ? new SparkConf(false) : env.conf(), Runtime.getRuntime().availableProcessors());
    }

    /** The threads {@link #configure configure(0)} picks under {@code conf} on a JVM with {@code cpus} processors. */
    static int threadsFor(SparkConf conf, int cpus) {
        if (conf.contains(CONF)) {
            int n = conf.getInt(CONF, 0);
            if (n < 1) {
                throw new IllegalArgumentException(CONF + " must be >= 1, got " + conf.get(CONF));
            }
            return n;
        }
        return defaultThreads(cores(conf, cpus), slots(conf, cpus));
    }

    /** One thread per task plus the cores the task slots leave idle. */
    static int defaultThreads(int cores, int slots) {
        return 1 + Math.max(0, cores - Math.max(1, slots));
    }

    /** The cores this executor may use: {@code spark.executor.cores} when set (never more than the JVM sees). */
    static int cores(SparkConf conf, int cpus) {
        if (conf.get("spark.master", "").startsWith("local") || !conf.contains("spark.executor.cores")) {
            return cpus;
        }
        return Math.max(1, Math.min(cpus, conf.getInt("spark.executor.cores", cpus)));
    }

    /** Concurrent tasks per executor: N of local[N] (or local[N,F]), else executor cores over task cpus. */
    static int slots(SparkConf conf, int cpus) {
        String master = conf.get("spark.master", "");
        if (master.startsWith("local")) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("local\\[(\\*|\\d+)(,\\d+)?]").matcher(master);
            if (m.matches()) {
                return m.group(1).equals("*") ? cpus : Integer.parseInt(m.group(1));
            }
            return 1;   // "local": one thread
        }
        int taskCpus = Math.max(1, conf.getInt("spark.task.cpus", 1));
        return Math.max(1, conf.getInt("spark.executor.cores", cpus) / taskCpus);
    }
}
