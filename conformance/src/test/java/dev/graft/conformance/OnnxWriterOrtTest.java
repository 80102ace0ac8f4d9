package dev.graft.conformance;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.graft.formats.onnx.OnnxAttribute;
import dev.graft.formats.onnx.OnnxDataType;
import dev.graft.formats.onnx.OnnxModel;
import dev.graft.formats.onnx.OnnxReader;
import dev.graft.formats.onnx.OnnxTensor;
import dev.graft.formats.onnx.OnnxValueInfo;
import dev.graft.formats.onnx.OnnxWriter;
import dev.graft.ops.F;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** One-node models written by {@link OnnxWriter} load and run in ONNX Runtime, and agree with Graft's operators. */
class OnnxWriterOrtTest {
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final Random rng = new Random(3);

    private Object runOrt(OnnxModel model, String input, ai.onnxruntime.OnnxTensor value) throws OrtException {
        byte[] bytes = OnnxWriter.write(model);
        assertEquals(model, OnnxReader.read(bytes), "the file reads back as written");
        try (OrtSession session = env.createSession(bytes, new OrtSession.SessionOptions());
             OrtSession.Result r = session.run(Map.of(input, value))) {
            return r.get(0).getValue();
        } finally {
            value.close();
        }
    }

    private float[] randomFloats(int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) rng.nextGaussian();
        }
        return a;
    }

    @Test
    void matMulRunsInOnnxRuntime() throws OrtException {
        int m = 5;
        int k = 24;
        int n = 7;
        float[] a = randomFloats(m * k);
        float[] b = randomFloats(k * n);
        OnnxModel model = OnnxWriter.singleNodeModel("MatMul", List.of(),
                List.of(new OnnxValueInfo("a", OnnxDataType.FLOAT,
                        List.of(OnnxValueInfo.Dim.symbolic("m"), OnnxValueInfo.Dim.of(k)))),
                List.of(OnnxTensor.ofFloats("b", b, k, n)), List.of("a", "b"),
                List.of(new OnnxValueInfo("y", OnnxDataType.FLOAT,
                        List.of(OnnxValueInfo.Dim.symbolic("m"), OnnxValueInfo.Dim.of(n)))), 13);
        float[][] ort = (float[][]) runOrt(model, "a",
                ai.onnxruntime.OnnxTensor.createTensor(env, FloatBuffer.wrap(a), new long[] {m, k}));
        float[] graft = Tensor.of(a, m, k).matmul(Tensor.of(b, k, n)).toFloatArray();
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                assertEquals(graft[i * n + j], ort[i][j], 1e-4);
            }
        }
    }

    @Test
    void matMulIntegerRunsInOnnxRuntime() throws OrtException {
        int m = 3;
        int k = 16;
        int n = 4;
        byte[] a = new byte[m * k];
        byte[] b = new byte[k * n];
        rng.nextBytes(a);
        rng.nextBytes(b);
        OnnxModel model = OnnxWriter.singleNodeModel("MatMulInteger", List.of(),
                List.of(OnnxValueInfo.tensor("a", OnnxDataType.UINT8, m, k)),
                List.of(OnnxTensor.ofBytes("b", OnnxDataType.INT8, b, k, n),
                        OnnxTensor.ofBytes("a_zero_point", OnnxDataType.UINT8, new byte[] {(byte) 128})),
                List.of("a", "b", "a_zero_point"), List.of(OnnxValueInfo.tensor("y", OnnxDataType.INT32, m, n)), 13);
        int[][] ort = (int[][]) runOrt(model, "a", ai.onnxruntime.OnnxTensor.createTensor(env, ByteBuffer.wrap(a),
                new long[] {m, k}, ai.onnxruntime.OnnxJavaType.UINT8));
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                int s = 0;
                for (int p = 0; p < k; p++) {
                    s += ((a[i * k + p] & 0xFF) - 128) * b[p * n + j];
                }
                assertEquals(s, ort[i][j]);
            }
        }
    }

    @Test
    void convRunsInOnnxRuntime() throws OrtException {
        float[] x = randomFloats(2 * 3 * 6 * 6);
        float[] w = randomFloats(4 * 3 * 3 * 3);
        float[] b = randomFloats(4);
        OnnxModel model = OnnxWriter.singleNodeModel("Conv",
                List.of(OnnxAttribute.ofInts("kernel_shape", 3, 3), OnnxAttribute.ofInts("pads", 1, 1, 1, 1),
                        OnnxAttribute.ofInts("strides", 2, 2)),
                List.of(OnnxValueInfo.tensor("x", OnnxDataType.FLOAT, 2, 3, 6, 6)),
                List.of(OnnxTensor.ofFloats("w", w, 4, 3, 3, 3), OnnxTensor.ofFloats("b", b, 4)),
                List.of("x", "w", "b"), List.of(OnnxValueInfo.tensor("y", OnnxDataType.FLOAT, 2, 4, 3, 3)), 13);
        float[][][][] ort = (float[][][][]) runOrt(model, "x",
                ai.onnxruntime.OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {2, 3, 6, 6}));
        Tensor graft = F.conv2d(Tensor.of(x, 2, 3, 6, 6), Tensor.of(w, 4, 3, 3, 3), Tensor.of(b, 4), 2, 1);
        assertArrayEquals(new int[] {2, 4, 3, 3}, graft.shape());
        for (int n = 0; n < 2; n++) {
            for (int c = 0; c < 4; c++) {
                for (int i = 0; i < 3; i++) {
                    for (int j = 0; j < 3; j++) {
                        assertEquals(graft.getFloat(n, c, i, j), ort[n][c][i][j], 1e-4);
                    }
                }
            }
        }
    }

    @Test
    void convIntegerRunsInOnnxRuntime() throws OrtException {
        byte[] x = new byte[1 * 2 * 4 * 4];
        byte[] w = new byte[3 * 2 * 2 * 2];
        rng.nextBytes(x);
        rng.nextBytes(w);
        OnnxModel model = OnnxWriter.singleNodeModel("ConvInteger",
                List.of(OnnxAttribute.ofInts("kernel_shape", 2, 2)),
                List.of(OnnxValueInfo.tensor("x", OnnxDataType.UINT8, 1, 2, 4, 4)),
                List.of(OnnxTensor.ofBytes("w", OnnxDataType.UINT8, w, 3, 2, 2, 2),
                        OnnxTensor.ofBytes("x_zero_point", OnnxDataType.UINT8, new byte[] {(byte) 100})),
                List.of("x", "w", "x_zero_point"), List.of(OnnxValueInfo.tensor("y", OnnxDataType.INT32, 1, 3, 3, 3)),
                13);
        int[][][][] ort = (int[][][][]) runOrt(model, "x", ai.onnxruntime.OnnxTensor.createTensor(env,
                ByteBuffer.wrap(x), new long[] {1, 2, 4, 4}, ai.onnxruntime.OnnxJavaType.UINT8));
        for (int oc = 0; oc < 3; oc++) {
            for (int i = 0; i < 3; i++) {
                for (int j = 0; j < 3; j++) {
                    int s = 0;
                    for (int c = 0; c < 2; c++) {
                        for (int p = 0; p < 2; p++) {
                            for (int q = 0; q < 2; q++) {
                                s += ((x[(c * 4 + i + p) * 4 + j + q] & 0xFF) - 100)
                                        * (w[((oc * 2 + c) * 2 + p) * 2 + q] & 0xFF);
                            }
                        }
                    }
                    assertEquals(s, ort[0][oc][i][j]);
                }
            }
        }
    }
}
