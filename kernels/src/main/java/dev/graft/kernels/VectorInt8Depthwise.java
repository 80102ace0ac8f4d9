package dev.graft.kernels;

import static dev.graft.kernels.VectorMicroKernel.LANES;
import static dev.graft.kernels.VectorMicroKernel.SPECIES;

import jdk.incubator.vector.FloatVector;

/**
 * The depthwise INT8 convolution of {@link Int8Conv2d} on the Vector API, bit-identical to
 * {@link Int8Conv2d#depthwiseReference}, one output row at a time, output columns across the lanes.
 *
 * <p>Layout trick for strides: each padded input plane (zero point in the padding) is split into {@code strideW}
 * phase planes, {@code phase[ph][y][u] = padded[y][u*strideW + ph]}. The input column under tap {@code kx} of
 * output column {@code ox} is then {@code phase[(kx*dilW) % strideW][y][ox + (kx*dilW) / strideW]}: consecutive
 * output columns read consecutive floats for every stride and dilation, so all loads are plain vector loads.
 *
 * <p>Exactness: values are u8 ({@code <= 255}) and s8 ({@code |w| <= 128}) held as floats; a pair sum is at most
 * 65280 and a full sum of {@code T <= 512} taps at most {@code 512*32640 < 2^24}, so every float operation here is
 * exact integer arithmetic, including the int16 saturation (a min/max).
 */
final class VectorInt8Depthwise {

    private VectorInt8Depthwise() {
    }

    static void run(Int8Conv2d.Activation x, PackedConvWeights w, float[] bias, Int8Conv2d.Geometry geo,
                    Int8Conv2d.Requant rq, byte[] out, int oh, int ow, boolean saturate, Parallel pool) {
        int planes = x.n() * x.c();
        int tasks = Math.min(pool.threads(), planes);
        pool.forEach(tasks, t -> {
            Scratch s = new Scratch(x, w, geo, ow);
            for (int pl = planes * t / tasks; pl < planes * (t + 1) / tasks; pl++) {
                channel(x, w, bias, geo, rq, out, oh, ow, saturate, pl, s);
            }
        });
    }

    /** Per-task buffers. */
    private static final class Scratch {
        final int hp;
        final int phaseW;
        final float[] phases;
        final int[] tapOffsets;
        final float[] tapWeights;
        final float[] rowSum;
        final float[] rowX;

        Scratch(Int8Conv2d.Activation x, PackedConvWeights w, Int8Conv2d.Geometry geo, int ow) {
            hp = x.h() + 2 * geo.padH();
            int wp = x.w() + 2 * geo.padW();
            // Slack of one vector so the last, partial vector of a row may load past the row's end.
            phaseW = (wp + geo.strideW() - 1) / geo.strideW() + LANES;
            phases = new float[geo.strideW() * hp * phaseW + LANES];
            int taps = w.kh * w.kw;
            tapOffsets = new int[taps];
            tapWeights = new float[taps];
            for (int ky = 0; ky < w.kh; ky++) {
                for (int kx = 0; kx < w.kw; kx++) {
                    int col = kx * geo.dilW();
                    int ph = col % geo.strideW();
                    tapOffsets[ky * w.kw + kx] = (ph * hp + ky * geo.dilH()) * phaseW + col / geo.strideW();
                }
            }
            int rowLen = (ow + LANES - 1) / LANES * LANES;
            rowSum = new float[rowLen];
            rowX = new float[rowLen];
        }
    }

    /** One (image, channel) plane. */
    private static void channel(Int8Conv2d.Activation x, PackedConvWeights w, float[] bias, Int8Conv2d.Geometry geo,
                                Int8Conv2d.Requant rq, byte[] out, int oh, int ow, boolean saturate, int planeIndex,
                                Scratch s) {
        int ch = planeIndex % x.c();
        int img = planeIndex / x.c();
        fillPhases(x, geo, planeIndex * x.h() * x.w(), s);
        int taps = w.kh * w.kw;
        for (int t = 0; t < taps; t++) {
            s.tapWeights[t] = w.taps[ch * taps + t];
        }
        float atw = x.scale() * w.scales[ch];
        float mult = atw / rq.scale();
        float biasTerm = bias == null ? 0f : bias[ch] / atw;
        int zx = x.zeroPoint();
        int zw = w.zeroPoints[ch];
        int correction = -zx * w.tapSums[ch] + taps * zx * zw;
        int lo = rq.relu() ? rq.zeroPoint() : 0;
        int outPlane = (img * w.oc + ch) * oh * ow;
        for (int oy = 0; oy < oh; oy++) {
            int rowOff = oy * geo.strideH() * s.phaseW;
            for (int c = 0; c < ow; c += LANES) {
                rowVector(s.phases, rowOff + c, s.tapOffsets, s.tapWeights, taps, saturate, zw != 0,
                        s.rowSum, s.rowX, c);
            }
            int d = outPlane + oy * ow;
            for (int ox = 0; ox < ow; ox++) {
                int acc = (int) s.rowSum[ox] + correction - zw * (int) s.rowX[ox];
                out[d + ox] = (byte) PreparedOutput.requantize(acc, biasTerm, mult, rq.zeroPoint(), lo);
            }
        }
    }

    /** Pads the u8 plane with the zero point and deals its columns out to the stride phases, as floats. */
    private static void fillPhases(Int8Conv2d.Activation x, Int8Conv2d.Geometry geo, int plane, Scratch s) {
        java.util.Arrays.fill(s.phases, x.zeroPoint());
        int sw = geo.strideW();
        byte[] src = x.data();
        for (int iy = 0; iy < x.h(); iy++) {
            int y = iy + geo.padH();
            for (int ix = 0; ix < x.w(); ix++) {
                int col = ix + geo.padW();
                s.phases[((col % sw) * s.hp + y) * s.phaseW + col / sw] = src[plane + iy * x.w() + ix] & 0xFF;
            }
        }
    }

    /**
     * {@code LANES} output columns from {@code c}: {@code sum[c..] = sum over tap pairs of sat16(x0*w0 + x1*w1)} and,
     * when the weights have a zero point, {@code xs[c..] = sum of the taps' inputs}.
     */
    private static void rowVector(float[] phases, int base, int[] tapOff, float[] tapW, int taps, boolean saturate,
                                  boolean needSumX, float[] sum, float[] xs, int c) {
        FloatVector acc = FloatVector.zero(SPECIES);
        FloatVector sx = acc;
        int t = 0;
        for (; t + 1 < taps; t += 2) {
            FloatVector x0 = FloatVector.fromArray(SPECIES, phases, base + tapOff[t]);
            FloatVector x1 = FloatVector.fromArray(SPECIES, phases, base + tapOff[t + 1]);
            FloatVector pair = x0.mul(tapW[t]).add(x1.mul(tapW[t + 1]));
            if (saturate) {
                pair = pair.max(-32768f).min(32767f);
            }
            acc = acc.add(pair);
            if (needSumX) {
                sx = sx.add(x0).add(x1);
            }
        }
        if (t < taps) {
            FloatVector x0 = FloatVector.fromArray(SPECIES, phases, base + tapOff[t]);
            acc = acc.add(x0.mul(tapW[t])); // a lone tap cannot saturate: |255*128| < 32768
            if (needSumX) {
                sx = sx.add(x0);
            }
        }
        acc.intoArray(sum, c);
        sx.intoArray(xs, c);
    }
}
