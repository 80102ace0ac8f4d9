package dev.graft.conformance.ptq;

import dev.graft.conformance.Required;
import dev.graft.conformance.SharedData;
import dev.graft.conformance.TrainedWeights;
import dev.graft.engine.Init;
import dev.graft.engine.graph.GraphModule;
import dev.graft.engine.graph.Node;
import dev.graft.engine.graph.Target;
import dev.graft.engine.quant.passes.StaticQuantizer;
import dev.graft.engine.quant.report.QuantizationReport;
import dev.graft.engine.trace.Partition;
import dev.graft.engine.trace.Partitioner;
import dev.graft.formats.data.IdxReader;
import dev.graft.models.mnist.MnistCnn;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The MNIST CNN's static INT8 path through the partitioner: the early-exit test ({@code item()}) keeps the model
 * from tracing as a whole, its blocks trace, and every block runs INT8 end to end: conv-bn-relu fused into one
 * quantized conv with ReLU in the clamp, the residual add with its ReLU as {@code quantized_add_relu}, pooling and
 * views on quint8, the linear heads quantized; one quantize in and one dequantize out per block and no
 * dequantize -> quantize pair anywhere inside. Values cross block edges as FP32 (the parent's eager control flow
 * sits between blocks), so the pooling/flatten that open {@code exit_head}, {@code pool} and {@code head} run FP32.
 *
 * <p>Calibrated on 512 training images. With the trained weights the CLI bundles
 * ({@code models/src/main/resources/dev/graft/models/assets/mnist-cnn.safetensors}, written by {@code graft train mnist})
 * the test accuracy over the 10,000 test images is compared, FP32 vs INT8; without them (seeded random weights)
 * only the structure and the top-1 agreement on 1,000 test images are reported ({@code -Dgraft.mnist.evaluate=N}
 * changes the count).
 */
class MnistCnnStaticQuantizationTest {
    static final int CALIBRATION = 512;
    static final int BATCH = 128;
    /** Accuracy points (percent) INT8 may lose against FP32 with trained weights. */
    static final double MAX_ACCURACY_DROP = 0.5;

