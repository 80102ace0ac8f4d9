package dev.graft.spark;

import org.apache.spark.sql.SparkSession;

/**
 * One Spark session in local mode ({@code local[2]}: two task slots, as two executor cores) for every test of this
 * module: starting Spark costs seconds, a job on a warm session milliseconds. No UI, two shuffle partitions.
 */
final class LocalSpark {
    private static SparkSession session;

    private LocalSpark() {
    }

    static synchronized SparkSession get() {
        if (session == null) {
            session = SparkSession.builder()
                    .master("local[2]")
                    .appName("graft-spark-tests")
                    .config("spark.ui.enabled", "false")
                    .config("spark.sql.shuffle.partitions", "2")
                    .config("spark.driver.host", "127.0.0.1")
                    .config("spark.driver.bindAddress", "127.0.0.1")
                    .getOrCreate();
            Runtime.getRuntime().addShutdownHook(new Thread(session::stop));
        }
        return session;
    }
}
