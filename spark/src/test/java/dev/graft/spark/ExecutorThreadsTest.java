package dev.graft.spark;

import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Graft's threads per executor: what the task slots leave free of the executor's cores, or what was asked for. */
class ExecutorThreadsTest {
    private static SparkConf conf(String... keyValues) {
        SparkConf c = new SparkConf(false);
        for (int i = 0; i < keyValues.length; i += 2) {
            c.set(keyValues[i], keyValues[i + 1]);
        }
        return c;
    }

    @Test
    void localModeCountsItsTaskSlotsAgainstTheMachinesCores() {
        assertEquals(1, ExecutorThreads.threadsFor(conf("spark.master", "local[2]"), 2), "two tasks on two cores");
        assertEquals(2, ExecutorThreads.threadsFor(conf("spark.master", "local[1]"), 2), "the idle core lent");
        assertEquals(2, ExecutorThreads.threadsFor(conf("spark.master", "local"), 2));
        assertEquals(7, ExecutorThreads.threadsFor(conf("spark.master", "local[2]"), 8));
        assertEquals(1, ExecutorThreads.threadsFor(conf("spark.master", "local[*]"), 8));
        assertEquals(1, ExecutorThreads.threadsFor(conf("spark.master", "local[4,3]"), 4), "local[N,F]: N slots");
        assertEquals(1, ExecutorThreads.threadsFor(conf("spark.master", "local[16]"), 4), "more slots than cores");
    }

    @Test
    void aClusterExecutorStaysWithinItsOwnCores() {
        // Four cores for this executor on a 32-processor node it shares: four tasks, nothing left over.
        assertEquals(1, ExecutorThreads.threadsFor(conf("spark.master", "yarn", "spark.executor.cores", "4"), 32));
        // Two cores per task: two tasks, and the pool takes the two cores they leave.
        assertEquals(3, ExecutorThreads.threadsFor(conf("spark.master", "yarn", "spark.executor.cores", "4",
                "spark.task.cpus", "2"), 32));
        assertEquals(1, ExecutorThreads.threadsFor(conf("spark.master", "yarn", "spark.executor.cores", "8"), 4),
                "never more cores than the JVM sees");
        // No executor.cores (standalone's default): the executor has the whole worker.
        assertEquals(1, ExecutorThreads.threadsFor(conf("spark.master", "spark://h:7077"), 8));
        assertEquals(5, ExecutorThreads.threadsFor(conf("spark.master", "spark://h:7077", "spark.task.cpus", "2"),
                8));
    }

    @Test
    void theSparkSettingWinsOverTheDefaultAndMustBePositive() {
        assertEquals(3, ExecutorThreads.threadsFor(conf("spark.master", "local[2]", ExecutorThreads.CONF, "3"), 2));
        assertThrows(IllegalArgumentException.class,
                () -> ExecutorThreads.threadsFor(conf(ExecutorThreads.CONF, "0"), 2));
    }
}