    @Test
    void convBnReluBlocksAndResidualAddRunInt8() {
        Path dir = Required.present(SharedData.dataFile("mnist", "t10k-images-idx3-ubyte.gz"), "the MNIST data set")
                .getParent();
        Map<String, Tensor> trained = TrainedWeights.mnistCnn();
        Init.manualSeed(20261126L);
        MnistCnn fp32 = new MnistCnn();
        MnistCnn int8 = new MnistCnn();
        fp32.loadStateDict(trained);
        int8.loadStateDict(fp32.stateDict());
        fp32.eval();
        int8.eval();

        Tensor trainImages = IdxReader.readImages(dir.resolve("train-images-idx3-ubyte.gz"), CALIBRATION);
        int evaluated = Integer.getInteger("graft.mnist.evaluate", 10_000);
        Tensor testImages = IdxReader.readImages(dir.resolve("t10k-images-idx3-ubyte.gz"), evaluated);
        long[] labels = IdxReader.readLabels(dir.resolve("t10k-labels-idx1-ubyte.gz"), evaluated).toLongArray();

        long t0 = System.nanoTime();
        Partition p = Partitioner.partition(int8, trainImages.narrow(0, 0, 2));
        StaticQuantizer.Prepared prepared = StaticQuantizer.prepare(p, StaticQuantizer.defaultMapping());
        List<Object[]> batches = new ArrayList<>();
        for (int start = 0; start < CALIBRATION; start += BATCH) {
            batches.add(new Object[] {trainImages.narrow(0, start, BATCH)});
        }
        StaticQuantizer.calibrate(prepared, batches, (done, total, msg) -> { });
        QuantizationReport report = StaticQuantizer.convert(prepared);
        System.out.printf("MNIST CNN (%s weights) static INT8: partition, prepare, calibrate on %d images, convert:"
                + " %.1f s%n", "trained", CALIBRATION,
                (System.nanoTime() - t0) / 1e9);
        System.out.print(report.describe());
        System.out.println("fused: " + prepared.fused());

        // Blocks meet at the eager parent's control flow, so values cross block edges as FP32: a same-qparams
        // operator that reads a block's input directly (pooling, flatten) runs there before the first quantize.
        Map<String, Map<String, Integer>> fp32AtEntry = Map.of("exit_head", Map.of("AdaptiveAvgPool2d", 1,
                "Flatten", 1), "pool", Map.of("max_pool2d", 1), "head", Map.of("Flatten", 1));
        for (QuantizationReport.Block b : report.blocks()) {
            assertEquals(fp32AtEntry.getOrDefault(b.path(), Map.of()), b.fp32Ops(), "block " + b.path()
                    + "'s FP32 operators:\n" + report.describe());
            assertTrue(b.int8Count() > 0 || b.path().equals("pool"), b.path());
            assertEquals(b.path().equals("pool") ? 0 : 2, b.conversions(), "one quantize in, one dequantize out: "
                    + b.path());
            GraphModule block = p.blocks().get(b.path());
            for (GraphModule.Specialization s : block.specializations()) {
                for (Node n : s.graph()) {
                    if (isFunction(n, "quantize_per_tensor") && n.args().get(0) instanceof Node in) {
                        assertTrue(!isFunction(in, "dequantize"), "dequantize -> quantize in " + b.path() + ": "
                                + s.graph());
                    }
                }
            }
        }
        Map<String, Integer> residual = block(report, "residual").int8Ops();
        assertEquals(1, residual.getOrDefault("quantized_add_relu", 0), residual.toString());
        assertEquals(2, residual.getOrDefault("QuantizedConv2d", 0), residual.toString());
        assertEquals(1, block(report, "stem").int8Ops().getOrDefault("QuantizedConv2d", 0));
        assertTrue(report.notReached().isEmpty() && report.keptFp32().isEmpty(), report.describe());

        long t1 = System.nanoTime();
        int[] want = predict(fp32, testImages);
        long t2 = System.nanoTime();
        int[] got = predict(int8, testImages);
        long t3 = System.nanoTime();
        int agree = 0;
        int rightFp32 = 0;
        int rightInt8 = 0;
        for (int i = 0; i < evaluated; i++) {
            agree += want[i] == got[i] ? 1 : 0;
            rightFp32 += want[i] == labels[i] ? 1 : 0;
            rightInt8 += got[i] == labels[i] ? 1 : 0;
        }
        double accFp32 = 100.0 * rightFp32 / evaluated;
        double accInt8 = 100.0 * rightInt8 / evaluated;
        System.out.printf("%d test images: accuracy FP32 %.2f%%, INT8 %.2f%% (drop %.2f points); top-1 agreement"
                + " %.2f%%; forward FP32 %.0f ms, INT8 %.0f ms%n", evaluated, accFp32, accInt8, accFp32 - accInt8,
                100.0 * agree / evaluated, (t2 - t1) / 1e6, (t3 - t2) / 1e6);
        assertTrue(accFp32 - accInt8 <= MAX_ACCURACY_DROP, "accuracy FP32 " + accFp32 + "%, INT8 " + accInt8 + "%");
    }

    private static int[] predict(MnistCnn model, Tensor images) {
        int n = images.size(0);
        int[] out = new int[n];
        for (int start = 0; start < n; start += 500) {
            int len = Math.min(500, n - start);
            long[] top = model.call(images.narrow(0, start, len)).argmax(1, false).toLongArray();
            for (int i = 0; i < len; i++) {
                out[start + i] = (int) top[i];
            }
        }
        return out;
    }

    private static QuantizationReport.Block block(QuantizationReport r, String path) {
        return r.blocks().stream().filter(b -> b.path().equals(path)).findFirst()
                .orElseThrow(() -> new AssertionError("no block " + path + " in\n" + r.describe()));
    }

    private static boolean isFunction(Node n, String op) {
        return n.target() instanceof Target.Function f && f.op().name().equals(op);
    }
}
