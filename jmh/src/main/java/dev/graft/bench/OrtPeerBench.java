package dev.graft.bench;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.graft.formats.onnx.OnnxAttribute;
import dev.graft.formats.onnx.OnnxDataType;
import dev.graft.formats.onnx.OnnxModel;
import dev.graft.formats.onnx.OnnxValueInfo;
import dev.graft.formats.onnx.OnnxWriter;
import dev.graft.kernels.FloatGemm;
import dev.graft.kernels.Int8Gemm;
import dev.graft.kernels.Parallel;
import dev.graft.kernels.VectorFloatGemm;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Graft beside ONNX Runtime on the same shapes, one thread each, in one JMH run. ONNX Runtime runs one-node models
 * that Graft writes itself with {@link OnnxWriter}: MatMul and MatMulInteger for the linear shapes, Conv and
 * ConvInteger for the convolution. Graft's side is exactly {@link KernelBench}'s (weights packed once; INT8 with
 * the requantizing output stage). ONNX Runtime's integer ops return int32 accumulators, so its INT8 rows do a
 * little less work than Graft's (no requantization).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-XX:+UseParallelGC",
        "--enable-native-access=ALL-UNNAMED"})
public class OrtPeerBench {

    @Param({"linear:128x768x768", "linear:128x768x3072", "linear:1x768x3072", "linear:512x512x512",
            "conv3x3:1x64x56x56"})
    public String shape;

    @Param({"graft-fp32", "graft-int8", "graft-jit", "ort-fp32", "ort-int8"})
    public String impl;

    /** Threads of both engines (Graft's pool; ONNX Runtime's intra-op threads). */
    @Param({"1"})
    public int threads;

    private Parallel pool;
    private Runnable graft;
    private OrtEnvironment env;
    private OrtSession session;
    private Map<String, ai.onnxruntime.OnnxTensor> inputs;

    @Setup(Level.Trial)
    public void setUp() throws OrtException {
        Random r = new Random(7);
        String[] kind = shape.split(":");
        int[] d = KernelBench.dims(kind[1]);
        if (impl.startsWith("graft")) {
            pool = new Parallel(threads);
            FloatGemm fp32 = new VectorFloatGemm(pool);
            Int8Gemm int8 = KernelBench.int8Gemm(impl, pool);
            boolean q = !impl.endsWith("fp32");
            graft = kind[0].equals("linear")
                    ? (q ? KernelBench.int8Linear(int8, d[0], d[1], d[2], r)
                         : KernelBench.fp32Linear(fp32, d[0], d[1], d[2], r))
                    : KernelBench.conv(fp32, int8, q, d, d[1], 1, r);
            return;
        }
        env = OrtEnvironment.getEnvironment();
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        options.setIntraOpNumThreads(threads);
        options.setInterOpNumThreads(1);
        boolean q = impl.endsWith("int8");
        OnnxModel model = kind[0].equals("linear") ? linearModel(d, q, r) : convModel(d, q, r);
        session = env.createSession(OnnxWriter.write(model), options);
        inputs = Map.of(kind[0].equals("linear") ? "a" : "x", input(d, kind[0], q, r));
    }

    private ai.onnxruntime.OnnxTensor input(int[] d, String kind, boolean q, Random r) throws OrtException {
        long[] dims = kind.equals("linear") ? new long[] {d[0], d[1]} : new long[] {d[0], d[1], d[2], d[3]};
        int count = 1;
        for (long v : dims) {
            count *= (int) v;
        }
        if (q) {
            return ai.onnxruntime.OnnxTensor.createTensor(env, ByteBuffer.wrap(KernelBench.bytes(count, r)), dims,
                    ai.onnxruntime.OnnxJavaType.UINT8);
        }
        return ai.onnxruntime.OnnxTensor.createTensor(env, FloatBuffer.wrap(KernelBench.floats(count, r)), dims);
    }

    /** MatMul (FP32) or MatMulInteger (u8 x s8 -> int32, activation zero point 128) with B [K][N] as initializer. */
    static OnnxModel linearModel(int[] d, boolean q, Random r) {
        int m = d[0];
        int k = d[1];
        int n = d[2];
        if (!q) {
            return OnnxWriter.singleNodeModel("MatMul", List.of(),
                    List.of(OnnxValueInfo.tensor("a", OnnxDataType.FLOAT, m, k)),
                    List.of(dev.graft.formats.onnx.OnnxTensor.ofFloats("b", KernelBench.floats(k * n, r), k, n)),
                    List.of("a", "b"),
                    List.of(OnnxValueInfo.tensor("y", OnnxDataType.FLOAT, m, n)), 13);
        }
        return OnnxWriter.singleNodeModel("MatMulInteger", List.of(),
                List.of(OnnxValueInfo.tensor("a", OnnxDataType.UINT8, m, k)),
                List.of(dev.graft.formats.onnx.OnnxTensor.ofBytes("b", OnnxDataType.INT8,
                                KernelBench.bytes(k * n, r), k, n),
                        dev.graft.formats.onnx.OnnxTensor.ofBytes("a_zero_point", OnnxDataType.UINT8,
                                new byte[] {(byte) 128})),
                List.of("a", "b", "a_zero_point"), List.of(OnnxValueInfo.tensor("y", OnnxDataType.INT32, m, n)), 13);
    }

    /** Conv 3x3 pad 1 (FP32, with bias) or ConvInteger (u8 x u8 -> int32 with zero points) on NCHW. */
    static OnnxModel convModel(int[] d, boolean q, Random r) {
        int n = d[0];
        int c = d[1];
        int h = d[2];
        int w = d[3];
        List<OnnxAttribute> attrs = List.of(OnnxAttribute.ofInts("pads", 1, 1, 1, 1),
                OnnxAttribute.ofInts("kernel_shape", 3, 3));
        if (!q) {
            return OnnxWriter.singleNodeModel("Conv", attrs,
                    List.of(OnnxValueInfo.tensor("x", OnnxDataType.FLOAT, n, c, h, w)),
                    List.of(dev.graft.formats.onnx.OnnxTensor.ofFloats("w", KernelBench.floats(c * c * 9, r), c, c, 3, 3),
                            dev.graft.formats.onnx.OnnxTensor.ofFloats("b", KernelBench.floats(c, r), c)),
                    List.of("x", "w", "b"), List.of(OnnxValueInfo.tensor("y", OnnxDataType.FLOAT, n, c, h, w)), 13);
        }
        return OnnxWriter.singleNodeModel("ConvInteger", attrs,
                List.of(OnnxValueInfo.tensor("x", OnnxDataType.UINT8, n, c, h, w)),
                List.of(dev.graft.formats.onnx.OnnxTensor.ofBytes("w", OnnxDataType.UINT8,
                                KernelBench.bytes(c * c * 9, r), c, c, 3, 3),
                        dev.graft.formats.onnx.OnnxTensor.ofBytes("x_zero_point", OnnxDataType.UINT8,
                                new byte[] {(byte) 100})),
                List.of("x", "w", "x_zero_point"), List.of(OnnxValueInfo.tensor("y", OnnxDataType.INT32, n, c, h, w)),
                13);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws OrtException {
        if (pool != null) {
            pool.close();
        }
        if (session != null) {
            inputs.values().forEach(ai.onnxruntime.OnnxTensor::close);
            session.close();
        }
    }

    @Benchmark
    public void run() throws OrtException {
        if (graft != null) {
            graft.run();
            return;
        }
        try (OrtSession.Result out = session.run(inputs)) {
            if (out.size() != 1) {
                throw new IllegalStateException("one output expected");
            }
        }
    }
}
