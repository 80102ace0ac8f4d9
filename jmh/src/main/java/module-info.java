/** JMH benchmarks; run from the shaded jar {@code jmh/target/graft-benchmarks.jar}. */
open module dev.graft.jmh {
    requires dev.graft.formats;
    requires jmh.core;
    requires jdk.incubator.vector;
    requires com.microsoft.onnxruntime;
}
