package dev.graft.engine.quant.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.ops.Tensor;

import java.util.Locale;
import java.util.Random;
import java.util.function.Supplier;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Accuracy and speed of the two ways to run GELU and softmax on quint8 (FP32 boundary versus table), on BERT-sized
 * tensors (MiniLM: 88 tokens, intermediate 1536, 12 heads). Prints one line per variant; the numbers are recorded
 * in the report. Accuracy is measured against a double-precision reference of the function on the dequantized
 * input, in output quantization steps.
 */
@Tag("measurement")
class QuantizedActivationsMeasurementTest {

    @Test
    void geluTableVersusFp32Boundary() {
        Random rnd = new Random(42);
        int n = 88 * 1536;
        float sx = 0.04f;
        int zx = 100;
        Tensor x = GoldenFormula.quint8(GoldenFormula.randomU8(rnd, n), new int[] {88, 1536}, sx, zx);
        float so = 0.025f;
        int zo = 8;
        QuantizedGELU gelu = new QuantizedGELU(false, so, zo);
        Tensor lut = gelu.call(x);
        Tensor fp32 = gelu.fp32Boundary(x);
        assertArrayEquals(fp32.toByteArray(), lut.toByteArray(), "the table is the FP32 round trip");
        int[] q = GoldenFormula.unsigned(x);
        int[] y = GoldenFormula.unsigned(lut);
        double worst = 0;
        double total = 0;
        for (int i = 0; i < n; i++) {
            double real = sx * (q[i] - zx);
            double g = 0.5 * real * (1 + erf(real / Math.sqrt(2)));
            if (g > so * (255 - zo) || g < so * (0 - zo)) {
                continue; // clamped by the output range, not a rounding error
            }
            double err = Math.abs(so * (y[i] - zo) - g) / so;
            worst = Math.max(worst, err);
            total += err;
        }
        double lutMs = time(() -> gelu.call(x));
        double fp32Ms = time(() -> gelu.fp32Boundary(x));
        System.out.printf(Locale.ROOT, "GELU [88x1536] quint8: LUT %.3f ms, FP32 boundary %.3f ms (%.1fx); "
                + "identical outputs; error vs exact %.3f mean / %.3f max output steps (unclamped)%n", lutMs, fp32Ms,
                fp32Ms / lutMs, total / n, worst);
        assertTrue(worst <= 0.5 + 1e-3, "worst " + worst);
    }

    @Test
    void softmaxTableVersusFp32Boundary() {
        Random rnd = new Random(7);
        int[] shape = {12, 88, 88};
        int n = 12 * 88 * 88;
        float sx = 0.08f;
        Tensor x = GoldenFormula.quint8(GoldenFormula.randomU8(rnd, n), shape, sx, 128);
        QuantizedSoftmax fp32 = new QuantizedSoftmax(-1);
        QuantizedSoftmax table = new QuantizedSoftmax(-1, 1f / 256, 0, QuantizedSoftmax.Mode.EXP_TABLE);
        int[] a = GoldenFormula.unsigned(fp32.call(x));
        int[] b = GoldenFormula.unsigned(table.call(x));
        int[] q = GoldenFormula.unsigned(x);
        double[] errA = new double[2];
        double[] errB = new double[2];
        int differ = 0;
        for (int row = 0; row < n / 88; row++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < 88; i++) {
                max = Math.max(max, sx * (q[row * 88 + i] - 128));
            }
            double sum = 0;
            for (int i = 0; i < 88; i++) {
                sum += Math.exp(sx * (q[row * 88 + i] - 128) - max);
            }
            for (int i = 0; i < 88; i++) {
                int at = row * 88 + i;
                double p = Math.exp(sx * (q[at] - 128) - max) / sum;
                accumulate(errA, Math.abs(a[at] / 256.0 - p) * 256);
                accumulate(errB, Math.abs(b[at] / 256.0 - p) * 256);
                differ += a[at] != b[at] ? 1 : 0;
            }
        }
        double fp32Ms = time(() -> fp32.call(x));
        double tableMs = time(() -> table.call(x));
        System.out.printf(Locale.ROOT, "Softmax [12x88x88] quint8 -> 1/256: FP32 boundary %.3f ms (error %.4f mean /"
                + " %.3f max steps), exp table %.3f ms (error %.4f mean / %.3f max steps); %d of %d outputs differ%n",
                fp32Ms, errA[0] / n, errA[1], tableMs, errB[0] / n, errB[1], differ, n);
        assertTrue(errA[1] <= 0.5 + 1e-3 && errB[1] <= 0.5 + 1e-3);
    }

    private static void accumulate(double[] acc, double err) {
        acc[0] += err;
        acc[1] = Math.max(acc[1], err);
    }

    /** Best of several timed runs after warm-up, in milliseconds. */
    private static double time(Supplier<Tensor> run) {
        for (int i = 0; i < 30; i++) {
            run.get();
        }
        double best = Double.MAX_VALUE;
        for (int r = 0; r < 15; r++) {
            long t0 = System.nanoTime();
            run.get();
            best = Math.min(best, (System.nanoTime() - t0) / 1e6);
        }
        return best;
    }

    /** erf in double by its Taylor series (|x| <= 6; beyond, erf is 1 to double precision). */
    static double erf(double x) {
        double ax = Math.abs(x);
        if (ax > 6) {
            return Math.signum(x);
        }
        double sum = 0;
        double term = ax;
        for (int k = 0; k < 200; k++) {
            double add = term / (2 * k + 1);
            sum += add;
            term *= -ax * ax / (k + 1);
            if (Math.abs(add) < 1e-17 * Math.abs(sum)) {
                break;
            }
        }
        return Math.signum(x) * 2 / Math.sqrt(Math.PI) * sum;
    }

}
